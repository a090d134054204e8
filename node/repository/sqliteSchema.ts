/**
 * The SQLite registry's schema, its version and its migrations. `registry_meta.schema_version` records
 * the version; a registry from before that table existed is version 0 (the tables of datasets and
 * dimensions, with no provenance tables and no dataset ingest dates). Opening an older registry runs
 * each migration from its version up, each in one IMMEDIATE transaction that re-reads the version
 * first (so two processes opening it at once migrate it once); a newer one is refused.
 */
import type Database from 'better-sqlite3';
import { RegistrySchemaError } from './registry.js';

export const SCHEMA_VERSION = 4;

/**
 * The version-0 layout (frozen): dimension tables, dataset types, collections, datasets and calibration
 * validity. A new registry is this plus every migration, so a created registry and a migrated one
 * have the same schema.
 */
export const VERSION_0_TABLES = `
CREATE TABLE instrument (name TEXT PRIMARY KEY, camera TEXT NOT NULL, detector_count INTEGER NOT NULL);
CREATE TABLE band (name TEXT PRIMARY KEY);
CREATE TABLE physical_filter (
  instrument TEXT NOT NULL REFERENCES instrument(name), name TEXT NOT NULL, band TEXT NOT NULL REFERENCES band(name),
  PRIMARY KEY (instrument, name));
CREATE TABLE detector (
  instrument TEXT NOT NULL REFERENCES instrument(name), id INTEGER NOT NULL, name TEXT NOT NULL, serial TEXT NOT NULL,
  PRIMARY KEY (instrument, id));
CREATE TABLE exposure (
  instrument TEXT NOT NULL REFERENCES instrument(name), id INTEGER NOT NULL, observation_type TEXT NOT NULL,
  physical_filter TEXT, band TEXT REFERENCES band(name), date_obs TEXT NOT NULL, mjd REAL NOT NULL, exposure_time REAL,
  PRIMARY KEY (instrument, id), FOREIGN KEY (instrument, physical_filter) REFERENCES physical_filter(instrument, name));
CREATE TABLE visit (
  instrument TEXT NOT NULL REFERENCES instrument(name), id INTEGER NOT NULL, physical_filter TEXT NOT NULL,
  band TEXT NOT NULL REFERENCES band(name), date_obs TEXT NOT NULL, mjd REAL NOT NULL, exposure_time REAL,
  PRIMARY KEY (instrument, id), FOREIGN KEY (instrument, physical_filter) REFERENCES physical_filter(instrument, name));
CREATE TABLE visit_definition (
  instrument TEXT NOT NULL, exposure INTEGER NOT NULL, visit INTEGER NOT NULL, PRIMARY KEY (instrument, exposure, visit),
  FOREIGN KEY (instrument, exposure) REFERENCES exposure(instrument, id), FOREIGN KEY (instrument, visit) REFERENCES visit(instrument, id));
CREATE TABLE skymap (name TEXT PRIMARY KEY, hash TEXT NOT NULL, tract_count INTEGER NOT NULL);
CREATE TABLE tract (
  skymap TEXT NOT NULL REFERENCES skymap(name), id INTEGER NOT NULL, ra REAL NOT NULL, dec REAL NOT NULL,
  pixel_scale_arcsec REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, patch_inner_size INTEGER NOT NULL,
  patch_border INTEGER NOT NULL, num_patches_x INTEGER NOT NULL, num_patches_y INTEGER NOT NULL,
  PRIMARY KEY (skymap, id));
CREATE TABLE patch (
  skymap TEXT NOT NULL, tract INTEGER NOT NULL, id INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
  inner_x0 INTEGER NOT NULL, inner_y0 INTEGER NOT NULL, inner_width INTEGER NOT NULL, inner_height INTEGER NOT NULL,
  outer_x0 INTEGER NOT NULL, outer_y0 INTEGER NOT NULL, outer_width INTEGER NOT NULL, outer_height INTEGER NOT NULL,
  PRIMARY KEY (skymap, tract, id), FOREIGN KEY (skymap, tract) REFERENCES tract(skymap, id));
CREATE TABLE dataset_type (
  name TEXT PRIMARY KEY, dimensions TEXT NOT NULL, implied TEXT NOT NULL, storage_class TEXT NOT NULL, path_template TEXT NOT NULL);
CREATE TABLE collection (
  name TEXT PRIMARY KEY, type TEXT NOT NULL CHECK (type IN ('RUN', 'CHAINED', 'CALIBRATION')), doc TEXT NOT NULL DEFAULT '');
CREATE TABLE collection_chain (
  parent TEXT NOT NULL REFERENCES collection(name) ON DELETE CASCADE, position INTEGER NOT NULL,
  child TEXT NOT NULL REFERENCES collection(name), PRIMARY KEY (parent, position), UNIQUE (parent, child));
CREATE TABLE dataset (
  id TEXT PRIMARY KEY, dataset_type TEXT NOT NULL REFERENCES dataset_type(name), run TEXT NOT NULL REFERENCES collection(name),
  data_id TEXT NOT NULL, data_id_key TEXT NOT NULL, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, checksum TEXT NOT NULL,
  UNIQUE (dataset_type, run, data_id_key));
CREATE INDEX dataset_run ON dataset(run);
CREATE TABLE calibration_validity (
  collection TEXT NOT NULL REFERENCES collection(name) ON DELETE CASCADE,
  dataset_id TEXT NOT NULL REFERENCES dataset(id) ON DELETE CASCADE, begin_mjd REAL, end_mjd REAL,
  PRIMARY KEY (collection, dataset_id));
CREATE INDEX calibration_validity_dataset ON calibration_validity(dataset_id);
`;

