/**
 * A Tessera data repository (LSST's Butler): a registry (registry.ts) and a file datastore
 * (datastore.ts) under one root, with the operations that keep them consistent. A dataset is
 * registered only after its file is complete, checksummed and in place; all of an ingest batch's or a
 * quantum's datasets are registered in one transaction, and a failure before that commit removes the
 * files already written. A crash between the two leaves unregistered files, invisible to queries,
 * that `listOrphanFiles` reports. The root holds `tessera-repo.json` (format and registry URL), the
 * registry database (by default) and the datastore's files.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { DIMENSIONS, METADATA_KEYS, dataIdKey, formatDataId, normalizeDataId, type DataId, type DimensionRecords } from './dimensions.js';
import { checkDatasetType, type DatasetType } from './datasetTypes.js';
import { expandPathTemplate } from './pathTemplate.js';
import { DatastoreExistsError, FileDatastore, hashFile, type TransferMode } from './datastore.js';
import {
  RegistryConflictError, RegistryLookupError,
  type Certification, type ClaimOutcome, type ClaimReplacing, type DatasetRef, type NewDataset, type NewQuantumRecord, type QuantumClaim,
  type QuantumResult, type Registry, type RegistryBatch, type ValidityRange,
} from './registry.js';
import { DEFAULT_REGISTRY_URL, createRegistry, openRegistry, parseRegistryUrl } from './registryUrl.js';
import { parseWhere } from './whereExpression.js';

export const REPOSITORY_CONFIG = 'tessera-repo.json';
export const REPOSITORY_FORMAT = 'tessera-repo-1';

interface RepositoryConfig {
  format: typeof REPOSITORY_FORMAT;
  registry: string;
  createdAt: string;
}

/** A repository-level failure (no repository, bad input file, conflicting ingest) naming what was wrong. */
export class RepositoryError extends Error {
  override readonly name = 'RepositoryError';
}

/** Called at points of a write, for tests that simulate a crash or a failure there. */
export interface RepositoryHooks {
  /** After each dataset file is in place and before the batch is registered. */
  afterFileWritten?(relativePath: string): void | Promise<void>;
}

export interface OpenOptions {
  readonly hooks?: RepositoryHooks;
}

/** One file of an ingest batch. */
export interface IngestFile {
  readonly datasetType: string;
  readonly run: string;
  readonly dataId: DataId;
  /** Absolute path of the file to bring in. */
  readonly source: string;
  /** Also associate the dataset with a CALIBRATION collection for this validity range. */
  readonly certify?: { collection: string; range: ValidityRange };
}

export interface IngestRequest {
  readonly files: readonly IngestFile[];
  readonly dimensionRecords?: DimensionRecords;
  /** Registered in the batch's transaction (an existing one must be identical). */
  readonly datasetTypes?: readonly DatasetType[];
  /** CALIBRATION collections to create; the files' runs are created as needed. */
  readonly calibrationCollections?: readonly string[];
  /** CHAINED collections to define in the same transaction. */
  readonly chains?: readonly { name: string; children: readonly string[] }[];
  readonly transfer?: TransferMode;
}

export interface IngestReport {
  /** Newly registered. */
  readonly ingested: DatasetRef[];
  /** Already registered with the same checksum. */
  readonly skipped: DatasetRef[];
  readonly linked: number;
  readonly copied: number;
}

/** A dataset a quantum made, to be written with `putQuantumOutputs`. */
export interface QuantumOutput {
  readonly datasetType: string;
  readonly dataId: DataId;
  readonly bytes: Uint8Array;
}

/** The provenance of a quantum; its id is made when absent and its outputs are the datasets written. */
export type QuantumProvenance = Omit<NewQuantumRecord, 'id' | 'outputs'> & { readonly id?: string };

export interface VerifyProblem {
  readonly ref: DatasetRef;
  readonly problem: string;
}

/** Names at the top of the root that are not datastore files. */
function reservedNames(root: string, registryUrl: string): Set<string> {
  const reserved = new Set([REPOSITORY_CONFIG]);
  const file = parseRegistryUrl(registryUrl, root).file;
  const relative = path.relative(root, file);
  if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) {
    const first = relative.split(path.sep)[0]!;
    reserved.add(first);
    if (first === relative) for (const suffix of ['-wal', '-shm', '-journal']) reserved.add(`${first}${suffix}`);
  }
  return reserved;
}

