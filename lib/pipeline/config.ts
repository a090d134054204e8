/**
 * Task configuration: a schema of typed fields with defaults, descriptions and constraints (LSST
 * pex_config's Field/ChoiceField/ListField with `doc`, `default` and `check`), validation of user
 * overrides into the effective, frozen config, and a stable hash of it for provenance.
 * - `validateConfig(task, overrides)`: every override must name a field of the schema and fit its type
 *   and constraints, the defaults fill the rest, then the task's own cross-field `validate` runs; any
 *   problem throws ConfigError naming `task.field` and what is wrong.
 * - `canonicalJson(value)`: JSON with object keys sorted at every level, no whitespace, numbers in
 *   JavaScript's shortest round-trip form (-0 written 0); non-finite numbers are refused.
 * - `configHash(config)`: SHA-256 (hex) of the canonical JSON: equal configs hash equal whatever their key
 *   order, and any changed value changes the hash.
 */
import { ConfigError } from './errors.js';
import { sha256Hex } from './sha256.js';

interface FieldBase<T> {
  description: string;
  default: T;
  /** Extra test of a value already of the right type; returns the problem, or undefined when fine. */
  check?: (value: T) => string | undefined;
}

export interface BooleanField extends FieldBase<boolean> {
  type: 'boolean';
}

export interface NumberField<T extends number | null = number> extends FieldBase<T> {
  type: 'number';
  /** null is accepted (e.g. "no limit") */
  nullable?: T extends null ? true : never;
  integer?: boolean;
  min?: number;
  max?: number;
  /** The bounds exclude the bound itself. */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
}

export interface ChoiceField<T extends string = string> extends FieldBase<T> {
  type: 'choice';
  choices: readonly T[];
}

export interface StringListField extends FieldBase<readonly string[]> {
  type: 'stringList';
  /** When given, every element must be one of these. */
  choices?: readonly string[];
  /** Elements must be distinct (default true). */
  unique?: boolean;
}

export type ConfigField = BooleanField | NumberField<number> | NumberField<number | null> | ChoiceField | StringListField;

/** The schema field that holds a value of type T. */
export type FieldFor<T> =
  [T] extends [boolean] ? BooleanField
    : [T] extends [number] ? NumberField<number>
      : [T] extends [number | null] ? NumberField<number | null>
        : [T] extends [string] ? ChoiceField<T>
          : [T] extends [readonly string[]] ? StringListField
            : never;

export type ConfigSchema<C> = { readonly [K in keyof C]-?: FieldFor<C[K]> };

/** A problem found by a task's cross-field validation. */
export interface ConfigProblem {
  field: string;
  problem: string;
}

/** What validateConfig needs of a task. */
export interface Configurable<C> {
  readonly name: string;
  readonly config: ConfigSchema<C>;
  validate?(config: Readonly<C>): ConfigProblem | undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

function checkNumber(field: NumberField<number | null>, value: unknown): string | undefined {
  if (value === null) return field.nullable ? undefined : `expected a number, got null`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a finite number${field.nullable ? ' or null' : ''}, got ${describe(value)}`;
  if (field.integer && !Number.isInteger(value)) return `expected an integer, got ${value}`;
  if (field.min !== undefined && (field.exclusiveMin ? !(value > field.min) : !(value >= field.min))) return `must be ${field.exclusiveMin ? '>' : '>='} ${field.min}, got ${value}`;
  if (field.max !== undefined && (field.exclusiveMax ? !(value < field.max) : !(value <= field.max))) return `must be ${field.exclusiveMax ? '<' : '<='} ${field.max}, got ${value}`;
  return undefined;
}

/** The problem with `value` for `field`, or undefined when it fits (type, constraints, check). */
function fieldProblem(field: ConfigField, value: unknown): string | undefined {
  let problem: string | undefined;
  switch (field.type) {
    case 'boolean':
      if (typeof value !== 'boolean') problem = `expected true or false, got ${describe(value)}`;
      break;
    case 'number':
      problem = checkNumber(field as NumberField<number | null>, value);
      break;
    case 'choice':
      if (typeof value !== 'string' || !field.choices.includes(value)) problem = `expected one of ${field.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describe(value)}`;
      break;
    case 'stringList': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        problem = `expected a list of strings, got ${describe(value)}`;
        break;
      }
      const bad = field.choices ? value.find((v) => !field.choices!.includes(v as string)) : undefined;
      if (bad !== undefined) problem = `${describe(bad)} is not one of ${field.choices!.join(', ')}`;
      else if ((field.unique ?? true) && new Set(value).size !== value.length) problem = `lists ${describe(value.find((v, i) => value.indexOf(v) !== i))} twice`;
      break;
    }
  }
  if (problem === undefined && field.check) problem = (field.check as (v: unknown) => string | undefined)(value);
  return problem;
}

function freeze<T>(value: T): T {
  return (Array.isArray(value) ? Object.freeze([...value]) : value) as T;
}

/**
 * The effective config of `task`: its defaults overridden by `overrides`, validated and frozen. Throws
 * ConfigError('task.field', problem) for an unknown field, a value of the wrong type or out of range, or a
 * failed cross-field check.
 */
export function validateConfig<C>(task: Configurable<C>, overrides: Readonly<Record<string, unknown>> = {}): Readonly<C> {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new ConfigError(task.name, `config overrides must be a mapping of field to value, got ${describe(overrides)}`);
  }
  const schema = task.config as unknown as Record<string, ConfigField>;
  const names = Object.keys(schema);
  for (const key of Object.keys(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(schema, key)) throw new ConfigError(`${task.name}.${key}`, `unknown field (${task.name} has ${names.join(', ')})`);
  }
  const config: Record<string, unknown> = {};
  for (const name of names) {
    const field = schema[name]!;
    const given = overrides[name];
    const value = given === undefined ? field.default : given;
    const problem = fieldProblem(field, value);
    if (problem !== undefined) throw new ConfigError(`${task.name}.${name}`, given === undefined ? `default ${problem}` : problem);
    config[name] = freeze(value);
  }
  const frozen = Object.freeze(config) as unknown as Readonly<C>;
  const cross = task.validate?.(frozen);
  if (cross) throw new ConfigError(`${task.name}.${cross.field}`, cross.problem);
  return frozen;
}

/** The defaults of a task's config (validated like any config). */
export function defaultConfig<C>(task: Configurable<C>): Readonly<C> {
  return validateConfig(task, {});
}

/** JSON with sorted keys and no whitespace (see the module comment). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/** SHA-256 (hex) of the canonical JSON of a config. */
export function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}
