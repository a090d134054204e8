// The executor's small helpers: thread CPU time from /proc/thread-self/stat grows with work done on the
// calling thread only; transient I/O errors are retried and others are not; a claim naming a live
// process of this host is alive, a dead pid's is not, another host's is judged by its heartbeat; the
// graph's dataset search is find-first over the RUN collections of the search path.
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { threadCpu } from '../../node/executor/threadCpu.js';
import { withTransientRetry } from '../../node/executor/transientRetry.js';
import { claimantAlive, HEARTBEAT_TIMEOUT_S } from '../../node/executor/graphExecutor.js';
import { findFirst } from '../../node/executor/quantumGraph.js';
import type { DatasetRef } from '../../node/repository/registry.js';

function spin(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
}

describe('executor helpers', () => {
  it('measures the calling thread\'s CPU time, not other threads\'', async () => {
    const before = threadCpu()!;
    expect(before).not.toBeNull();
    // Another thread burning 400 ms of CPU does not count here...
    const worker = new Worker('const end = Date.now() + 400; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);', { eval: true });
    await new Promise((resolve) => worker.on('exit', resolve));
    const idle = threadCpu()!;
    expect(idle.user + idle.system - before.user - before.system).toBeLessThan(0.15);
    // ...while 300 ms of CPU on this one does (clock-tick resolution 10 ms). Spun until the process has
    // used that much CPU, whatever else loads the machine (the worker has exited: this thread is the
    // process's only busy one).
    const start = process.cpuUsage();
    for (;;) {
      spin(20);
      const used = process.cpuUsage(start);
      if (used.user + used.system >= 300_000) break;
    }
    const after = threadCpu()!;
    expect(after.user + after.system - idle.user - idle.system).toBeGreaterThan(0.2);
  });

  it('retries transient I/O errors a few times and nothing else', async () => {
    let calls = 0;
    const flaky = await withTransientRetry(() => {
      if (++calls < 3) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      return 'ok';
    });
    expect([flaky, calls]).toEqual(['ok', 3]);
    calls = 0;
    await expect(withTransientRetry(() => {
      calls++;
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    })).rejects.toThrow(/ENOSPC/);
    expect(calls).toBe(1);
    calls = 0;
    await expect(withTransientRetry(() => {
      calls++;
      throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
    }, 3)).rejects.toThrow(/EAGAIN/);
    expect(calls).toBe(3);
  });

  it('judges claimants alive by pid on this host and by heartbeat elsewhere', () => {
    const host = os.hostname();
    expect(claimantAlive(`${host}/${process.ppid}/abc`, null)).toBe(true);
    expect(claimantAlive(`${host}/${process.pid}/not-active`, null)).toBe(false);
    expect(claimantAlive(`${host}/4194303/abc`, null)).toBe(false); // above pid_max: never a live process
    const recent = new Date(Date.now() - 5_000).toISOString();
    const old = new Date(Date.now() - (HEARTBEAT_TIMEOUT_S + 5) * 1000).toISOString();
    expect(claimantAlive('elsewhere.example/123/abc', recent)).toBe(true);
    expect(claimantAlive('elsewhere.example/123/abc', old)).toBe(false);
    expect(claimantAlive(null, recent)).toBe(false);
  });

  it('finds the first of a data ID\'s datasets along the search path, keeping those found through other collections', () => {
    const ref = (id: string, run: string, patch: number): DatasetRef => ({ id, datasetType: 'deepCoadd', dataId: { band: 'r', patch }, run, path: `${run}/${id}`, size: 1, checksum: '', ingestDate: '' });
    const refs = [ref('a', 'old', 1), ref('b', 'new', 1), ref('c', 'old', 2), ref('d', 'calib-run', 1), ref('e', 'calib-run', 1)];
    expect(findFirst(refs, ['new', 'old']).map((r) => r.id)).toEqual(['b', 'c', 'd', 'e']);
    expect(findFirst(refs, ['old', 'new']).map((r) => r.id)).toEqual(['a', 'c', 'd', 'e']);
    expect(findFirst(refs, undefined)).toHaveLength(5);
  });
});
