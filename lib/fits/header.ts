/**
 * FITS header: an ordered list of 80-character cards, parsed from and written to 2880-byte blocks.
 * Follows the FITS Standard 4.0 (§4): fixed-format values, logical/integer/real/complex/string values,
 * commentary cards (COMMENT, HISTORY, blank), the HIERARCH convention (ESO) for long or spaced keywords,
 * and the CONTINUE long-string convention (FITS 4.0 §4.2.1.2), with long comments split over CONTINUE
 * cards as astropy writes them. Integers beyond 2^53 become bigint; reals are written in their shortest
 * exact form. Problems (unparseable cards, unwritable values) are FitsErrors naming file and HDU.
 */
import { FitsError } from './errors.js';

export const BLOCK = 2880;
export const CARD = 80;

export type CardValue = string | number | boolean | bigint | { re: number; im: number } | null;

export interface Card {
  /** Upper-case keyword; for HIERARCH cards the words after HIERARCH joined by single spaces. */
  key: string;
  /** undefined for commentary cards; null for a value indicator with an empty value. */
  value?: CardValue;
  comment?: string;
  /** true when a numeric value was (or must be) written as a real number, e.g. `1.0`. */
  real?: boolean;
  /** true for COMMENT, HISTORY and blank-keyword cards, whose text is in `comment`. */
  commentary?: boolean;
}

const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);
const decoder = new TextDecoder('latin1');

function isStandardKey(key: string): boolean {
  return key.length <= 8 && /^[A-Z0-9_-]*$/.test(key);
}

/** Parses the value field (text after `= `); returns the value, comment and whether it was real. */
function parseValueField(text: string, fail: (p: string) => never): { value: CardValue; comment?: string; real?: boolean } {
  let i = 0;
  while (i < text.length && text[i] === ' ') i++;
  if (i >= text.length) return { value: null };
  if (text[i] === "'") {
    let s = '';
    i++;
    for (;;) {
      if (i >= text.length) fail(`unterminated string value in card "${text.trim()}"`);
      if (text[i] === "'") {
        if (text[i + 1] === "'") { s += "'"; i += 2; continue; }
        i++;
        break;
      }
      s += text[i++];
    }
    const rest = text.slice(i);
    const slash = rest.indexOf('/');
    const comment = slash >= 0 ? rest.slice(slash + 1).trim() : undefined;
    return { value: s.replace(/ +$/, ''), comment };
  }
  const slash = text.indexOf('/', i);
  const field = (slash >= 0 ? text.slice(i, slash) : text.slice(i)).trim();
  const comment = slash >= 0 ? text.slice(slash + 1).trim() : undefined;
  if (field === '') return { value: null, comment };
  if (field === 'T' || field === 'F') return { value: field === 'T', comment };
  if (field.startsWith('(')) {
    const m = /^\(\s*([^,]+?)\s*,\s*([^)]+?)\s*\)$/.exec(field);
    if (!m) fail(`malformed complex value "${field}"`);
    return { value: { re: Number(m[1]!.replace(/[dD]/, 'E')), im: Number(m[2]!.replace(/[dD]/, 'E')) }, comment, real: true };
  }
  if (/^[+-]?\d+$/.test(field)) {
    // An integer has no negative zero: "-0" is 0 (a shape product or a length compared with it stays +0).
    const n = Number(field) + 0;
    return { value: Number.isSafeInteger(n) ? n : BigInt(field), comment };
  }
  const real = Number(field.replace(/[dD]/, 'E'));
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$/.test(field) || Number.isNaN(real)) {
    fail(`unparseable value "${field}"`);
  }
  return { value: real, comment, real: true };
}

/** A value card without undefined optional fields (so cards compare cleanly with toEqual). */
function makeValueCard(key: string, parsed: { value: CardValue; comment?: string; real?: boolean }): Card {
  const card: Card = { key, value: parsed.value };
  if (parsed.comment) card.comment = parsed.comment;
  if (parsed.real) card.real = true;
  return card;
}

export class FitsHeader {
  readonly cards: Card[];

  constructor(cards: Card[] = []) {
    this.cards = cards;
  }

