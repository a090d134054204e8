/**
 * FITS checksums (FITS Standard 4.0 Appendix J; Seaman, Pence & Rots, "The FITS Checksum Keyword
 * Convention"): the 32-bit ones'-complement sum of an HDU's big-endian words. DATASUM holds the sum of
 * the data records as an unsigned decimal string; CHECKSUM holds the complement of the whole HDU's sum
 * encoded as 16 ASCII characters, so that the HDU, header included, sums to -0 (0xFFFFFFFF).
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO32 = 2 ** 32;
/** Words summed between carry folds: 2^20 words of < 2^32 stay below 2^53, exact in a double. */
const FOLD_EVERY = 1 << 20;

function fold(acc: number): number {
  while (acc >= TWO32) acc = (acc % TWO32) + Math.floor(acc / TWO32);
  return acc;
}

/**
 * Ones'-complement sum of `bytes` read as big-endian 32-bit words (a partial last word is padded with
 * zeros, as FITS padding would), added to `initial` (another such sum). Returns an unsigned 32-bit value.
 */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  const nWords = bytes.length >>> 2;
  let acc = initial;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, nWords);
    for (let start = 0; start < nWords; start += FOLD_EVERY) {
      const end = Math.min(nWords, start + FOLD_EVERY);
      let part = 0;
      for (let i = start; i < end; i++) {
        const w = words[i]!;
        part += ((w << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
      }
      acc = fold(acc + part);
    }
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let start = 0; start < nWords; start += FOLD_EVERY) {
      const end = Math.min(nWords, start + FOLD_EVERY);
      let part = 0;
      for (let i = start; i < end; i++) part += view.getUint32(i * 4, false);
      acc = fold(acc + part);
    }
  }
  const tail = bytes.length & 3;
  if (tail) {
    let w = 0;
    for (let k = 0; k < 4; k++) w = w * 256 + (k < tail ? bytes[nWords * 4 + k]! : 0);
    acc = fold(acc + w);
  }
  return acc;
}

/** Ones'-complement addition of two sums. */
export function addSums(a: number, b: number): number {
  return fold(a + b);
}

const EXCLUDED = new Set([0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60]);

/**
 * Encodes the complement of `sum` as the 16-character CHECKSUM value (alphanumeric only, rotated one
 * place because the value starts at byte 11 of its card, i.e. one byte before a word boundary).
 */
export function encodeChecksum(sum: number): string {
  const value = ~sum >>> 0;
  const ascii = new Array<number>(16);
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> ((3 - i) * 8)) & 0xff;
    const quotient = (byte >>> 2) + 0x30;
    const ch = [quotient + (byte & 3), quotient, quotient, quotient];
    for (let changed = true; changed;) {
      changed = false;
      for (let j = 0; j < 4; j += 2) {
        while (EXCLUDED.has(ch[j]!) || EXCLUDED.has(ch[j + 1]!)) {
          ch[j]!++;
          ch[j + 1]!--;
          changed = true;
        }
      }
    }
    for (let j = 0; j < 4; j++) ascii[4 * j + i] = ch[j]!;
  }
  let out = '';
  for (let i = 0; i < 16; i++) out += String.fromCharCode(ascii[(i + 15) % 16]!);
  return out;
}

/** The CHECKSUM placeholder written before the sum is known: sixteen ASCII zeros. */
export const CHECKSUM_PLACEHOLDER = '0000000000000000';

export type ChecksumState = 'ok' | 'mismatch' | 'absent';

export interface HduChecksumResult {
  hdu: number;
  /** DATASUM: the data records' sum against the keyword. */
  datasum: ChecksumState;
  /** CHECKSUM: the whole HDU sums to -0. */
  checksum: ChecksumState;
  /** Human-readable explanation when something is a mismatch. */
  problem?: string;
}

/**
 * Checks DATASUM and CHECKSUM of one HDU given its raw header bytes (exactly as stored), its data
 * bytes (padding may be omitted: zero padding does not change the sum) and the keyword values.
 */
export function verifyHduChecksum(
  hdu: number,
  headerBytes: Uint8Array,
  data: Uint8Array,
  datasumKeyword: string | undefined,
  checksumKeyword: string | undefined,
): HduChecksumResult {
  const dataSum = datasumKeyword !== undefined || checksumKeyword !== undefined ? onesComplementSum(data) : 0;
  const problems: string[] = [];
  let datasum: ChecksumState = 'absent';
  if (datasumKeyword !== undefined) {
    const expected = /^\s*\d+\s*$/.test(datasumKeyword) ? Number(datasumKeyword) : NaN;
    datasum = expected === dataSum ? 'ok' : 'mismatch';
    if (datasum === 'mismatch') problems.push(`DATASUM is '${datasumKeyword}' but the data sum to ${dataSum}`);
  }
  let checksum: ChecksumState = 'absent';
  if (checksumKeyword !== undefined) {
    const total = addSums(onesComplementSum(headerBytes), dataSum);
    checksum = total === 0xffffffff ? 'ok' : 'mismatch';
    if (checksum === 'mismatch') problems.push(`CHECKSUM '${checksumKeyword}' does not verify (the HDU sums to 0x${total.toString(16)}, not -0)`);
  }
  const result: HduChecksumResult = { hdu, datasum, checksum };
  if (problems.length) result.problem = problems.join('; ');
  return result;
}
