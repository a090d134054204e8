/**
 * The SQLite registry (the default, embedded backend of registry.ts's Registry): one database file in
 * WAL mode with a busy timeout, so several processes (pipeline workers, `tessera query` while a run is
 * going) share it; writes take the write lock at once (BEGIN IMMEDIATE) and run as one transaction.
 * Data IDs are stored as JSON (for queries: sqliteWhere.ts) beside a canonical key of the dataset
 * type's required dimensions, which with the type and run is unique.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  DIMENSION_ELEMENTS, DIMENSION_ELEMENT_NAMES, dataIdKey, dimensionRecordProblem, formatDataId, normalizeDataId,
  type DataId, type DimensionElement, type DimensionRecord, type DimensionRecords,
} from './dimensions.js';
import { checkDatasetType, sameDatasetType, type DatasetType } from './datasetTypes.js';
import {
  QUANTUM_STATUSES, RegistryConflictError, RegistryLookupError, RegistrySchemaError, checkCollectionName,
  type Certification, type Collection, type CollectionType, type DatasetQuery, type DatasetRef, type NewDataset,
  type ClaimOutcome, type ClaimReplacing, type NewQuantumRecord, type QuantumClaim, type QuantumRecord, type QuantumResult,
  type Registry, type RegistryBatch, type RunAttempt, type SkipReason, type ValidityRange,
  type Verdict, type VerdictChecklist, type VerdictKind, type VerdictOutcome, type ExcludedDataset,
} from './registry.js';
import { SCHEMA_VERSION, createSchema, migrateSchema, quantumDataIdKey } from './sqliteSchema.js';
import { compileWhere } from './sqliteWhere.js';

/** How long a connection waits for another process's write lock before failing, ms. */
const BUSY_TIMEOUT_MS = 30_000;

interface DatasetRow {
  id: string; dataset_type: string; run: string; data_id: string; path: string; size: number; checksum: string; ingest_date: string;
}

interface QuantumRow {
  id: string; run: string; task: string; data_id: string; config_hash: string; software_version: string; host: string;
  started_at: string; ended_at: string | null; status: QuantumRecord['status']; thread_cpu_user_seconds: number | null;
  thread_cpu_system_seconds: number | null; wasm_memory_peak_bytes: number | null; rss_peak_bytes: number | null; error: string | null;
  claimed_by: string | null; heartbeat_at: string | null; skip_reason: SkipReason | null;
}

interface VerdictRow {
  id: string; dataset_id: string; verdict: string; checklist: string; note: string; reviewer: string; reviewed_at: string; app_version: string;
  supersedes: string | null; recorded_seq: number;
}

function toVerdict(r: VerdictRow): Verdict {
  return {
    id: r.id, datasetId: r.dataset_id, verdict: r.verdict as VerdictKind, checklist: JSON.parse(r.checklist) as VerdictChecklist, note: r.note,
    reviewer: r.reviewer, reviewedAt: r.reviewed_at, appVersion: r.app_version, supersedes: r.supersedes,
  };
}

function fromVerdict(v: Verdict, seq: number): VerdictRow {
  const c = v.checklist;
  return {
    id: v.id, dataset_id: v.datasetId, verdict: v.verdict, note: v.note, reviewer: v.reviewer, reviewed_at: v.reviewedAt, app_version: v.appVersion,
    checklist: JSON.stringify({ artifactsMasked: c.artifactsMasked, trailsAndGhostsRejected: c.trailsAndGhostsRejected, backgroundNotOverSubtracted: c.backgroundNotOverSubtracted, other: c.other }),
    supersedes: v.supersedes, recorded_seq: seq,
  };
}

function toRef(row: DatasetRow): DatasetRef {
  return {
    id: row.id, datasetType: row.dataset_type, dataId: JSON.parse(row.data_id) as DataId, run: row.run, path: row.path,
    size: row.size, checksum: row.checksum, ingestDate: row.ingest_date,
  };
}

function toDatasetType(row: { name: string; dimensions: string; implied: string; storage_class: string; path_template: string }): DatasetType {
  return {
    name: row.name, dimensions: JSON.parse(row.dimensions) as string[], implied: JSON.parse(row.implied) as string[],
    storageClass: row.storage_class, pathTemplate: row.path_template,
  };
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  const sa = String(a);
  const sb = String(b);
  return typeof a === typeof b ? (sa < sb ? -1 : sa > sb ? 1 : 0) : typeof a === 'number' ? -1 : 1;
}