function writeFileDurably(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export class Repository {
  readonly datastore: FileDatastore;

  private constructor(readonly root: string, readonly registry: Registry, reserved: ReadonlySet<string>, private readonly hooks: RepositoryHooks) {
    this.datastore = new FileDatastore(root, reserved);
  }

  /** Creates a repository in `root` (absent or empty): the registry at `registryUrl` and the configuration. */
  static async create(root: string, options: { registryUrl?: string; softwareVersion: string }): Promise<Repository> {
    const dir = path.resolve(root);
    const url = options.registryUrl ?? DEFAULT_REGISTRY_URL;
    parseRegistryUrl(url, dir); // refuse an unsupported URL before touching the disk
    if (fs.existsSync(path.join(dir, REPOSITORY_CONFIG))) throw new RepositoryError(`${dir}: already a Tessera repository`);
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new RepositoryError(`${dir}: not empty; a repository is created in a new or empty folder`);
    fs.mkdirSync(dir, { recursive: true });
    let registry: Registry | undefined;
    try {
      registry = createRegistry(url, dir, options.softwareVersion);
      const config: RepositoryConfig = { format: REPOSITORY_FORMAT, registry: url, createdAt: new Date().toISOString() };
      writeFileDurably(path.join(dir, REPOSITORY_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
    } catch (err) {
      await registry?.close();
      throw err;
    }
    return new Repository(dir, registry, reservedNames(dir, url), {});
  }

  /** Opens the repository at `root`, migrating an older registry schema. */
  static async open(root: string, options: OpenOptions = {}): Promise<Repository> {
    const dir = path.resolve(root);
    const configPath = path.join(dir, REPOSITORY_CONFIG);
    if (!fs.existsSync(configPath)) {
      throw new RepositoryError(`${dir}: not a Tessera repository (no ${REPOSITORY_CONFIG}); create one with 'tessera repo create ${root}'`);
    }
    let config: RepositoryConfig;
    try {
      config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as RepositoryConfig;
    } catch (err) {
      throw new RepositoryError(`${configPath}: ${(err as Error).message}`);
    }
    if (config.format !== REPOSITORY_FORMAT || typeof config.registry !== 'string') {
      throw new RepositoryError(`${configPath}: expected format '${REPOSITORY_FORMAT}' with a registry URL`);
    }
    const registry = openRegistry(config.registry, dir, dir);
    return new Repository(dir, registry, reservedNames(dir, config.registry), options.hooks ?? {});
  }

  async close(): Promise<void> {
    await this.registry.close();
  }

  /** Data ID keys that queries may name: every dimension, metadata key and registered implied key. */
  async knownDataIdKeys(): Promise<Set<string>> {
    const keys = new Set<string>([...DIMENSIONS, ...METADATA_KEYS]);
    for (const type of await this.registry.listDatasetTypes()) for (const k of [...type.dimensions, ...type.implied]) keys.add(k);
    return keys;
  }

  private async datasetTypeFor(name: string, batchTypes: ReadonlyMap<string, DatasetType>): Promise<DatasetType> {
    const type = batchTypes.get(name) ?? (await this.registry.getDatasetType(name));
    if (!type) throw new RegistryLookupError(`dataset type '${name}' is not registered`);
    return type;
  }

  /**
   * Writes files through `write`; a target already holding a file is replaced only if the registry
   * does not know it (an orphan of an earlier crash), else it is a conflict.
   */
  private async writeChecked<T>(relative: string, write: (replace: boolean) => Promise<T>): Promise<T> {
    try {
      return await write(false);
    } catch (err) {
      if (!(err instanceof DatastoreExistsError)) throw err;
      const owner = await this.registry.datasetAtPath(relative);
      if (owner) throw new RegistryConflictError(`${relative} already holds ${owner.datasetType} ${formatDataId(owner.dataId)} of run '${owner.run}'`);
      return write(true);
    }
  }

  /** Removes files written for a batch that was not registered (sparing any another process registered meanwhile). */
  private async discard(paths: readonly string[]): Promise<void> {
    const unregistered: string[] = [];
    for (const p of paths) if (!(await this.registry.datasetAtPath(p))) unregistered.push(p);
    this.datastore.remove(unregistered);
  }

  /**
   * Ingests files: checks every one (readable, data ID fits its type, not conflicting with what is
   * registered), brings the new ones into the datastore, then registers everything (dimension
   * records, dataset types, collections, datasets, certifications) in one transaction. A file already
   * registered with the same checksum is skipped; one with a different checksum is refused. On any
   * failure nothing is registered and the files brought in are removed.
   */
  async ingest(request: IngestRequest): Promise<IngestReport> {
    const batchTypes = new Map<string, DatasetType>();
    for (const t of request.datasetTypes ?? []) {
      checkDatasetType(t); // one that differs from the registered definition fails the commit
      batchTypes.set(t.name, t);
    }
    interface Planned { file: IngestFile; type: DatasetType; dataId: DataId; path: string; size: number; checksum: string; existing?: DatasetRef }
    const planned: Planned[] = [];
    const seen = new Map<string, IngestFile>();
    const runs = new Set<string>();
    for (const file of request.files) {
      const type = await this.datasetTypeFor(file.datasetType, batchTypes);
      const dataId = normalizeDataId(file.dataId, type.dimensions, type.implied, `${file.source}: ${file.datasetType}`);
      const identity = `${type.name}\u0000${file.run}\u0000${dataIdKey(dataId, type.dimensions)}`;
      const twin = seen.get(identity);
      if (twin) throw new RepositoryError(`${file.source} and ${twin.source} are both ${type.name} ${formatDataId(dataId)} in run '${file.run}'`);
      seen.set(identity, file);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file.source);
      } catch {
        throw new RepositoryError(`${file.source}: file not found (${type.name} ${formatDataId(dataId)})`);
      }
      if (!stat.isFile()) throw new RepositoryError(`${file.source}: not a regular file`);
      const { size, checksum } = hashFile(file.source);
      const relative = expandPathTemplate(type.pathTemplate, file.run, type.name, dataId);
      const collection = await this.registry.getCollection(file.run);
      if (collection && collection.type !== 'RUN') throw new RepositoryError(`'${file.run}' is a ${collection.type} collection; files are ingested into RUN collections`);
      if (!collection) runs.add(file.run);
      const existing = collection ? await this.registry.findDataset(type.name, dataId, [file.run]) : undefined;
      if (existing && existing.checksum !== checksum) {
        throw new RepositoryError(`${file.source}: ${type.name} ${formatDataId(dataId)} is already in run '${file.run}' with different content `
          + `(registered sha256 ${existing.checksum.slice(0, 12)}..., this file ${checksum.slice(0, 12)}...); refusing to replace it`);
      }
      planned.push({ file, type, dataId, path: relative, size, checksum, ...(existing ? { existing } : {}) });
    }

    const written: string[] = [];
    let linked = 0;
    let copied = 0;
    const datasets: NewDataset[] = [];
    const certifications: Certification[] = [];
    try {
      for (const p of planned) {
        const id = p.existing?.id ?? crypto.randomUUID();
        if (p.file.certify) certifications.push({ collection: p.file.certify.collection, datasetId: id, range: p.file.certify.range });
        if (p.existing) continue;
        const stored = await this.writeChecked(p.path, (replace) => this.datastore.transfer(p.file.source, p.path, request.transfer ?? 'auto', p, { replace }));
        written.push(p.path);
        if (stored.method === 'link') linked++;
        else copied++;
        await this.hooks.afterFileWritten?.(p.path);
        datasets.push({ id, datasetType: p.type.name, dataId: p.dataId, run: p.file.run, path: p.path, size: p.size, checksum: p.checksum });
      }
      const batch: RegistryBatch = {
        ...(request.dimensionRecords ? { dimensionRecords: request.dimensionRecords } : {}),
        datasetTypes: [...batchTypes.values()],
        collections: [
          ...[...runs].map((name) => ({ name, type: 'RUN' as const })),
          ...(request.calibrationCollections ?? []).map((name) => ({ name, type: 'CALIBRATION' as const })),
        ],
        chains: request.chains ?? [],
        datasets,
        certifications,
      };
      await this.registry.commit(batch);
    } catch (err) {
      await this.discard(written);
      throw err;
    }
    const ingested: DatasetRef[] = [];
    for (const d of datasets) ingested.push((await this.registry.getDataset(d.id))!);
    return { ingested, skipped: planned.flatMap((p) => (p.existing ? [p.existing] : [])), linked, copied };
  }

  /**
   * Writes a quantum's outputs and registers them with the quantum's provenance in one transaction
   * (creating its RUN collection if needed). An output already registered in the run is refused before
   * anything is written; on any failure the files written are removed and nothing is registered.
   */
  async putQuantumOutputs(quantum: QuantumProvenance, outputs: readonly QuantumOutput[], options: { datasetTypes?: readonly DatasetType[] } = {}): Promise<DatasetRef[]> {
    const runExists = (await this.registry.getCollection(quantum.run)) !== undefined;
    return this.writeOutputs(quantum.run, quantum.task, outputs, options.datasetTypes ?? [], (datasets) => {
      const record: NewQuantumRecord = { ...quantum, id: quantum.id ?? crypto.randomUUID(), outputs: datasets.map((d) => d.id) };
      return { collections: runExists ? [] : [{ name: quantum.run, type: 'RUN' }], quanta: [record] };
    });
  }

  /**
   * Claims a quantum (Registry.claimQuantum) and deletes the files of the datasets a replaced row
   * owned. Files that cannot be deleted stay as orphans, which the next write over them replaces.
   */
  async claimQuantum(claim: QuantumClaim, replacing?: ClaimReplacing): Promise<ClaimOutcome> {
    const outcome = await this.registry.claimQuantum(claim, replacing);
    if (outcome.claimed && outcome.removed.length) this.datastore.remove(outcome.removed.map((d) => d.path));
    return outcome;
  }

  /**
   * Ends a claimed quantum: writes its outputs (none for a failure) and registers them with its result
   * in one transaction; refused, with nothing registered and the files removed, if the claim is no
   * longer ours or anything fails.
   */
  async finishQuantum(run: string, task: string, result: Omit<QuantumResult, 'outputs'>, outputs: readonly QuantumOutput[], datasetTypes: readonly DatasetType[] = []): Promise<DatasetRef[]> {
    return this.writeOutputs(run, task, outputs, datasetTypes, (datasets) => ({ quantumResults: [{ ...result, outputs: datasets.map((d) => d.id) }] }));
  }

  /**
   * What putQuantumOutputs and finishQuantum share: checks the outputs against the run, writes their
   * files atomically, then commits them with what `batch` adds; on failure removes the files written.
   */
  private async writeOutputs(run: string, task: string, outputs: readonly QuantumOutput[], types: readonly DatasetType[],
    batch: (datasets: readonly NewDataset[]) => RegistryBatch): Promise<DatasetRef[]> {
    const batchTypes = new Map<string, DatasetType>();
    for (const t of types) {
      checkDatasetType(t);
      batchTypes.set(t.name, t);
    }
    const runExists = (await this.registry.getCollection(run)) !== undefined;
    const planned: { output: QuantumOutput; type: DatasetType; dataId: DataId; path: string }[] = [];
    for (const output of outputs) {
      const type = await this.datasetTypeFor(output.datasetType, batchTypes);
      const dataId = normalizeDataId(output.dataId, type.dimensions, type.implied, `${task} output ${type.name}`);
      if (runExists) {
        const existing = await this.registry.findDataset(type.name, dataId, [run]);
        if (existing) throw new RegistryConflictError(`${type.name} ${formatDataId(dataId)} is already registered in run '${run}' (dataset ${existing.id})`);
      }
      planned.push({ output, type, dataId, path: expandPathTemplate(type.pathTemplate, run, type.name, dataId) });
    }
    const written: string[] = [];
    const datasets: NewDataset[] = [];
    try {
      for (const p of planned) {
        const stored = await this.writeChecked(p.path, (replace) => this.datastore.put(p.output.bytes, { path: p.path }, { replace }));
        written.push(p.path);
        await this.hooks.afterFileWritten?.(p.path);
        datasets.push({ id: crypto.randomUUID(), datasetType: p.type.name, dataId: p.dataId, run, path: stored.path, size: stored.size, checksum: stored.checksum });
      }
      await this.registry.commit({ datasetTypes: [...batchTypes.values()], datasets, ...batch(datasets) });
    } catch (err) {
      await this.discard(written);
      throw err;
    }
    const refs: DatasetRef[] = [];
    for (const d of datasets) refs.push((await this.registry.getDataset(d.id))!);
    return refs;
  }

  /** The first dataset of a type with a data ID in the collections' search order (see Registry.findDataset). */
  findDataset(datasetType: string, dataId: DataId, collections: readonly string[], options: { timeMjd?: number } = {}): Promise<DatasetRef | undefined> {
    return this.registry.findDataset(datasetType, dataId, collections, options);
  }

  /** Datasets of the given types in the given collections matching a `--where` expression. */
  async queryDatasets(query: { datasetTypes?: readonly string[]; collections?: readonly string[]; where?: string }): Promise<DatasetRef[]> {
    const where = query.where === undefined ? undefined : parseWhere(query.where, await this.knownDataIdKeys());
    return this.registry.queryDatasets({
      ...(query.datasetTypes ? { datasetTypes: query.datasetTypes } : {}),
      ...(query.collections ? { collections: query.collections } : {}),
      ...(where ? { where } : {}),
    });
  }

  /** The absolute path of a dataset's file. */
  getPath(ref: DatasetRef): string {
    return this.datastore.absolutePath(ref.path);
  }

  /** A dataset's bytes. */
  getBytes(ref: DatasetRef): Uint8Array {
    return this.datastore.read(ref.path);
  }

  /** Finds a dataset and reads it; a missing one is an error naming the type, data ID and collections. */
  async get(datasetType: string, dataId: DataId, collections: readonly string[], options: { timeMjd?: number } = {}): Promise<{ ref: DatasetRef; bytes: Uint8Array }> {
    const ref = await this.findDataset(datasetType, dataId, collections, options);
    if (!ref) throw new RegistryLookupError(`no ${datasetType} ${formatDataId(dataId)} in ${collections.map((c) => `'${c}'`).join(', ')}`);
    return { ref, bytes: this.getBytes(ref) };
  }

  /** Checks each dataset's file (all registered ones when `refs` is absent): present, same size, same sha256. */
  async verify(refs?: readonly DatasetRef[]): Promise<VerifyProblem[]> {
    const list = refs ?? (await this.registry.queryDatasets({}));
    const problems: VerifyProblem[] = [];
    for (const ref of list) {
      let actual: { size: number; checksum: string };
      try {
        actual = this.datastore.stat(ref.path);
      } catch (err) {
        problems.push({ ref, problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file missing' : (err as Error).message });
        continue;
      }
      if (actual.size !== ref.size) problems.push({ ref, problem: `size ${actual.size} bytes, registered ${ref.size}` });
      else if (actual.checksum !== ref.checksum) problems.push({ ref, problem: `sha256 ${actual.checksum}, registered ${ref.checksum}` });
    }
    return problems;
  }

  /**
   * Files in the datastore that no dataset owns: left by a crash between a write and its
   * registration, or by an interrupted removal. A write in progress in another process shows here too.
   */
  async listOrphanFiles(): Promise<string[]> {
    const registered = await this.registry.registeredPaths();
    return this.datastore.listFiles().filter((p) => !registered.has(p));
  }

  /** Deletes the orphan files (run it when no other process writes); returns what it deleted. */
  async removeOrphanFiles(): Promise<string[]> {
    const orphans = await this.listOrphanFiles();
    const failures = this.datastore.remove(orphans);
    if (failures.length) throw new RepositoryError(`could not delete ${failures.map((f) => `${f.path} (${f.error})`).join(', ')}`);
    return orphans;
  }

  /**
   * Removes RUN collections: their registry rows in one transaction (dropping them from chains), then
   * their files. Files that cannot be deleted are reported and remain as orphans.
   */
  async removeRuns(names: readonly string[]): Promise<{ removed: DatasetRef[]; failures: { path: string; error: string }[] }> {
    if (names.length === 0) throw new RepositoryError('no run to remove');
    const removed = await this.registry.removeRuns(names);
    const failures = this.datastore.remove(removed.map((r) => r.path));
    return { removed, failures };
  }
}