/** What v1 added: the version table, provenance (quanta, their inputs and outputs) and ingest dates. */
const V1_ADDITIONS = `
CREATE TABLE registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE quantum (
  id TEXT PRIMARY KEY, run TEXT NOT NULL REFERENCES collection(name), task TEXT NOT NULL, data_id TEXT NOT NULL,
  config_hash TEXT NOT NULL, software_version TEXT NOT NULL, host TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
  thread_cpu_user_seconds REAL, thread_cpu_system_seconds REAL, wasm_memory_peak_bytes INTEGER, rss_peak_bytes INTEGER,
  error TEXT);
CREATE INDEX quantum_run ON quantum(run);
-- Inputs are kept by id without a foreign key: provenance outlives the removal of an input's run.
CREATE TABLE quantum_input (
  quantum_id TEXT NOT NULL REFERENCES quantum(id) ON DELETE CASCADE, dataset_id TEXT NOT NULL,
  PRIMARY KEY (quantum_id, dataset_id));
CREATE INDEX quantum_input_dataset ON quantum_input(dataset_id);
CREATE TABLE quantum_output (
  quantum_id TEXT NOT NULL REFERENCES quantum(id) ON DELETE CASCADE,
  dataset_id TEXT NOT NULL UNIQUE REFERENCES dataset(id) ON DELETE CASCADE, PRIMARY KEY (quantum_id, dataset_id));
`;

/**
 * What v2 added: quanta become claims. A quantum row is written when an executor claims it (status
 * 'running', with the claimant and a heartbeat) and updated when it ends; at most one row per run, task
 * label and data ID (unique index on the canonical data ID key), so two processes never run one quantum.
 * A quantum that did not run says why in skip_reason: 'no-work' (the task found nothing to do) or
 * 'blocked' (an upstream quantum failed). Each execution of a run (`tessera run`, first or resumed) is a
 * run_attempt: when and where, its wall-clock time and how many datasets of each type its graph expected.
 */
const V2_ADDITIONS = `
ALTER TABLE quantum ADD COLUMN data_id_key TEXT NOT NULL DEFAULT '';
ALTER TABLE quantum ADD COLUMN claimed_by TEXT;
ALTER TABLE quantum ADD COLUMN heartbeat_at TEXT;
ALTER TABLE quantum ADD COLUMN skip_reason TEXT CHECK (skip_reason IN ('no-work', 'blocked'));
CREATE TABLE run_attempt (
  id TEXT PRIMARY KEY, run TEXT NOT NULL REFERENCES collection(name) ON DELETE CASCADE, host TEXT NOT NULL,
  software_version TEXT NOT NULL, command TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, wall_seconds REAL,
  expected_datasets TEXT NOT NULL DEFAULT '{}');
CREATE INDEX run_attempt_run ON run_attempt(run);
`;

/**
 * What v3 added: each visit's detectors' regions on the sky (LSST's visit_detector_region), a JSON
 * polygon of [ra, dec] degrees from the raw's nominal WCS (lib/skymap/detectorRegion.ts), which joins
 * visits to the patches they overlap when a quantum graph is built. Registries from before have none:
 * ingesting their raws again adds them.
 */
const V3_ADDITIONS = `
CREATE TABLE visit_detector_region (
  instrument TEXT NOT NULL, visit INTEGER NOT NULL, detector INTEGER NOT NULL, region TEXT NOT NULL,
  PRIMARY KEY (instrument, visit, detector), FOREIGN KEY (instrument, visit) REFERENCES visit(instrument, id),
  FOREIGN KEY (instrument, detector) REFERENCES detector(instrument, id));
`;

/** What v4 added: science leads' verdicts on datasets (a history per dataset; see Registry.recordVerdict), and the inputs a run attempt left out for them. */
const V4_ADDITIONS = `
CREATE TABLE verdict (
  id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL, verdict TEXT NOT NULL CHECK (verdict IN ('certified', 'rejected', 'needs-work')),
  checklist TEXT NOT NULL, note TEXT NOT NULL, reviewer TEXT NOT NULL, reviewed_at TEXT NOT NULL, app_version TEXT NOT NULL,
  supersedes TEXT, recorded_seq INTEGER NOT NULL);
CREATE INDEX verdict_dataset ON verdict(dataset_id, recorded_seq);
ALTER TABLE run_attempt ADD COLUMN excluded TEXT NOT NULL DEFAULT '[]';
`;

