/**
 * `tessera repo create|info|verify`: makes a data repository (a registry, SQLite by default, and a
 * file datastore under one folder), summarises one, and checks one: every dataset's file present with
 * its registered size and sha256, and no orphan files (left by a crash between a write and its
 * registration; `--remove-orphans` deletes them).
 */
import path from 'node:path';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { readPackageVersion } from '../version.js';
import { Repository } from '../repository/repository.js';
import { RegistryUrlError, SUPPORTED_REGISTRY_URLS } from '../repository/registryUrl.js';

const USAGE = [
  'Usage: tessera repo create REPO [--registry URL]',
  '       tessera repo info REPO [--json]',
  '       tessera repo verify REPO [--remove-orphans] [--json]',
  '',
  'create  makes a new repository in REPO (a new or empty folder). The registry defaults to SQLite in',
  `        REPO/registry.sqlite3; --registry takes ${SUPPORTED_REGISTRY_URLS}.`,
  'info    prints the registry URL and schema version, the collections and the datasets per type.',
  'verify  checks every dataset\'s file (present, size, sha256) and lists orphan files (in the datastore',
  '        but not registered). Exit status 1 when anything is wrong. --remove-orphans deletes the',
  '        orphans (only while nothing else writes to the repository).',
].join('\n');

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { registry: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('give exactly one repository folder');
  let repo: Repository;
  try {
    repo = await Repository.create(positionals[0]!, { ...(values.registry ? { registryUrl: values.registry } : {}), softwareVersion: readPackageVersion() });
  } catch (err) {
    if (err instanceof RegistryUrlError) throw new UsageError(err.message);
    throw err;
  }
  console.log(`created repository ${repo.root} (registry ${repo.registry.url}, schema version ${repo.registry.schemaVersion})`);
  await repo.close();
  return 0;
}

async function info(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('give exactly one repository');
  const repo = await Repository.open(positionals[0]!);
  try {
    const collections = await repo.registry.listCollections();
    const datasets = await repo.registry.queryDatasets({});
    const perType = new Map<string, number>();
    for (const d of datasets) perType.set(d.datasetType, (perType.get(d.datasetType) ?? 0) + 1);
    const summary = {
      root: repo.root, registry: repo.registry.url, schemaVersion: repo.registry.schemaVersion,
      collections: collections.map((c) => ({ name: c.name, type: c.type, ...(c.type === 'CHAINED' ? { children: c.children } : {}) })),
      datasets: Object.fromEntries([...perType].sort()),
    };
    if (values.json) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    console.log(`repository ${summary.root}\nregistry   ${summary.registry} (schema version ${summary.schemaVersion})\n\ncollections:`);
    for (const c of collections) console.log(`  ${c.type.padEnd(11)} ${c.name}${c.type === 'CHAINED' ? ` = [${c.children.join(', ')}]` : ''}`);
    console.log('\ndatasets:');
    for (const [type, n] of Object.entries(summary.datasets)) console.log(`  ${String(n).padStart(6)}  ${type}`);
    return 0;
  } finally {
    await repo.close();
  }
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'remove-orphans': { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('give exactly one repository');
  const repo = await Repository.open(positionals[0]!);
  try {
    const problems = await repo.verify();
    const orphans = values['remove-orphans'] ? [] : await repo.listOrphanFiles();
    const removed = values['remove-orphans'] ? await repo.removeOrphanFiles() : [];
    const checked = (await repo.registry.registeredPaths()).size;
    if (values.json) {
      console.log(JSON.stringify({
        checked, problems: problems.map((p) => ({ id: p.ref.id, datasetType: p.ref.datasetType, dataId: p.ref.dataId, path: p.ref.path, problem: p.problem })),
        orphans, removedOrphans: removed,
      }, null, 2));
    } else {
      for (const p of problems) console.log(`BAD     ${p.ref.path}: ${p.problem}`);
      for (const o of orphans) console.log(`ORPHAN  ${o}`);
      for (const o of removed) console.log(`REMOVED ${o}`);
      console.log(`${checked} datasets checked: ${problems.length} bad, ${orphans.length} orphan file(s)${removed.length ? `, ${removed.length} orphan file(s) removed` : ''} in ${path.resolve(positionals[0]!)}`);
    }
    return problems.length || orphans.length ? 1 : 0;
  } finally {
    await repo.close();
  }
}

export const repoCommand: Command = {
  name: 'repo',
  summary: 'create a data repository (registry + datastore), summarise it, or verify its files',
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'create': return create(rest);
      case 'info': return info(rest);
      case 'verify': return verify(rest);
      case undefined: throw new UsageError('give a subcommand: create, info or verify');
      default: throw new UsageError(`unknown subcommand '${sub}' (create, info, verify)`);
    }
  },
};
