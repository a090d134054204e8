/**
 * A reader and writer for the subset of YAML 1.2 that hand-written configuration files use (camera
 * descriptions, and anything else that needs no more): block mappings and sequences (including the
 * compact '- key: value' form), single-line flow collections ('[1, 2]', '{a: 1}'), plain, single- and
 * double-quoted scalars, comments, and an optional leading '---'. Plain scalars resolve by the YAML 1.2
 * core schema (null/~, true/false, decimal/hex/octal integers, floats, .inf, .nan); mapping keys are
 * strings. Anchors, aliases, tags, block scalars ('|', '>'), multi-line flow collections and multi-line
 * plain scalars are rejected with the line number, never silently misread. Every JSON document written
 * on one line, and every document `stringifyYaml` writes, parses back to the same value.
 */

export type YamlValue = null | boolean | number | string | YamlValue[] | YamlMapping;
export interface YamlMapping { [key: string]: YamlValue }

export class YamlError extends Error {
  constructor(readonly source: string, readonly line: number, readonly problem: string) {
    super(`${source}: line ${line}: ${problem}`);
    this.name = 'YamlError';
  }
}

interface Line {
  /** 1-based line number in the text. */
  no: number;
  indent: number;
  /** The content after the indentation, with any comment and trailing blanks removed. */
  text: string;
}

/** Characters after which a quote opens a quoted scalar (ignoring blanks). */
const SCALAR_START = new Set(['', ':', '-', ',', '[', '{', '?']);

function stripComment(raw: string, no: number, source: string): string {
  let quote: '' | "'" | '"' = '';
  let previous = '';
  for (let k = 0; k < raw.length; k++) {
    const c = raw[k]!;
    if (quote === "'") {
      if (c === "'") { if (raw[k + 1] === "'") k++; else quote = ''; }
      continue;
    }
    if (quote === '"') {
      if (c === '\\') k++;
      else if (c === '"') quote = '';
      continue;
    }
    if ((c === "'" || c === '"') && SCALAR_START.has(previous)) { quote = c; continue; }
    if (c === '#' && (k === 0 || raw[k - 1] === ' ' || raw[k - 1] === '\t')) return raw.slice(0, k).trimEnd();
    if (c !== ' ' && c !== '\t') previous = c;
  }
  if (quote) throw new YamlError(source, no, `unterminated ${quote === '"' ? 'double' : 'single'}-quoted string (quoted scalars must end on their line)`);
  return raw.trimEnd();
}

