/**
 * The registry interface: everything a Tessera repository records about its datasets, behind one
 * asynchronous TypeScript interface so that backends (SQLite now, sqliteRegistry.ts; PostgreSQL for a
 * cluster) are interchangeable without touching callers. It holds dimension records, dataset types,
 * collections (RUN, CHAINED with an ordered search path, CALIBRATION with [begin, end) validity ranges
 * in MJD per dataset), datasets (UUID, type, data ID, run, datastore path, size, sha256) and quanta
 * with their provenance (task, config hash, software version, host, times, status, CPU and memory
 * high-water marks, the dataset ids used and made). Every write goes through `commit`, which applies a
 * whole batch in one transaction; `claimQuantum`, `heartbeat` and `removeRuns` are the other writes,
 * each one transaction. A quantum is claimed (a 'running' row naming its claimant) before it runs, at
 * most one per run, task and data ID, and its result and outputs are committed together.
 */
import type { DataId, DimensionElement, DimensionRecord, DimensionRecords } from './dimensions.js';
import type { DatasetType } from './datasetTypes.js';
import type { WhereNode } from './whereExpression.js';

export type CollectionType = 'RUN' | 'CHAINED' | 'CALIBRATION';

export interface Collection {
  readonly name: string;
  readonly type: CollectionType;
  readonly doc: string;
  /** A CHAINED collection's search path, in order; empty for the others. */
  readonly children: readonly string[];
}

/** A registered dataset. */
export interface DatasetRef {
  /** UUID. */
  readonly id: string;
  readonly datasetType: string;
  readonly dataId: DataId;
  readonly run: string;
  /** Datastore path relative to the repository root, '/'-separated. */
  readonly path: string;
  readonly size: number;
  /** sha256 of the file, hex. */
  readonly checksum: string;
  /** ISO 8601 UTC time of registration. */
  readonly ingestDate: string;
}

/** A dataset to register: its file is already complete and in place. */
export type NewDataset = Omit<DatasetRef, 'ingestDate'>;

/** [beginMjd, endMjd): null is unbounded on that side. */
export interface ValidityRange {
  readonly beginMjd: number | null;
  readonly endMjd: number | null;
}

export interface Certification {
  readonly collection: string;
  readonly datasetId: string;
  readonly range: ValidityRange;
}

export type QuantumStatus = 'running' | 'succeeded' | 'failed' | 'skipped';
export const QUANTUM_STATUSES: readonly QuantumStatus[] = ['running', 'succeeded', 'failed', 'skipped'];

/** Why a 'skipped' quantum did not run: its task found nothing to do, or an upstream quantum failed. */
export type SkipReason = 'no-work' | 'blocked';

/** One execution of a task on one data ID, and what it used and made. */
export interface QuantumRecord {
  /** UUID. */
  readonly id: string;
  readonly run: string;
  readonly task: string;
  readonly dataId: DataId;
  /** sha256 of the task's canonical config. */
  readonly configHash: string;
  readonly softwareVersion: string;
  readonly host: string;
  /** ISO 8601 UTC. */
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly status: QuantumStatus;
  /** CPU time of the worker thread that ran it, seconds. */
  readonly threadCpuUserSeconds: number | null;
  readonly threadCpuSystemSeconds: number | null;
  /** High-water marks, bytes: the wasm instance's linear memory and the process's resident set. */
  readonly wasmMemoryPeakBytes: number | null;
  readonly rssPeakBytes: number | null;
  /** The failure message when status is 'failed'. */
  readonly error: string | null;
  /** Dataset ids it read. */
  readonly inputs: readonly string[];
  /** Dataset ids it wrote (registered in the same commit, or earlier). */
  readonly outputs: readonly string[];
  /** Set when status is 'skipped'. */
  readonly skipReason: SkipReason | null;
  /** The executor that claimed it (`host/pid/token`); null for a record written whole. */
  readonly claimedBy: string | null;
  /** ISO 8601 UTC: the claimant's last sign of life while it runs. */
  readonly heartbeatAt: string | null;
}

/** One execution of `tessera run` into a run (the first, or one that resumed it). */
export interface RunAttempt {
  /** UUID. */
  readonly id: string;
  readonly run: string;
  readonly host: string;
  readonly softwareVersion: string;
  /** The command line. */
  readonly command: string;
  /** ISO 8601 UTC. */
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly wallSeconds: number | null;
  /** Datasets per dataset type that the attempt's quantum graphs were to make. */
  readonly expectedDatasets: Readonly<Record<string, number>>;
  /** Input datasets left out because a science lead's latest verdict on them is 'rejected' (`tessera run --exclude-rejected`). */
  readonly excluded: readonly ExcludedDataset[];
}

/** An input dataset a run left out, and the verdict that made it. */
export interface ExcludedDataset {
  readonly datasetId: string;
  readonly datasetType: string;
  readonly dataId: DataId;
  readonly verdictId: string;
  readonly reviewer: string;
}

