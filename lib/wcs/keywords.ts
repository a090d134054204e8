/**
 * Typed access to the WCS keywords of one coordinate description (primary, or alternate 'A'..'Z'; Paper I
 * §2.1, where every keyword except CROTAi and the SIP ones carries the letter as a suffix). Every malformed
 * value fails with a WcsError naming the source, HDU, WCS letter and keyword.
 */
import type { FitsHeader } from '../fits/header.js';
import { WcsError } from './errors.js';

export class WcsKeywords {
  constructor(
    readonly header: FitsHeader,
    /** '' for the primary description, else 'A'..'Z'. */
    readonly alt: string,
    readonly source: string,
    readonly hdu: number | undefined,
  ) {}

  fail(problem: string): never {
    throw new WcsError(this.source, this.hdu, this.alt, problem);
  }

  /** The keyword with this description's letter appended (`CRPIX1` -> `CRPIX1A`). */
  key(base: string): string {
    return base + this.alt;
  }

  has(base: string): boolean {
    return this.header.has(this.key(base));
  }

  /** A numeric keyword (with the letter appended), or `fallback` when absent or blank. */
  number(base: string, fallback: number): number;
  number(base: string): number | undefined;
  number(base: string, fallback?: number): number | undefined {
    return this.numberExact(this.key(base), fallback);
  }

  /** A numeric keyword under exactly this name (no letter appended: CROTAi, A_ORDER, A_p_q, ...). */
  numberExact(key: string, fallback: number): number;
  numberExact(key: string, fallback?: number): number | undefined;
  numberExact(key: string, fallback?: number): number | undefined {
    if (!this.header.has(key)) return fallback;
    const v = this.header.get(key);
    if (v === null || v === undefined) return fallback;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) this.fail(`${key} = ${v} is not a finite number`);
      return v;
    }
    if (typeof v === 'bigint') return Number(v);
    return this.fail(`${key} = ${formatValue(v)} is not a number`);
  }

  /** A string keyword (with the letter appended), trimmed; undefined when absent. */
  string(base: string): string | undefined {
    const key = this.key(base);
    if (!this.header.has(key)) return undefined;
    const v = this.header.get(key);
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(`${key} = ${formatValue(v)} is not a string`);
    return v.trim();
  }

  /**
   * All PVi_m keywords of this description for axis i, by m. Keys that do not parse (e.g. `PV1_X`) are
   * ignored, as wcslib ignores them.
   */
  projectionParameters(axis: number): Map<number, number> {
    const out = new Map<number, number>();
    const re = new RegExp(`^PV${axis}_(\\d+)${this.alt}$`);
    for (const card of this.header.cards) {
      if (card.commentary) continue;
      const m = re.exec(card.key);
      if (!m) continue;
      const value = this.numberExact(card.key);
      if (value !== undefined) out.set(Number(m[1]), value);
    }
    return out;
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}
