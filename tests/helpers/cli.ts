/** Runs the compiled `tessera` CLI (dist/, built before the tests) as a user would, capturing its output. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths.js';

const CLI = path.join(repoRoot, 'dist', 'node', 'cli.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** `tessera ARGS...`; a run still going after five minutes is killed and reports status -1. */
export function tessera(...args: string[]): CliResult {
  return tesseraWithin(300_000, ...args);
}

/** `tessera ARGS...` killed (status -1) after `timeoutMs`: for processing a whole simulated survey. */
export function tesseraWithin(timeoutMs: number, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