/** A quantum record written whole (not through a claim). */
export type NewQuantumRecord = Omit<QuantumRecord, 'skipReason' | 'claimedBy' | 'heartbeatAt'> & Partial<Pick<QuantumRecord, 'skipReason'>>;

/**
 * What an executor claims before running a quantum: the 'running' row it inserts (id: this attempt's
 * UUID; task: the task's label in the pipeline; inputs: the dataset ids it will read).
 */
export type QuantumClaim = Pick<QuantumRecord, 'id' | 'run' | 'task' | 'dataId' | 'configHash' | 'softwareVersion' | 'host' | 'startedAt' | 'inputs'>
  & { readonly claimedBy: string };

/** The row a claim may replace (a failed, blocked or abandoned attempt, or outputs that no longer verify). */
export interface ClaimReplacing {
  readonly id: string;
  readonly status: QuantumStatus;
  readonly claimedBy: string | null;
}

export type ClaimOutcome =
  /** The claim is ours; `removed` are the datasets of the replaced row, whose files the caller deletes. */
  | { readonly claimed: true; readonly removed: readonly DatasetRef[] }
  /** Another row holds the run, task and data ID (and is not the one we meant to replace). */
  | { readonly claimed: false; readonly existing: QuantumRecord };

/** How a claimed quantum ended; committed with its outputs. */
export interface QuantumResult {
  readonly id: string;
  /** Must still be the claimant: a claim taken over by another executor refuses the result. */
  readonly claimedBy: string;
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly skipReason?: SkipReason;
  readonly endedAt: string;
  readonly threadCpuUserSeconds: number | null;
  readonly threadCpuSystemSeconds: number | null;
  readonly wasmMemoryPeakBytes: number | null;
  readonly rssPeakBytes: number | null;
  readonly error: string | null;
  /** Dataset ids registered in the same commit. */
  readonly outputs: readonly string[];
}

/** What one transaction writes. Everything in it is applied, or nothing. */
export interface RegistryBatch {
  /** Inserted when absent; a record already there must be identical. */
  readonly dimensionRecords?: DimensionRecords;
  /** Registered when absent; one already there must be identical. */
  readonly datasetTypes?: readonly DatasetType[];
  /** RUN and CALIBRATION collections, created when absent (one there must be of the same type). */
  readonly collections?: readonly { name: string; type: 'RUN' | 'CALIBRATION'; doc?: string }[];
  /** CHAINED collections, created or redefined with these children (which must exist; no cycles). */
  readonly chains?: readonly { name: string; children: readonly string[]; doc?: string }[];
  /** New datasets; a (type, run, data ID) or a path already registered is an error. */
  readonly datasets?: readonly NewDataset[];
  /** Associations with CALIBRATION collections; an identical one is kept, an overlapping one refused. */
  readonly certifications?: readonly Certification[];
  /** Quanta with their inputs and outputs, written whole. */
  readonly quanta?: readonly NewQuantumRecord[];
  /** Results of claimed quanta ('running' rows of the same claimant), applied after the datasets. */
  readonly quantumResults?: readonly QuantumResult[];
}

export interface DatasetQuery {
  /** Dataset type names; all when absent. */
  readonly datasetTypes?: readonly string[];
  /** Collections to search (CHAINED ones expanded); every RUN collection when absent. */
  readonly collections?: readonly string[];
  readonly where?: WhereNode;
}

/** The checklist a science lead goes through before a verdict (DMTR-51 DRP-00-30 and DRP-00-35). */
export interface VerdictChecklist {
  readonly artifactsMasked: boolean;
  readonly trailsAndGhostsRejected: boolean;
  readonly backgroundNotOverSubtracted: boolean;
  /** Anything else seen, as text ('' for nothing). */
  readonly other: string;
}

export const VERDICTS = ['certified', 'rejected', 'needs-work'] as const;
export type VerdictKind = (typeof VERDICTS)[number];

/**
 * A science lead's verdict on one dataset (a calexp or a coadd), keyed to its UUID so a reprocessed
 * image starts without one. Verdicts are kept as a history: each names the one it replaces
 * (`supersedes`, the latest its reviewer had seen; null for the first), and one whose `supersedes` is
 * not the dataset's latest is a conflict, refused rather than overwriting.
 */
export interface Verdict {
  readonly id: string;
  readonly datasetId: string;
  readonly verdict: VerdictKind;
  readonly checklist: VerdictChecklist;
  readonly note: string;
  readonly reviewer: string;
  /** ISO 8601 UTC. */
  readonly reviewedAt: string;
  /** The viewer's version that recorded it. */
  readonly appVersion: string;
  readonly supersedes: string | null;
}

export type VerdictOutcome = { readonly recorded: true } | { readonly recorded: false; readonly latest: Verdict | undefined };