/** Orders datasets by type, run, then data ID values (numbers numerically). */
function compareRefs(a: DatasetRef, b: DatasetRef): number {
  if (a.datasetType !== b.datasetType) return a.datasetType < b.datasetType ? -1 : 1;
  if (a.run !== b.run) return a.run < b.run ? -1 : 1;
  for (const key of new Set([...Object.keys(a.dataId), ...Object.keys(b.dataId)])) {
    const c = compareValues(a.dataId[key], b.dataId[key]);
    if (c !== 0) return c;
  }
  return 0;
}

function rangesOverlap(a: ValidityRange, b: ValidityRange): boolean {
  const beginsBeforeEnd = (r: ValidityRange, s: ValidityRange): boolean => r.beginMjd === null || s.endMjd === null || r.beginMjd < s.endMjd;
  return beginsBeforeEnd(a, b) && beginsBeforeEnd(b, a);
}

function formatRange(r: ValidityRange): string {
  return `[${r.beginMjd ?? '-inf'}, ${r.endMjd ?? '+inf'})`;
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}

export class SqliteRegistry implements Registry {
  private constructor(private readonly db: Database.Database, readonly url: string, readonly schemaVersion: number) {}

  private static connect(file: string, mustExist: boolean): Database.Database {
    const db = new Database(file, { fileMustExist: mustExist, timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  }

  /** Creates a registry in a new database file (refusing one that exists). */
  static create(file: string, url: string, softwareVersion: string): SqliteRegistry {
    if (fs.existsSync(file)) throw new RegistrySchemaError(`${file}: a registry database already exists`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = SqliteRegistry.connect(file, false);
    createSchema(db, softwareVersion);
    return new SqliteRegistry(db, url, SCHEMA_VERSION);
  }

  /** Opens an existing registry, migrating an older schema; `label` names the repository in errors. */
  static open(file: string, url: string, label: string): SqliteRegistry {
    if (!fs.existsSync(file)) throw new RegistrySchemaError(`${label}: registry database ${file} does not exist`);
    let db: Database.Database | undefined;
    try {
      db = SqliteRegistry.connect(file, true);
      migrateSchema(db, label);
    } catch (err) {
      db?.close();
      if (err instanceof RegistrySchemaError) throw err;
      throw new RegistrySchemaError(`${label}: cannot open registry database ${file}: ${(err as Error).message}`);
    }
    return new SqliteRegistry(db, url, SCHEMA_VERSION);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // -------------------------------------------------------------------------------------------------
  // Writes

  async commit(batch: RegistryBatch): Promise<void> {
    this.db.transaction(() => {
      if (batch.dimensionRecords) this.insertDimensionRecords(batch.dimensionRecords);
      for (const type of batch.datasetTypes ?? []) this.insertDatasetType(type);
      for (const c of batch.collections ?? []) this.insertCollection(c.name, c.type, c.doc ?? '');
      for (const chain of batch.chains ?? []) this.defineChain(chain.name, chain.children, chain.doc ?? '');
      this.insertDatasets(batch.datasets ?? []);
      for (const c of batch.certifications ?? []) this.certify(c);
      for (const q of batch.quanta ?? []) this.insertQuantum(q);
      for (const r of batch.quantumResults ?? []) this.finishQuantum(r);
    }).immediate();
  }

  private insertDimensionRecords(records: DimensionRecords): void {
    for (const element of DIMENSION_ELEMENT_NAMES) {
      const list = records[element];
      if (!list?.length) continue;
      const spec = DIMENSION_ELEMENTS[element];
      const columns: readonly string[] = [...spec.key, ...spec.fields];
      const select = this.db.prepare(`SELECT * FROM ${element} WHERE ${spec.key.map((k) => `${k} = ?`).join(' AND ')}`);
      const insert = this.db.prepare(`INSERT INTO ${element} (${columns.join(', ')}) VALUES (${placeholders(columns.length)})`);
      for (const record of list) {
        const problem = dimensionRecordProblem(element, record);
        if (problem) throw new RegistryConflictError(problem);
        const existing = select.get(...spec.key.map((k) => record[k])) as DimensionRecord | undefined;
        const keyText = `${element} ${formatDataId(Object.fromEntries(spec.key.map((k) => [k, record[k] as string | number])))}`;
        if (!existing) {
          try {
            insert.run(...columns.map((c) => record[c]));
          } catch (err) {
            throw new RegistryConflictError(`${keyText}: ${(err as Error).message} (a record it refers to is not registered)`);
          }
          continue;
        }
        for (const field of spec.fields as readonly string[]) {
          if (existing[field] !== record[field]) {
            throw new RegistryConflictError(`${keyText} is registered with ${field} ${JSON.stringify(existing[field])}, not ${JSON.stringify(record[field])}`);
          }
        }
      }
    }
  }

  private insertDatasetType(type: DatasetType): void {
    checkDatasetType(type);
    const existing = this.datasetTypeNow(type.name);
    if (existing) {
      if (!sameDatasetType(existing, type)) {
        throw new RegistryConflictError(`dataset type '${type.name}' is registered as ${JSON.stringify(existing)}, not ${JSON.stringify(type)}`);
      }
      return;
    }
    this.db.prepare('INSERT INTO dataset_type (name, dimensions, implied, storage_class, path_template) VALUES (?, ?, ?, ?, ?)')
      .run(type.name, JSON.stringify(type.dimensions), JSON.stringify(type.implied), type.storageClass, type.pathTemplate);
  }

  private insertCollection(name: string, type: CollectionType, doc: string): void {
    checkCollectionName(name);
    const existing = this.collectionNow(name);
    if (existing) {
      if (existing.type !== type) throw new RegistryConflictError(`collection '${name}' exists as a ${existing.type} collection, not ${type}`);
      return;
    }
    this.db.prepare('INSERT INTO collection (name, type, doc) VALUES (?, ?, ?)').run(name, type, doc);
  }

  private defineChain(name: string, children: readonly string[], doc: string): void {
    checkCollectionName(name);
    const existing = this.collectionNow(name);
    if (existing && existing.type !== 'CHAINED') throw new RegistryConflictError(`collection '${name}' exists as a ${existing.type} collection, not CHAINED`);
    if (new Set(children).size !== children.length) throw new RegistryConflictError(`chain '${name}' lists a collection twice: ${children.join(', ')}`);
    for (const child of children) {
      if (!this.collectionNow(child)) throw new RegistryLookupError(`chain '${name}': no collection '${child}'`);
    }
    if (!existing) this.db.prepare("INSERT INTO collection (name, type, doc) VALUES (?, 'CHAINED', ?)").run(name, doc);
    this.db.prepare('DELETE FROM collection_chain WHERE parent = ?').run(name);
    const insert = this.db.prepare('INSERT INTO collection_chain (parent, position, child) VALUES (?, ?, ?)');
    children.forEach((child, i) => insert.run(name, i, child));
    this.resolveNow([name]); // throws on a cycle
  }

  private insertDatasets(datasets: readonly NewDataset[]): void {
    if (!datasets.length) return;
    const insert = this.db.prepare(`INSERT INTO dataset (id, dataset_type, run, data_id, data_id_key, path, size, checksum, ingest_date)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const byKey = this.db.prepare('SELECT id FROM dataset WHERE dataset_type = ? AND run = ? AND data_id_key = ?');
    const byPath = this.db.prepare('SELECT id, dataset_type, data_id FROM dataset WHERE path = ?');
    const now = new Date().toISOString();
    const types = new Map<string, DatasetType>();
    for (const d of datasets) {
      let type = types.get(d.datasetType);
      if (!type) {
        type = this.datasetTypeNow(d.datasetType);
        if (!type) throw new RegistryLookupError(`dataset type '${d.datasetType}' is not registered`);
        types.set(d.datasetType, type);
      }
      const run = this.collectionNow(d.run);
      if (!run) throw new RegistryLookupError(`no collection '${d.run}'`);
      if (run.type !== 'RUN') throw new RegistryConflictError(`'${d.run}' is a ${run.type} collection; datasets are written to RUN collections`);
      const dataId = normalizeDataId(d.dataId, type.dimensions, type.implied, `${d.datasetType}`);
      const key = dataIdKey(dataId, type.dimensions);
      if (!/^[0-9a-f]{64}$/.test(d.checksum)) throw new RegistryConflictError(`${d.datasetType} ${formatDataId(dataId)}: checksum must be sha256 hex`);
      if (!Number.isSafeInteger(d.size) || d.size < 0) throw new RegistryConflictError(`${d.datasetType} ${formatDataId(dataId)}: size ${d.size} is not a byte count`);
      const same = byKey.get(d.datasetType, d.run, key) as { id: string } | undefined;
      if (same) throw new RegistryConflictError(`${d.datasetType} ${formatDataId(dataId)} is already registered in run '${d.run}' (dataset ${same.id})`);
      const atPath = byPath.get(d.path) as { id: string; dataset_type: string; data_id: string } | undefined;
      if (atPath) {
        throw new RegistryConflictError(`${d.datasetType} ${formatDataId(dataId)}: path ${d.path} already holds ${atPath.dataset_type} ${formatDataId(JSON.parse(atPath.data_id) as DataId)}`);
      }
      insert.run(d.id, d.datasetType, d.run, JSON.stringify(dataId), key, d.path, d.size, d.checksum, now);
    }
  }

  private certify(c: Certification): void {
    const collection = this.collectionNow(c.collection);
    if (!collection) throw new RegistryLookupError(`no collection '${c.collection}'`);
    if (collection.type !== 'CALIBRATION') throw new RegistryConflictError(`'${c.collection}' is a ${collection.type} collection, not CALIBRATION`);
    const { beginMjd, endMjd } = c.range;
    if (beginMjd !== null && endMjd !== null && !(beginMjd < endMjd)) throw new RegistryConflictError(`validity range ${formatRange(c.range)} is empty`);
    const row = this.db.prepare('SELECT * FROM dataset WHERE id = ?').get(c.datasetId) as DatasetRow | undefined;
    if (!row) throw new RegistryLookupError(`no dataset ${c.datasetId} to certify`);
    const rows = this.db.prepare(`SELECT cv.dataset_id, cv.begin_mjd, cv.end_mjd FROM calibration_validity cv JOIN dataset d ON d.id = cv.dataset_id
      WHERE cv.collection = ? AND d.dataset_type = ? AND d.data_id_key = (SELECT data_id_key FROM dataset WHERE id = ?)`)
      .all(c.collection, row.dataset_type, c.datasetId) as { dataset_id: string; begin_mjd: number | null; end_mjd: number | null }[];
    for (const r of rows) {
      const range = { beginMjd: r.begin_mjd, endMjd: r.end_mjd };
      if (r.dataset_id === c.datasetId && range.beginMjd === beginMjd && range.endMjd === endMjd) return;
      if (r.dataset_id === c.datasetId || rangesOverlap(range, c.range)) {
        throw new RegistryConflictError(`${row.dataset_type} ${formatDataId(JSON.parse(row.data_id) as DataId)} in '${c.collection}': validity ${formatRange(c.range)} overlaps ${formatRange(range)} of dataset ${r.dataset_id}`);
      }
    }
    this.db.prepare('INSERT INTO calibration_validity (collection, dataset_id, begin_mjd, end_mjd) VALUES (?, ?, ?, ?)').run(c.collection, c.datasetId, beginMjd, endMjd);
  }

  private insertQuantum(q: NewQuantumRecord & { claimedBy?: string | null; heartbeatAt?: string | null }): void {
    if (!QUANTUM_STATUSES.includes(q.status)) throw new RegistryConflictError(`quantum ${q.id}: status '${q.status}' is not one of ${QUANTUM_STATUSES.join(', ')}`);
    const run = this.collectionNow(q.run);
    if (run?.type !== 'RUN') throw new RegistryLookupError(`quantum ${q.id}: '${q.run}' is not a RUN collection`);
    const key = quantumDataIdKey(q.dataId);
    const holder = this.db.prepare('SELECT id FROM quantum WHERE run = ? AND task = ? AND data_id_key = ?').get(q.run, q.task, key) as { id: string } | undefined;
    if (holder) throw new RegistryConflictError(`${q.task} ${formatDataId(q.dataId)} already has quantum ${holder.id} in run '${q.run}'`);
    this.db.prepare(`INSERT INTO quantum (id, run, task, data_id, data_id_key, config_hash, software_version, host, started_at, ended_at, status,
      thread_cpu_user_seconds, thread_cpu_system_seconds, wasm_memory_peak_bytes, rss_peak_bytes, error, skip_reason, claimed_by, heartbeat_at)
      VALUES (${placeholders(19)})`)
      .run(q.id, q.run, q.task, JSON.stringify(q.dataId), key, q.configHash, q.softwareVersion, q.host, q.startedAt, q.endedAt, q.status,
        q.threadCpuUserSeconds, q.threadCpuSystemSeconds, q.wasmMemoryPeakBytes, q.rssPeakBytes, q.error, q.skipReason ?? null,
        q.claimedBy ?? null, q.heartbeatAt ?? null);
    const input = this.db.prepare('INSERT OR IGNORE INTO quantum_input (quantum_id, dataset_id) VALUES (?, ?)');
    for (const id of q.inputs) input.run(q.id, id);
    this.insertOutputs(q.id, q.outputs);
  }

  private insertOutputs(quantumId: string, outputs: readonly string[]): void {
    const output = this.db.prepare('INSERT INTO quantum_output (quantum_id, dataset_id) VALUES (?, ?)');
    for (const id of outputs) {
      try {
        output.run(quantumId, id);
      } catch (err) {
        throw new RegistryConflictError(`quantum ${quantumId}: output ${id}: ${(err as Error).message}`);
      }
    }
  }

  private finishQuantum(r: QuantumResult): void {
    if (r.status === 'skipped' && !r.skipReason) throw new RegistryConflictError(`quantum ${r.id}: a skipped quantum needs a skip reason`);
    const changed = this.db.prepare(`UPDATE quantum SET status = ?, ended_at = ?, thread_cpu_user_seconds = ?, thread_cpu_system_seconds = ?,
      wasm_memory_peak_bytes = ?, rss_peak_bytes = ?, error = ?, skip_reason = ?, heartbeat_at = ?
      WHERE id = ? AND claimed_by = ? AND status = 'running'`)
      .run(r.status, r.endedAt, r.threadCpuUserSeconds, r.threadCpuSystemSeconds, r.wasmMemoryPeakBytes, r.rssPeakBytes, r.error,
        r.status === 'skipped' ? r.skipReason! : null, r.endedAt, r.id, r.claimedBy).changes;
    if (changed !== 1) {
      const now = this.db.prepare('SELECT status, claimed_by FROM quantum WHERE id = ?').get(r.id) as { status: string; claimed_by: string | null } | undefined;
      throw new RegistryConflictError(now
        ? `quantum ${r.id} is no longer claimed by ${r.claimedBy} (now ${now.status}, claimed by ${now.claimed_by ?? 'nobody'}); its result is refused`
        : `quantum ${r.id} is no longer registered (its run was removed?); its result is refused`);
    }
    this.insertOutputs(r.id, r.outputs);
  }

  async claimQuantum(claim: QuantumClaim, replacing?: ClaimReplacing): Promise<ClaimOutcome> {
    return this.db.transaction((): ClaimOutcome => {
      const key = quantumDataIdKey(claim.dataId);
      const row = this.db.prepare('SELECT * FROM quantum WHERE run = ? AND task = ? AND data_id_key = ?').get(claim.run, claim.task, key) as QuantumRow | undefined;
      let removed: DatasetRef[] = [];
      if (row) {
        const same = replacing && replacing.id === row.id && replacing.status === row.status && replacing.claimedBy === row.claimed_by;
        if (!same) return { claimed: false, existing: this.toQuantum(row) };
        removed = (this.db.prepare('SELECT d.* FROM quantum_output o JOIN dataset d ON d.id = o.dataset_id WHERE o.quantum_id = ?').all(row.id) as DatasetRow[]).map(toRef);
        if (removed.length) this.db.prepare(`DELETE FROM dataset WHERE id IN (${placeholders(removed.length)})`).run(...removed.map((d) => d.id));
        this.db.prepare('DELETE FROM quantum WHERE id = ?').run(row.id);
      }
      const run = this.collectionNow(claim.run);
      if (!run) this.insertCollection(claim.run, 'RUN', '');
      this.insertQuantum({
        ...claim, endedAt: null, status: 'running', threadCpuUserSeconds: null, threadCpuSystemSeconds: null, wasmMemoryPeakBytes: null,
        rssPeakBytes: null, error: null, outputs: [], heartbeatAt: claim.startedAt,
      });
      return { claimed: true, removed };
    }).immediate();
  }

  async recordRunAttempt(a: RunAttempt): Promise<void> {
    this.db.transaction(() => {
      if (!this.collectionNow(a.run)) this.insertCollection(a.run, 'RUN', '');
      this.db.prepare(`INSERT INTO run_attempt (id, run, host, software_version, command, started_at, ended_at, wall_seconds, expected_datasets, excluded)
        VALUES (${placeholders(10)}) ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, wall_seconds = excluded.wall_seconds,
        expected_datasets = excluded.expected_datasets, excluded = excluded.excluded`)
        .run(a.id, a.run, a.host, a.softwareVersion, a.command, a.startedAt, a.endedAt, a.wallSeconds, JSON.stringify(a.expectedDatasets), JSON.stringify(a.excluded));
    }).immediate();
  }

  async runAttempts(run: string): Promise<RunAttempt[]> {
    const rows = this.db.prepare('SELECT * FROM run_attempt WHERE run = ? ORDER BY started_at, id').all(run) as {
      id: string; run: string; host: string; software_version: string; command: string; started_at: string; ended_at: string | null;
      wall_seconds: number | null; expected_datasets: string; excluded: string;
    }[];
    return rows.map((r) => ({
      id: r.id, run: r.run, host: r.host, softwareVersion: r.software_version, command: r.command, startedAt: r.started_at, endedAt: r.ended_at,
      wallSeconds: r.wall_seconds, expectedDatasets: JSON.parse(r.expected_datasets) as Record<string, number>, excluded: JSON.parse(r.excluded) as ExcludedDataset[],
    }));
  }

  async heartbeat(claimedBy: string): Promise<void> {
    this.db.prepare("UPDATE quantum SET heartbeat_at = ? WHERE claimed_by = ? AND status = 'running'").run(new Date().toISOString(), claimedBy);
  }

  async removeRuns(names: readonly string[]): Promise<DatasetRef[]> {
    return this.db.transaction(() => {
      for (const name of names) {
        const c = this.collectionNow(name);
        if (!c) throw new RegistryLookupError(`no collection '${name}'`);
        if (c.type !== 'RUN') throw new RegistryLookupError(`'${name}' is a ${c.type} collection, not a RUN`);
      }
      const list = placeholders(names.length);
      const removed = (this.db.prepare(`SELECT * FROM dataset WHERE run IN (${list})`).all(...names) as DatasetRow[]).map(toRef);
      this.db.prepare(`DELETE FROM quantum WHERE run IN (${list})`).run(...names);
      this.db.prepare(`DELETE FROM run_attempt WHERE run IN (${list})`).run(...names);
      this.db.prepare(`DELETE FROM dataset WHERE run IN (${list})`).run(...names);
      this.db.prepare(`DELETE FROM collection_chain WHERE child IN (${list})`).run(...names);
      this.db.prepare(`DELETE FROM collection WHERE name IN (${list})`).run(...names);
      return removed;
    }).immediate();
  }

  // -------------------------------------------------------------------------------------------------
  // Reads (synchronous helpers are used inside transactions too)

  private datasetTypeNow(name: string): DatasetType | undefined {
    const row = this.db.prepare('SELECT * FROM dataset_type WHERE name = ?').get(name) as Parameters<typeof toDatasetType>[0] | undefined;
    return row && toDatasetType(row);
  }

  private collectionNow(name: string): Collection | undefined {
    const row = this.db.prepare('SELECT name, type, doc FROM collection WHERE name = ?').get(name) as { name: string; type: CollectionType; doc: string } | undefined;
    if (!row) return undefined;
    const children = row.type === 'CHAINED'
      ? (this.db.prepare('SELECT child FROM collection_chain WHERE parent = ? ORDER BY position').all(name) as { child: string }[]).map((r) => r.child)
      : [];
    return { ...row, children };
  }

  private resolveNow(names: readonly string[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) throw new RegistryConflictError(`collection chain cycle: ${[...path, name].join(' -> ')}`);
      const c = this.collectionNow(name);
      if (!c) throw new RegistryLookupError(`no collection '${name}'`);
      if (c.type === 'CHAINED') {
        for (const child of c.children) visit(child, [...path, name]);
      } else if (!seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
    };
    for (const name of names) visit(name, []);
    return out;
  }

  async dimensionRecords(element: DimensionElement): Promise<DimensionRecord[]> {
    const spec = DIMENSION_ELEMENTS[element];
    if (!spec) throw new RegistryLookupError(`'${element}' is not a dimension element`);
    return this.db.prepare(`SELECT * FROM ${element} ORDER BY ${spec.key.join(', ')}`).all() as DimensionRecord[];
  }

  async getDatasetType(name: string): Promise<DatasetType | undefined> {
    return this.datasetTypeNow(name);
  }

  async listDatasetTypes(): Promise<DatasetType[]> {
    return (this.db.prepare('SELECT * FROM dataset_type ORDER BY name').all() as Parameters<typeof toDatasetType>[0][]).map(toDatasetType);
  }

  async getCollection(name: string): Promise<Collection | undefined> {
    return this.collectionNow(name);
  }

  async listCollections(): Promise<Collection[]> {
    const names = (this.db.prepare('SELECT name FROM collection ORDER BY name').all() as { name: string }[]).map((r) => r.name);
    return names.map((n) => this.collectionNow(n)!);
  }

  async resolveCollections(names: readonly string[]): Promise<string[]> {
    return this.resolveNow(names);
  }

  async certificationsOf(datasetId: string): Promise<Certification[]> {
    const rows = this.db.prepare('SELECT collection, begin_mjd, end_mjd FROM calibration_validity WHERE dataset_id = ? ORDER BY collection')
      .all(datasetId) as { collection: string; begin_mjd: number | null; end_mjd: number | null }[];
    return rows.map((r) => ({ collection: r.collection, datasetId, range: { beginMjd: r.begin_mjd, endMjd: r.end_mjd } }));
  }

  async recordVerdict(v: Verdict): Promise<VerdictOutcome> {
    return this.db.transaction((): VerdictOutcome => {
      if (!this.db.prepare('SELECT 1 FROM dataset WHERE id = ?').get(v.datasetId)) throw new RegistryLookupError(`no dataset ${v.datasetId}`);
      const same = this.db.prepare('SELECT * FROM verdict WHERE id = ?').get(v.id) as VerdictRow | undefined;
      if (same) {
        if (JSON.stringify(toVerdict(same)) === JSON.stringify(toVerdict(fromVerdict(v, same.recorded_seq)))) return { recorded: true };
        throw new RegistryConflictError(`verdict ${v.id} is already recorded with other content`);
      }
      const latestRow = this.db.prepare('SELECT * FROM verdict WHERE dataset_id = ? ORDER BY recorded_seq DESC LIMIT 1').get(v.datasetId) as VerdictRow | undefined;
      if ((latestRow?.id ?? null) !== v.supersedes) return { recorded: false, latest: latestRow && toVerdict(latestRow) };
      const seq = ((this.db.prepare('SELECT MAX(recorded_seq) AS m FROM verdict').get() as { m: number | null }).m ?? 0) + 1;
      const r = fromVerdict(v, seq);
      this.db.prepare(`INSERT INTO verdict (id, dataset_id, verdict, checklist, note, reviewer, reviewed_at, app_version, supersedes, recorded_seq)
        VALUES (${placeholders(10)})`).run(r.id, r.dataset_id, r.verdict, r.checklist, r.note, r.reviewer, r.reviewed_at, r.app_version, r.supersedes, r.recorded_seq);
      return { recorded: true };
    }).immediate();
  }

  async verdicts(options: { datasetIds?: readonly string[] } = {}): Promise<Verdict[]> {
    const ids = options.datasetIds;
    if (ids && ids.length === 0) return [];
    const rows = (ids
      ? this.db.prepare(`SELECT * FROM verdict WHERE dataset_id IN (${placeholders(ids.length)}) ORDER BY recorded_seq`).all(...ids)
      : this.db.prepare('SELECT * FROM verdict ORDER BY recorded_seq').all()) as VerdictRow[];
    return rows.map(toVerdict);
  }

  async getDataset(id: string): Promise<DatasetRef | undefined> {
    const row = this.db.prepare('SELECT * FROM dataset WHERE id = ?').get(id) as DatasetRow | undefined;
    return row && toRef(row);
  }

  async findDataset(datasetType: string, dataId: DataId, collections: readonly string[], options: { timeMjd?: number } = {}): Promise<DatasetRef | undefined> {
    const type = this.datasetTypeNow(datasetType);
    if (!type) throw new RegistryLookupError(`dataset type '${datasetType}' is not registered`);
    const required = Object.fromEntries(Object.entries(dataId).filter(([k]) => type.dimensions.includes(k)));
    const key = dataIdKey(normalizeDataId(required, type.dimensions, [], datasetType), type.dimensions);
    const inRun = this.db.prepare('SELECT * FROM dataset WHERE dataset_type = ? AND run = ? AND data_id_key = ?');
    const inCalibration = this.db.prepare(`SELECT d.* FROM calibration_validity cv JOIN dataset d ON d.id = cv.dataset_id
      WHERE cv.collection = ? AND d.dataset_type = ? AND d.data_id_key = ?
      AND (? IS NULL OR ((cv.begin_mjd IS NULL OR cv.begin_mjd <= ?) AND (cv.end_mjd IS NULL OR ? < cv.end_mjd)))`);
    for (const name of this.resolveNow(collections)) {
      if (this.collectionNow(name)!.type === 'RUN') {
        const row = inRun.get(datasetType, name, key) as DatasetRow | undefined;
        if (row) return toRef(row);
        continue;
      }
      const t = options.timeMjd ?? null;
      const rows = inCalibration.all(name, datasetType, key, t, t, t) as DatasetRow[];
      if (rows.length > 1) throw new RegistryLookupError(`${datasetType} ${formatDataId(required)} has ${rows.length} validity ranges in '${name}'; give a time to choose one`);
      if (rows.length === 1) return toRef(rows[0]!);
    }
    return undefined;
  }

  async queryDatasets(query: DatasetQuery): Promise<DatasetRef[]> {
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    if (query.datasetTypes) {
      for (const t of query.datasetTypes) if (!this.datasetTypeNow(t)) throw new RegistryLookupError(`dataset type '${t}' is not registered`);
      conditions.push(`d.dataset_type IN (${placeholders(query.datasetTypes.length)})`);
      params.push(...query.datasetTypes);
    }
    if (query.collections) {
      const resolved = this.resolveNow(query.collections);
      const runs = resolved.filter((n) => this.collectionNow(n)!.type === 'RUN');
      const calibrations = resolved.filter((n) => !runs.includes(n));
      conditions.push(`(d.run IN (${placeholders(runs.length)}) OR d.id IN (SELECT dataset_id FROM calibration_validity WHERE collection IN (${placeholders(calibrations.length)})))`);
      params.push(...runs, ...calibrations);
    }
    if (query.where) {
      const compiled = compileWhere(query.where, 'd.data_id');
      conditions.push(compiled.sql);
      params.push(...compiled.params);
    }
    const sql = `SELECT d.* FROM dataset d${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`;
    return (this.db.prepare(sql).all(...params) as DatasetRow[]).map(toRef).sort(compareRefs);
  }

  async datasetAtPath(path: string): Promise<DatasetRef | undefined> {
    const row = this.db.prepare('SELECT * FROM dataset WHERE path = ?').get(path) as DatasetRow | undefined;
    return row && toRef(row);
  }

  async registeredPaths(): Promise<Set<string>> {
    return new Set((this.db.prepare('SELECT path FROM dataset').pluck().all() as string[]));
  }

  // -------------------------------------------------------------------------------------------------
  // Provenance

  private toQuantum(row: QuantumRow): QuantumRecord {
    const ids = (table: string): string[] => this.db.prepare(`SELECT dataset_id FROM ${table} WHERE quantum_id = ? ORDER BY dataset_id`).pluck().all(row.id) as string[];
    return {
      id: row.id, run: row.run, task: row.task, dataId: JSON.parse(row.data_id) as DataId, configHash: row.config_hash,
      softwareVersion: row.software_version, host: row.host, startedAt: row.started_at, endedAt: row.ended_at, status: row.status,
      threadCpuUserSeconds: row.thread_cpu_user_seconds, threadCpuSystemSeconds: row.thread_cpu_system_seconds,
      wasmMemoryPeakBytes: row.wasm_memory_peak_bytes, rssPeakBytes: row.rss_peak_bytes, error: row.error,
      inputs: ids('quantum_input'), outputs: ids('quantum_output'),
      skipReason: row.skip_reason, claimedBy: row.claimed_by, heartbeatAt: row.heartbeat_at,
    };
  }

  async findQuantum(run: string, task: string, dataId: DataId): Promise<QuantumRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM quantum WHERE run = ? AND task = ? AND data_id_key = ?').get(run, task, quantumDataIdKey(dataId)) as QuantumRow | undefined;
    return row && this.toQuantum(row);
  }

  async getQuantum(id: string): Promise<QuantumRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM quantum WHERE id = ?').get(id) as QuantumRow | undefined;
    return row && this.toQuantum(row);
  }

  async producerOf(datasetId: string): Promise<QuantumRecord | undefined> {
    const row = this.db.prepare('SELECT q.* FROM quantum_output o JOIN quantum q ON q.id = o.quantum_id WHERE o.dataset_id = ?').get(datasetId) as QuantumRow | undefined;
    return row && this.toQuantum(row);
  }

  async quantaInRun(run: string): Promise<QuantumRecord[]> {
    return (this.db.prepare('SELECT * FROM quantum WHERE run = ? ORDER BY started_at, id').all(run) as QuantumRow[]).map((r) => this.toQuantum(r));
  }
}
