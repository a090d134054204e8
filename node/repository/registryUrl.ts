/**
 * Registry URLs and the factory that turns one into a Registry. Supported: `sqlite:PATH` (also
 * `sqlite:///ABSOLUTE/PATH`, as LSST's butler writes it), a relative PATH being relative to the
 * repository root. Any other scheme (postgresql:// included, until that backend exists) is refused
 * with a message naming what is supported. Callers use only the Registry interface it returns.
 */
import path from 'node:path';
import type { Registry } from './registry.js';
import { SqliteRegistry } from './sqliteRegistry.js';

export const DEFAULT_REGISTRY_URL = 'sqlite:registry.sqlite3';
export const SUPPORTED_REGISTRY_URLS = 'sqlite:PATH (an SQLite database file; PATH relative to the repository root unless absolute)';

export class RegistryUrlError extends Error {
  override readonly name = 'RegistryUrlError';
}

export interface ParsedRegistryUrl {
  readonly scheme: 'sqlite';
  /** Absolute path of the database file. */
  readonly file: string;
}

/** Parses a registry URL; `root` is the repository root that relative paths start from. */
export function parseRegistryUrl(url: string, root: string): ParsedRegistryUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  if (!m) throw new RegistryUrlError(`registry URL '${url}' has no scheme; supported: ${SUPPORTED_REGISTRY_URLS}`);
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'sqlite') {
    throw new RegistryUrlError(`registry URL '${url}': the '${scheme}' registry is not supported by this tessera; supported: ${SUPPORTED_REGISTRY_URLS}`);
  }
  let rest = m[2]!;
  if (rest.startsWith('///')) rest = rest.slice(2);
  else if (rest.startsWith('//')) throw new RegistryUrlError(`registry URL '${url}': an SQLite registry has no host; write sqlite:PATH or sqlite:///ABSOLUTE/PATH`);
  if (rest === '') throw new RegistryUrlError(`registry URL '${url}' names no database file`);
  return { scheme: 'sqlite', file: path.resolve(root, rest) };
}

/** Creates a new, empty registry at `url`. */
export function createRegistry(url: string, root: string, softwareVersion: string): Registry {
  const parsed = parseRegistryUrl(url, root);
  return SqliteRegistry.create(parsed.file, url, softwareVersion);
}

/** Opens the registry at `url`, migrating an older schema; `label` names the repository in errors. */
export function openRegistry(url: string, root: string, label: string): Registry {
  const parsed = parseRegistryUrl(url, root);
  return SqliteRegistry.open(parsed.file, url, label);
}