  /**
   * Parses header blocks starting at `offset` until the END card. `source` and `hdu` name the file and
   * HDU in errors. Returns the header and the number of bytes it occupies (a multiple of 2880).
   */
  static parse(bytes: Uint8Array, offset: number, source: string, hdu: number): { header: FitsHeader; byteLength: number } {
    const fail = (problem: string): never => { throw new FitsError(source, hdu, problem); };
    const cards: Card[] = [];
    let pos = offset;
    let ended = false;
    let pendingLong: Card | undefined;
    while (!ended) {
      if (pos + BLOCK > bytes.length) {
        fail(pos >= bytes.length ? 'header has no END card (file ends)' : `header is truncated (file ends ${bytes.length - pos} bytes into a 2880-byte block)`);
      }
      for (let c = 0; c < BLOCK / CARD; c++) {
        const start = pos + c * CARD;
        const raw = bytes.subarray(start, start + CARD);
        for (let k = 0; k < CARD; k++) {
          const b = raw[k]!;
          if (b < 0x20 || b > 0x7e) fail(`header card ${cards.length + 1} contains a non-ASCII byte (0x${b.toString(16)}): not a FITS header`);
        }
        const text = decoder.decode(raw);
        const key = text.slice(0, 8).trimEnd();
        if (key === 'END' && text.slice(8).trim() === '') { ended = true; break; }
        if (key === 'CONTINUE' && pendingLong && typeof pendingLong.value === 'string') {
          const { value, comment } = parseValueField(text.slice(8), fail);
          const s = typeof value === 'string' ? value : '';
          const prev = pendingLong.value;
          pendingLong.value = prev.slice(0, -1) + s;
          if (comment) pendingLong.comment = pendingLong.comment ? `${pendingLong.comment} ${comment}` : comment;
          if (!s.endsWith('&')) pendingLong = undefined;
          continue;
        }
        pendingLong = undefined;
        if (key === 'HIERARCH') {
          const eq = text.indexOf('=', 8);
          if (eq < 0) { cards.push({ key: 'HIERARCH', commentary: true, comment: text.slice(8).trimEnd() }); continue; }
          const hkey = text.slice(8, eq).trim().split(/\s+/).join(' ').toUpperCase();
          if (hkey === '') fail(`header card ${cards.length + 1} is a HIERARCH card without a keyword`);
          const card = makeValueCard(hkey, parseValueField(text.slice(eq + 1), fail));
          cards.push(card);
          if (typeof card.value === 'string' && card.value.endsWith('&')) pendingLong = card;
          continue;
        }
        if (!/^[A-Za-z0-9_ -]*$/.test(text.slice(0, 8)) || (key.includes(' ') && key.trim() !== '')) {
          fail(`header card ${cards.length + 1} has an illegal keyword "${text.slice(0, 8)}"`);
        }
        if (text.slice(8, 10) === '= ' && !COMMENTARY.has(key)) {
          const card = makeValueCard(key.toUpperCase(), parseValueField(text.slice(10), fail));
          cards.push(card);
          if (typeof card.value === 'string' && card.value.endsWith('&')) pendingLong = card;
        } else {
          cards.push({ key, commentary: true, comment: text.slice(8).trimEnd() });
        }
      }
      pos += BLOCK;
    }
    // A long string whose last fragment still ends in '&' keeps the ampersand, as astropy does.
    return { header: new FitsHeader(cards), byteLength: pos - offset };
  }

  private find(key: string): Card | undefined {
    const k = normaliseKey(key);
    return this.cards.find((c) => !c.commentary && c.key === k);
  }

  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  /** The value of the first card with this keyword, or undefined. */
  get(key: string): CardValue | undefined {
    return this.find(key)?.value;
  }

  getComment(key: string): string | undefined {
    return this.find(key)?.comment;
  }

  /** A numeric value; a bigint is converted only when it is exactly representable as a number. */
  getNumber(key: string): number | undefined {
    const v = this.get(key);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint' && BigInt(Number(v)) === v) return Number(v);
    return undefined;
  }

