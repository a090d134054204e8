#!/usr/bin/env node
// Runs the test suite layer by layer (unit, tasks, pipeline, e2e: see DESIGN.md), after making sure the
// wasm, the TypeScript and the web app are built from the current sources, and prints the time each
// layer takes. Exit status is non-zero when any layer fails. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const LAYERS = ['unit', 'tasks', 'pipeline', 'e2e'];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const extra = process.argv.slice(2);

function run(cmd, args) {
  const started = Date.now();
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  return { ok: result.status === 0, seconds: (Date.now() - started) / 1000 };
}

const build = run('npm', ['run', '--silent', 'build']);
if (!build.ok) {
  console.error('test: the build failed; no tests were run');
  process.exit(1);
}

const hasTests = (dir) => fs.existsSync(dir) && fs.readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.test.ts'));
const rows = [['build', build.seconds, 'ok']];
let failed = false;
for (const layer of LAYERS) {
  if (!hasTests(path.join(root, 'tests', layer))) {
    rows.push([layer, 0, 'no tests yet']);
    continue;
  }
  console.log(`\n=== tests/${layer} ===`);
  const r = run('npx', ['vitest', 'run', `tests/${layer}`, ...extra]);
  rows.push([layer, r.seconds, r.ok ? 'passed' : 'FAILED']);
  failed ||= !r.ok;
}
console.log('\nlayer      seconds  result');
for (const [name, s, status] of rows) console.log(`${name.padEnd(10)} ${s.toFixed(1).padStart(7)}  ${status}`);
process.exit(failed ? 1 : 0);
