/**
 * CPU time of the calling thread (not the process: with several worker threads, process totals would
 * charge each quantum with its neighbours' work). Node 20 has no process.threadCpuUsage, so it is read
 * from Linux's /proc/thread-self/stat: utime and stime, fields 14 and 15, in clock ticks of USER_HZ
 * (100 per second on every Linux architecture Node supports). Elsewhere it is unavailable (null).
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface ThreadCpu {
  /** Seconds. */
  readonly user: number;
  readonly system: number;
}

export function threadCpu(): ThreadCpu | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields after its ')' start at 3.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return null;
  return { user: user / TICKS_PER_SECOND, system: system / TICKS_PER_SECOND };
}