/** The identity of a quantum's data ID within its run and task: canonical JSON, keys sorted. */
export function quantumDataIdKey(dataId: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.keys(dataId).sort().map((k) => [k, dataId[k]]));
}

interface Migration {
  readonly from: number;
  readonly description: string;
  apply(db: Database.Database): void;
}

/** Migration i takes a registry from version i to i + 1. */
export const MIGRATIONS: readonly Migration[] = [
  {
    from: 0,
    description: 'record the schema version; add the provenance tables and dataset ingest dates',
    apply(db) {
      db.exec(V1_ADDITIONS);
      db.exec("ALTER TABLE dataset ADD COLUMN ingest_date TEXT NOT NULL DEFAULT ''");
      // Datasets registered before v1 have no known ingest date: the migration's time stands in.
      db.prepare("UPDATE dataset SET ingest_date = ? WHERE ingest_date = ''").run(new Date().toISOString());
    },
  },
  {
    from: 1,
    description: 'quanta as claims: data ID key (unique per run and task), claimant, heartbeat, skip reason',
    apply(db) {
      db.exec(V2_ADDITIONS);
      // v1 quanta were records, not claims, and may repeat a data ID: a repeat keeps its id in its key.
      const seen = new Set<string>();
      const update = db.prepare('UPDATE quantum SET data_id_key = ? WHERE id = ?');
      for (const row of db.prepare('SELECT id, run, task, data_id FROM quantum ORDER BY started_at, id').all() as { id: string; run: string; task: string; data_id: string }[]) {
        let key = quantumDataIdKey(JSON.parse(row.data_id) as Record<string, unknown>);
        if (seen.has(`${row.run}\u0000${row.task}\u0000${key}`)) key = `${key}#${row.id}`;
        seen.add(`${row.run}\u0000${row.task}\u0000${key}`);
        update.run(key, row.id);
      }
      db.exec('CREATE UNIQUE INDEX quantum_identity ON quantum(run, task, data_id_key)');
    },
  },
  {
    from: 2,
    description: 'visit detector regions on the sky (the spatial join of visits to patches)',
    apply(db) {
      db.exec(V3_ADDITIONS);
    },
  },
  {
    from: 3,
    description: 'science leads\' verdicts on datasets (certified, rejected, needs work), with their history; inputs a run attempt excluded for them',
    apply(db) {
      db.exec(V4_ADDITIONS);
    },
  },
];

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The registry's schema version; undefined for a database that holds no registry. */
export function readSchemaVersion(db: Database.Database): number | undefined {
  if (tableExists(db, 'registry_meta')) {
    const row = db.prepare("SELECT value FROM registry_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    const version = row ? Number(row.value) : NaN;
    if (!Number.isSafeInteger(version) || version < 0) throw new RegistrySchemaError(`registry_meta.schema_version is '${row?.value ?? '(missing)'}', not a version number`);
    return version;
  }
  return tableExists(db, 'dataset') && tableExists(db, 'collection') ? 0 : undefined;
}

function writeVersion(db: Database.Database, version: number): void {
  db.prepare("INSERT INTO registry_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(version));
}

/** Creates the current schema in an empty database (version 0, then every migration), in one transaction. */
export function createSchema(db: Database.Database, softwareVersion: string): void {
  db.transaction(() => {
    db.exec(VERSION_0_TABLES);
    for (const migration of MIGRATIONS) migration.apply(db);
    writeVersion(db, SCHEMA_VERSION);
    const meta = db.prepare('INSERT INTO registry_meta (key, value) VALUES (?, ?)');
    meta.run('created_at', new Date().toISOString());
    meta.run('created_by', `tessera ${softwareVersion}`);
  }).immediate();
}

/**
 * Brings a registry to SCHEMA_VERSION; `label` names it in errors. Returns the version it was at.
 * Throws RegistrySchemaError for a newer schema or a database that holds no registry.
 */
export function migrateSchema(db: Database.Database, label: string): number {
  const found = readSchemaVersion(db);
  if (found === undefined) throw new RegistrySchemaError(`${label}: not a Tessera registry (no registry tables)`);
  if (found > SCHEMA_VERSION) {
    throw new RegistrySchemaError(`${label}: registry schema version ${found} is newer than this tessera supports (version ${SCHEMA_VERSION}); use a newer tessera`);
  }
  for (let version = found; version < SCHEMA_VERSION; version++) {
    const migration = MIGRATIONS.find((m) => m.from === version);
    if (!migration) throw new RegistrySchemaError(`${label}: no migration from registry schema version ${version}`);
    db.transaction(() => {
      if (readSchemaVersion(db) !== version) return; // another process migrated it meanwhile
      migration.apply(db);
      writeVersion(db, version + 1);
    }).immediate();
  }
  return found;
}