function splitLines(text: string, source: string): Line[] {
  const out: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let started = false;
  for (let k = 0; k < raw.length; k++) {
    const line = raw[k]!;
    const no = k + 1;
    const indentMatch = /^[ \t]*/.exec(line)![0];
    const content = stripComment(line.slice(indentMatch.length), no, source);
    if (content === '') continue;
    if (indentMatch.includes('\t')) throw new YamlError(source, no, 'tabs are not allowed in YAML indentation; use spaces');
    if (indentMatch.length === 0 && content.startsWith('%')) throw new YamlError(source, no, 'YAML directives (%YAML, %TAG) are not supported');
    if (indentMatch.length === 0 && /^---(\s|$)/.test(content)) {
      if (started || out.length > 0) throw new YamlError(source, no, 'only one YAML document is allowed');
      started = true;
      const rest = content.slice(3).trim();
      if (rest !== '') out.push({ no, indent: 0, text: rest });
      continue;
    }
    if (indentMatch.length === 0 && /^\.\.\.(\s|$)/.test(content)) break;
    out.push({ no, indent: indentMatch.length, text: content });
  }
  return out;
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Resolves a plain scalar by the YAML 1.2 core schema. */
function resolvePlain(text: string): YamlValue {
  if (text === '' || /^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

const DOUBLE_ESCAPES: Record<string, string> = { '0': '\0', 'a': '\x07', 'b': '\b', 't': '\t', 'n': '\n', 'v': '\v', 'f': '\f', 'r': '\r', 'e': '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\' };

class FlowCursor {
  pos = 0;
  constructor(readonly text: string, readonly fail: (problem: string) => never) {}

  skipBlanks(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  quoted(): string {
    const q = this.text[this.pos]!;
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (q === "'") {
        if (c === "'") {
          if (this.text[this.pos + 1] === "'") { out += "'"; this.pos += 2; continue; }
          this.pos++;
          return out;
        }
        out += c;
        this.pos++;
        continue;
      }
      if (c === '"') { this.pos++; return out; }
      if (c === '\\') {
        const e = this.text[this.pos + 1] ?? '';
        if (e === 'x' || e === 'u' || e === 'U') {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = this.text.slice(this.pos + 2, this.pos + 2 + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`bad escape '\\${e}${hex}' in a double-quoted string`);
          out += String.fromCodePoint(parseInt(hex, 16));
          this.pos += 2 + n;
          continue;
        }
        const mapped = DOUBLE_ESCAPES[e];
        if (mapped === undefined) this.fail(`unknown escape '\\${e}' in a double-quoted string`);
        out += mapped;
        this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
    return this.fail('unterminated quoted string');
  }

  /** A plain scalar: to the end of the text, or in a flow collection to the next ',', ']', '}' (and ': ' for keys). */
  plain(inFlow: boolean, isKey: boolean): string {
    const start = this.pos;
    const first = this.peek();
    if ('&*!|>%@`'.includes(first)) this.fail(`'${first}' (anchors, aliases, tags, block scalars, reserved indicators) is not supported`);
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (inFlow && (c === ',' || c === ']' || c === '}' || c === '[' || c === '{')) break;
      if (isKey && c === ':' && (this.pos + 1 === this.text.length || ' ,]}'.includes(this.text[this.pos + 1]!))) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos).trim();
  }

  value(inFlow: boolean): YamlValue {
    this.skipBlanks();
    const c = this.peek();
    if (c === '[') return this.sequence();
    if (c === '{') return this.mapping();
    if (c === '"' || c === "'") return this.quoted();
    return resolvePlain(this.plain(inFlow, false));
  }

  sequence(): YamlValue[] {
    this.pos++;
    const out: YamlValue[] = [];
    for (;;) {
      this.skipBlanks();
      if (this.peek() === ']') { this.pos++; return out; }
      if (this.peek() === '') this.fail("a flow sequence '[...]' must close on the same line");
      out.push(this.value(true));
      this.skipBlanks();
      const c = this.peek();
      if (c === ',') { this.pos++; continue; }
      if (c === ']') { this.pos++; return out; }
      this.fail(c === '' ? "a flow sequence '[...]' must close on the same line" : `expected ',' or ']' in a flow sequence, found '${c}'`);
    }
  }

  mapping(): YamlMapping {
    this.pos++;
    const out: YamlMapping = {};
    for (;;) {
      this.skipBlanks();
      if (this.peek() === '}') { this.pos++; return out; }
      if (this.peek() === '') this.fail("a flow mapping '{...}' must close on the same line");
      const key = this.peek() === '"' || this.peek() === "'" ? this.quoted() : this.plain(true, true);
      this.skipBlanks();
      if (this.peek() !== ':') this.fail(`expected ':' after the key '${key}' in a flow mapping`);
      this.pos++;
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`duplicate key '${key}'`);
      setKey(out, key, this.value(true));
      this.skipBlanks();
      const c = this.peek();
      if (c === ',') { this.pos++; continue; }
      if (c === '}') { this.pos++; return out; }
      this.fail(c === '' ? "a flow mapping '{...}' must close on the same line" : `expected ',' or '}' in a flow mapping, found '${c}'`);
    }
  }
}

function setKey(target: YamlMapping, key: string, value: YamlValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

class BlockParser {
  private i = 0;
  constructor(private readonly lines: Line[], private readonly source: string) {}

  private fail(line: Line | undefined, problem: string): never {
    throw new YamlError(this.source, line?.no ?? (this.lines.at(-1)?.no ?? 1), problem);
  }

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const root = this.lines[0]!;
    const value = this.node();
    if (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      this.fail(line, line.indent > root.indent ? 'unexpected indentation' : 'unexpected content after the document (is the indentation consistent?)');
    }
    return value;
  }

  /** Splits 'key: rest' (rest may be empty); undefined when the line is not a mapping entry. */
  private splitKey(text: string, line: Line): { key: string; rest: string } | undefined {
    const cursor = new FlowCursor(text, (p) => this.fail(line, p));
    let key: string;
    if (text.startsWith('"') || text.startsWith("'")) {
      key = cursor.quoted();
      cursor.skipBlanks();
      if (cursor.peek() !== ':') return undefined;
    } else {
      if (text.startsWith('[') || text.startsWith('{')) return undefined;
      const m = /:( |$)/.exec(text);
      if (!m) return undefined;
      key = text.slice(0, m.index).trim();
      cursor.pos = m.index;
      if (key.startsWith('? ')) this.fail(line, "complex keys ('? ') are not supported");
    }
    const after = text.slice(cursor.pos + 1);
    if (after !== '' && !after.startsWith(' ')) return undefined;
    return { key, rest: after.trim() };
  }

  private flow(text: string, line: Line): YamlValue {
    const cursor = new FlowCursor(text, (p) => this.fail(line, p));
    const value = cursor.value(false);
    cursor.skipBlanks();
    if (cursor.pos < text.length) this.fail(line, `unexpected '${text.slice(cursor.pos)}' after the value`);
    return value;
  }

  private checkNoDeeper(indent: number): void {
    const next = this.lines[this.i];
    if (next && next.indent > indent) this.fail(next, 'unexpected indentation (multi-line scalars are not supported; quote the value on one line)');
  }

  private node(): YamlValue {
    const line = this.lines[this.i]!;
    if (isSequenceItem(line.text)) return this.sequence(line.indent);
    if (this.splitKey(line.text, line)) return this.mapping(line.indent);
    this.i++;
    const value = this.flow(line.text, line);
    this.checkNoDeeper(line.indent);
    return value;
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || !isSequenceItem(line.text)) break;
      const rest = line.text === '-' ? '' : line.text.slice(1).replace(/^ +/, '');
      if (rest === '') {
        this.i++;
        const next = this.lines[this.i];
        out.push(next && next.indent > indent ? this.node() : null);
        continue;
      }
      if (isSequenceItem(rest) || this.splitKey(rest, line)) {
        // Compact form '- key: value': the rest of the line opens a node indented to where it starts.
        this.lines[this.i] = { no: line.no, indent: indent + line.text.length - rest.length, text: rest };
        out.push(this.node());
        continue;
      }
      this.i++;
      out.push(this.flow(rest, line));
      this.checkNoDeeper(indent);
    }
    return out;
  }

  private mapping(indent: number): YamlMapping {
    const out: YamlMapping = {};
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || isSequenceItem(line.text)) break;
      const entry = this.splitKey(line.text, line);
      if (!entry) this.fail(line, `expected 'key: value' in a mapping, found '${line.text}'`);
      if (Object.prototype.hasOwnProperty.call(out, entry.key)) this.fail(line, `duplicate key '${entry.key}'`);
      this.i++;
      let value: YamlValue;
      if (entry.rest !== '') {
        value = this.flow(entry.rest, line);
        this.checkNoDeeper(indent);
      } else {
        const next = this.lines[this.i];
        if (next && next.indent > indent) value = this.node();
        else if (next && next.indent === indent && isSequenceItem(next.text)) value = this.sequence(indent);
        else value = null;
      }
      setKey(out, entry.key, value);
    }
    return out;
  }
}