/** A registry backend. All methods may be called concurrently from several processes. */
export interface Registry {
  /** The URL it was opened with (e.g. `sqlite:/repo/registry.sqlite3`). */
  readonly url: string;
  /** The schema version of the open registry (after any migration). */
  readonly schemaVersion: number;
  close(): Promise<void>;

  /** Applies a batch in one transaction. */
  commit(batch: RegistryBatch): Promise<void>;

  dimensionRecords(element: DimensionElement): Promise<DimensionRecord[]>;

  getDatasetType(name: string): Promise<DatasetType | undefined>;
  listDatasetTypes(): Promise<DatasetType[]>;

  getCollection(name: string): Promise<Collection | undefined>;
  listCollections(): Promise<Collection[]>;
  /** Expands CHAINED collections depth-first into RUN and CALIBRATION collections, in search order, once each. */
  resolveCollections(names: readonly string[]): Promise<string[]>;
  /** The CALIBRATION associations of a dataset. */
  certificationsOf(datasetId: string): Promise<Certification[]>;

  /**
   * Records a verdict unless it conflicts: its `supersedes` must be the dataset's latest verdict (null
   * when it has none), else nothing is written and the latest comes back. Recording the same verdict
   * (same id and content) again is a no-op that succeeds. The dataset must be registered.
   */
  recordVerdict(verdict: Verdict): Promise<VerdictOutcome>;
  /** Verdicts, oldest first: every one, or those of the given datasets. */
  verdicts(options?: { datasetIds?: readonly string[] }): Promise<Verdict[]>;

  getDataset(id: string): Promise<DatasetRef | undefined>;
  /**
   * The first dataset of `datasetType` with `dataId`'s required dimensions in the collections' search
   * order. In a CALIBRATION collection, the one whose validity range holds `timeMjd`; without a time,
   * the only association there (several are an error).
   */
  findDataset(datasetType: string, dataId: DataId, collections: readonly string[], options?: { timeMjd?: number }): Promise<DatasetRef | undefined>;
  /** Every dataset matching the query (each once), ordered by type, run and data ID. */
  queryDatasets(query: DatasetQuery): Promise<DatasetRef[]>;
  /** The dataset whose file is at a datastore path, if one is registered there. */
  datasetAtPath(path: string): Promise<DatasetRef | undefined>;
  /** Datastore paths of every registered dataset. */
  registeredPaths(): Promise<Set<string>>;

  /**
   * Claims a quantum: inserts the 'running' row unless one holds the claim's run, task and data ID;
   * that row is replaced only when it is `replacing` (same id, status and claimant), deleting it and
   * its output datasets. Creates the RUN collection when absent.
   */
  claimQuantum(claim: QuantumClaim, replacing?: ClaimReplacing): Promise<ClaimOutcome>;
  /** Marks the 'running' quanta of a claimant as alive now. */
  heartbeat(claimedBy: string): Promise<void>;
  /** Records a run attempt, or updates it (same id) when it ends; creates the RUN collection when absent. */
  recordRunAttempt(attempt: RunAttempt): Promise<void>;
  /** A run's attempts, oldest first. */
  runAttempts(run: string): Promise<RunAttempt[]>;

  getQuantum(id: string): Promise<QuantumRecord | undefined>;
  /** The quantum of a run, task label and data ID, if one is recorded. */
  findQuantum(run: string, task: string, dataId: DataId): Promise<QuantumRecord | undefined>;
  /** The quantum that wrote a dataset, if one did. */
  producerOf(datasetId: string): Promise<QuantumRecord | undefined>;
  quantaInRun(run: string): Promise<QuantumRecord[]>;

  /**
   * Removes RUN collections with their datasets, certifications and quanta, and drops them from every
   * chain, in one transaction; returns the removed datasets (their files are the caller's to delete).
   * A name that is not a RUN collection is an error and nothing is removed.
   */
  removeRuns(names: readonly string[]): Promise<DatasetRef[]>;
}

/** A registry's schema is newer than this software or cannot be read as a registry. */
export class RegistrySchemaError extends Error {
  override readonly name = 'RegistrySchemaError';
}

/** A batch that conflicts with what is registered (a different record, file or definition). */
export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
}

/** A name (collection, dataset type, dataset) the registry does not have, or has as something else. */
export class RegistryLookupError extends Error {
  override readonly name = 'RegistryLookupError';
}

const COLLECTION_NAME = /^[^/\s\u0000-\u001f](?:[^\u0000-\u001f]*[^/\s\u0000-\u001f])?$/;

/** Checks a collection name: printable, no leading or trailing '/' or space, no empty '/' component. */
export function checkCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name) || name.includes('//')) {
    throw new RegistryLookupError(`'${name}' is not a valid collection name (printable, no leading or trailing '/' or space, no '//')`);
  }
}