  /** An integer value (a real-valued card such as `3.0` is not an integer). */
  getInteger(key: string): number | undefined {
    const card = this.find(key);
    if (!card || card.real || typeof card.value !== 'number' || !Number.isInteger(card.value)) return undefined;
    return card.value;
  }

  getBoolean(key: string): boolean | undefined {
    const v = this.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** The keywords of all value cards, in order. */
  keys(): string[] {
    return this.cards.filter((c) => !c.commentary).map((c) => c.key);
  }

  getString(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  /**
   * Sets the first card with this keyword, or appends one. `real: true` writes an integral number
   * with a decimal point (e.g. BSCALE = 1.0).
   */
  set(key: string, value: CardValue, comment?: string, options: { real?: boolean } = {}): this {
    const k = normaliseKey(key);
    const card = this.find(k);
    const real = options.real ?? (typeof value === 'number' && !Number.isInteger(value));
    if (card) {
      card.value = value;
      if (comment !== undefined) card.comment = comment;
      if (real) card.real = true; else delete card.real;
    } else {
      const c: Card = { key: k, value };
      if (comment !== undefined) c.comment = comment;
      if (real) c.real = true;
      this.cards.push(c);
    }
    return this;
  }

  delete(key: string): void {
    const k = normaliseKey(key);
    for (let i = this.cards.length - 1; i >= 0; i--) {
      if (!this.cards[i]!.commentary && this.cards[i]!.key === k) this.cards.splice(i, 1);
    }
  }

  addCommentary(key: 'COMMENT' | 'HISTORY' | '', text: string): this {
    for (let i = 0; i < Math.max(1, text.length); i += 72) {
      this.cards.push({ key, commentary: true, comment: text.slice(i, i + 72) });
    }
    return this;
  }

  /** The text of all cards with this commentary keyword, one entry per card. */
  commentary(key: 'COMMENT' | 'HISTORY' | ''): string[] {
    return this.cards.filter((c) => c.commentary && c.key === key).map((c) => c.comment ?? '');
  }

  clone(): FitsHeader {
    return new FitsHeader(this.cards.map((c) => ({ ...c })));
  }

  /**
   * Serialises to 2880-byte blocks ending with END and space padding. A card that cannot be written
   * (non-ASCII text, a non-finite real, a keyword too long) throws a FitsError naming `source`/`hdu`.
   */
  toBytes(source = 'header', hdu?: number): Uint8Array {
    const fail = (problem: string): never => { throw new FitsError(source, hdu, problem); };
    const lines: string[] = [];
    for (const card of this.cards) lines.push(...formatCard(card, fail));
    lines.push('END'.padEnd(CARD));
    const nBlocks = Math.ceil((lines.length * CARD) / BLOCK);
    const out = new Uint8Array(nBlocks * BLOCK).fill(0x20);
    lines.forEach((line, i) => {
      for (let k = 0; k < CARD; k++) out[i * CARD + k] = line.charCodeAt(k);
    });
    return out;
  }
}

function normaliseKey(key: string): string {
  let k = key.trim().toUpperCase();
  if (k.startsWith('HIERARCH ')) k = k.slice(9).trim();
  return k.split(/\s+/).join(' ');
}

type FormatFail = (problem: string) => never;

function formatReal(v: number, fail: FormatFail): string {
  if (!Number.isFinite(v)) fail(`FITS cannot represent the real value ${v} in a header`);
  let s = String(v).toUpperCase();
  if (!/[.E]/.test(s)) s += '.0';
  else if (/E/.test(s) && !/\./.test(s)) s = s.replace('E', '.0E');
  return s;
}

/** The value field of a non-string card; fixed format (right-justified to column 30) for standard keys. */
function formatValue(card: Card, width: number, fail: FormatFail): string {
  const v = card.value;
  let s: string;
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') s = v ? 'T' : 'F';
  else if (typeof v === 'bigint') s = v.toString();
  else if (typeof v === 'number') s = card.real || !Number.isInteger(v) ? formatReal(v, fail) : String(v);
  else if (typeof v === 'object') s = `(${formatReal(v.re, fail)}, ${formatReal(v.im, fail)})`;
  else fail(`card ${card.key} has a string value where a number was expected`);
  return s!.padStart(width);
}

function assertPrintable(text: string, key: string, fail: FormatFail): void {
  if (!/^[\x20-\x7e]*$/.test(text)) fail(`header card ${key}: only printable ASCII is allowed in FITS headers`);
}

/** One card as one or more 80-character lines (CONTINUE for long strings). */
function formatCard(card: Card, fail: FormatFail): string[] {
  const comment = card.comment ?? '';
  assertPrintable(comment, card.key, fail);
  assertPrintable(card.key, card.key, fail);
  if (card.commentary) return [(card.key.padEnd(8) + comment).slice(0, CARD).padEnd(CARD)];
  if (typeof card.value === 'string') assertPrintable(card.value, card.key, fail);
  const standard = isStandardKey(card.key);
  const prefix = standard ? `${card.key.padEnd(8)}= ` : `HIERARCH ${card.key} = `;
  // A string needs room for at least one character between its quotes (and the '&' of a CONTINUE).
  if (prefix.length > CARD - 5) fail(`header keyword "${card.key}" is too long for one card`);
  if (typeof card.value === 'string') {
    const quoted = `'${card.value.replace(/'/g, "''").padEnd(8)}'`;
    const room = CARD - prefix.length;
    if (quoted.length <= room) return [withComment(prefix + (standard ? quoted.padEnd(20) : quoted), comment, fail)];
    return formatLongString(prefix, card.value, comment);
  }
  const body = prefix + formatValue(card, standard ? 20 : 0, fail);
  if (body.length > CARD) fail(`header card ${card.key}: the value does not fit in 80 characters`);
  return [withComment(body, comment, fail)];
}

function withComment(body: string, comment: string, fail: FormatFail): string {
  if (body.length > CARD) fail(`header card "${body.slice(0, 20)}..." exceeds 80 characters`);
  if (!comment) return body.padEnd(CARD);
  return `${body} / ${comment}`.slice(0, CARD).padEnd(CARD);
}

/** Splits text into pieces of at most `room` characters, breaking at spaces (which are dropped) when possible. */
function splitWords(text: string, room: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > room) {
    // Like astropy's _words_group: break at the last blank before column `room`.
    let cut = rest.lastIndexOf(' ', room - 1);
    if (cut <= 0) cut = room;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}

/**
 * Splits a long string over CONTINUE cards; each fragment but the last ends with '&'. A comment that
 * does not fit on the last card goes on extra `CONTINUE  '&' / ...` cards, broken at spaces, as
 * astropy writes it (readers join CONTINUE comments with single spaces).
 */
function formatLongString(prefix: string, value: string, comment: string): string[] {
  const lines: string[] = [];
  let rest = value;
  let head = prefix;
  while (rest.length > 0) {
    const room = CARD - head.length - 3; // two quotes and the '&'
    let take = Math.min(rest.length, room);
    // Do not split a doubled quote across cards.
    let piece = rest.slice(0, take);
    let escaped = piece.replace(/'/g, "''");
    while (escaped.length > room) {
      take--;
      piece = rest.slice(0, take);
      escaped = piece.replace(/'/g, "''");
    }
    rest = rest.slice(take);
    const last = rest.length === 0;
    lines.push(`${head}'${escaped}${last ? '' : '&'}'`.padEnd(CARD));
    head = 'CONTINUE  ';
  }
  if (comment.trim()) {
    const lastLine = lines[lines.length - 1]!.trimEnd();
    if (lastLine.length + 3 + comment.length <= CARD) lines[lines.length - 1] = `${lastLine} / ${comment}`.padEnd(CARD);
    else {
      lines[lines.length - 1] = lastLine.replace(/'$/, "&'").padEnd(CARD);
      const pieces = splitWords(comment, CARD - "CONTINUE  '&' / ".length);
      pieces.forEach((piece, i) => {
        const marker = i === pieces.length - 1 ? "''" : "'&'";
        lines.push(`CONTINUE  ${marker} / ${piece}`.padEnd(CARD));
      });
    }
  }
  return lines;
}