/** Parses YAML text (the subset described above); `source` names the text in errors. */
export function parseYaml(text: string, source = 'YAML text'): YamlValue {
  return new BlockParser(splitLines(text, source), source).parseDocument();
}

const PLAIN_SAFE = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;

function formatScalar(value: null | boolean | number | string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  if (PLAIN_SAFE.test(value) && resolvePlain(value) === value) return value;
  if (/^[\x20-\x7e]*$/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  return JSON.stringify(value);
}

function isScalar(v: YamlValue): v is null | boolean | number | string {
  return v === null || typeof v !== 'object';
}

/** A mapping key: plain when it reads back as the same string, else quoted. */
function formatKey(key: string): string {
  return formatScalar(key);
}

function inline(v: YamlValue): string | undefined {
  if (isScalar(v)) return formatScalar(v);
  if (Array.isArray(v)) return v.every(isScalar) ? `[${v.map((x) => formatScalar(x as null | boolean | number | string)).join(', ')}]` : undefined;
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  if (keys.length <= 3 && keys.every((k) => isScalar(v[k]!))) return `{${keys.map((k) => `${formatKey(k)}: ${formatScalar(v[k] as null | boolean | number | string)}`).join(', ')}}`;
  return undefined;
}

function emit(value: YamlValue, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    for (const item of value) {
      const short = inline(item);
      if (short !== undefined) { out.push(`${pad}- ${short}`); continue; }
      const start = out.length;
      emit(item, indent + 2, out);
      out[start] = `${pad}- ${out[start]!.slice(indent + 2)}`;
    }
    return;
  }
  if (isScalar(value)) { out.push(pad + formatScalar(value)); return; }
  for (const key of Object.keys(value)) {
    const v = value[key]!;
    const short = inline(v);
    if (short !== undefined) out.push(`${pad}${formatKey(key)}: ${short}`);
    else if (Array.isArray(v) && v.length === 0) out.push(`${pad}${formatKey(key)}: []`);
    else {
      out.push(`${pad}${formatKey(key)}:`);
      emit(v, indent + 2, out);
    }
  }
}

/**
 * Writes a value as block-style YAML (2-space indentation; short scalar lists and small scalar
 * mappings in flow style), optionally preceded by comment lines. Strings are quoted whenever a plain
 * scalar would read back as something else.
 */
export function stringifyYaml(value: YamlValue, comments: string[] = []): string {
  const out = comments.map((c) => (c === '' ? '#' : `# ${c}`));
  const short = Array.isArray(value) && value.length === 0 ? '[]' : !isScalar(value) && Object.keys(value).length === 0 ? '{}' : undefined;
  if (short !== undefined) out.push(short);
  else emit(value, 0, out);
  return `${out.join('\n')}\n`;
}
