/**
 * Datastore path templates: a dataset's file path relative to the repository root, from its dataset
 * type's template and its data ID, e.g.
 *   `{run}/{datasetType}/{band:?}/{datasetType}_{instrument}_{exposure}_{detector}.fits`.
 * `{name}` is required; `{name:?}` is optional and, when the data ID lacks it, leaves nothing (a path
 * segment left empty is dropped). Values are escaped where they meet the path: every UTF-8 byte outside
 * [A-Za-z0-9._-] becomes %XX, a leading '.' becomes %2E and an empty value '%', so no value can make a
 * separator, a hidden or temporary file name, or '..' and climb out of the repository. The run's '/'
 * separators make directories (each component escaped alike). A segment longer than 200 bytes is cut
 * at an escape boundary and ends in a hash of the whole segment, so long values stay unique and fit
 * the 255-byte file name limit.
 */
import crypto from 'node:crypto';
import type { DataId } from './dimensions.js';

export class PathTemplateError extends Error {
  override readonly name = 'PathTemplateError';
}

interface TemplateField {
  name: string;
  optional: boolean;
}

type TemplatePart = string | TemplateField;

const FIELD = /\{([A-Za-z_][A-Za-z0-9_]*)(:\?)?\}/g;
const LITERAL = /^[A-Za-z0-9._\-/]*$/;
const MAX_SEGMENT_BYTES = 200;

/** Parses a template into literal text and fields; the literal text must be plain path characters. */
export function parsePathTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(FIELD)) {
    parts.push(template.slice(last, m.index));
    parts.push({ name: m[1]!, optional: m[2] !== undefined });
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  for (const part of parts) {
    if (typeof part === 'string' && !LITERAL.test(part)) throw new PathTemplateError(`path template '${template}': literal text '${part}' may hold only A-Z a-z 0-9 . _ - / (or a malformed {field})`);
  }
  if (template.startsWith('/')) throw new PathTemplateError(`path template '${template}' must be relative`);
  if (template.split('/').some((s) => s === '.' || s === '..')) throw new PathTemplateError(`path template '${template}' has a '.' or '..' segment`);
  return parts.filter((p) => p !== '');
}

/**
 * Checks that a template names {run}, {datasetType} and every required dimension (as required fields),
 * so two datasets of one type in one run never share a path.
 */
export function checkPathTemplate(template: string, required: readonly string[], allowed: readonly string[]): void {
  const fields = parsePathTemplate(template).filter((p): p is TemplateField => typeof p !== 'string');
  const names = new Set(fields.filter((f) => !f.optional).map((f) => f.name));
  for (const name of ['run', 'datasetType', ...required]) {
    if (!names.has(name)) throw new PathTemplateError(`path template '${template}' must hold {${name}} (not optional)`);
  }
  const known = new Set(['run', 'datasetType', ...allowed]);
  const unknown = fields.find((f) => !known.has(f.name));
  if (unknown) throw new PathTemplateError(`path template '${template}': {${unknown.name}} is not a key of this dataset type's data IDs`);
}

/** Escapes one value for use inside a path segment (see the module comment). */
export function escapePathValue(value: string | number): string {
  const text = String(value);
  if (text === '') return '%';
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out.startsWith('.') ? `%2E${out.slice(1)}` : out;
}

/** Cuts an over-long segment at an escape boundary and appends a hash of the whole segment. */
function limitSegment(segment: string): string {
  if (segment.length <= MAX_SEGMENT_BYTES) return segment;
  let cut = MAX_SEGMENT_BYTES - 40;
  // Never cut inside a %XX escape.
  const pct = segment.lastIndexOf('%', cut);
  if (pct >= 0 && pct > cut - 3) cut = pct;
  return `${segment.slice(0, cut)}%~${crypto.createHash('sha256').update(segment).digest('hex').slice(0, 32)}`;
}

/** The run name as directories: each '/'-separated component escaped. */
function runPath(run: string): string {
  return run.split('/').map(escapePathValue).join('/');
}

/** Expands a template for a dataset of `datasetType` in `run` with `dataId`. */
export function expandPathTemplate(template: string, run: string, datasetType: string, dataId: DataId): string {
  let text = '';
  for (const part of parsePathTemplate(template)) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    if (part.name === 'run') text += runPath(run);
    else if (part.name === 'datasetType') text += escapePathValue(datasetType);
    else if (part.name in dataId) text += escapePathValue(dataId[part.name]!);
    else if (!part.optional) throw new PathTemplateError(`path template '${template}' needs '${part.name}', which data ID lacks`);
  }
  // Escaped values hold no '/', so the only separators are the template's and the run's own.
  const joined = text.split('/').filter((s) => s !== '').map(limitSegment);
  if (joined.length === 0) throw new PathTemplateError(`path template '${template}' gives an empty path`);
  return joined.join('/');
}
