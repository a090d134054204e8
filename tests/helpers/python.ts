/**
 * Runs Debian's /usr/bin/python3 (with python3-astropy) for independent cross-checks. The script gets
 * its arguments in sys.argv and must print one JSON document on stdout.
 */
import { execFileSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function runPythonJson<T = unknown>(script: string, args: string[] = []): T {
  const out = execFileSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, PYTHONWARNINGS: 'ignore' },
  });
  return JSON.parse(out) as T;
}
