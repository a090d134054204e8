/**
 * FITS writer (FITS Standard 4.0 §3-§5): image HDUs, binary tables (via bintable.ts) and prepared HDUs into one file,
 * with the mandatory keywords first and in order (SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, EXTEND or
 * PCOUNT/GCOUNT), headers padded with spaces and data with zeros to 2880-byte blocks, big-endian data,
 * and optionally DATASUM/CHECKSUM (FITS checksum convention) on every HDU. Output is deterministic.
 */
import { FitsError } from './errors.js';
import { BLOCK, FitsHeader, type Card } from './header.js';
import { encodePixels, losslessEncoding, type EncodeOptions, type ImageArray } from './image.js';
import { addSums, CHECKSUM_PLACEHOLDER, encodeChecksum, onesComplementSum } from './checksum.js';
import { describeHdu } from './file.js';
import { gzipBytes } from './gzip.js';
import { writeBinTable, type BinTableSpec } from './bintable.js';
import { compressImageHdu, type CompressibleArray, type TileCompression } from './compressImage.js';

export interface ImageHduSpec {
  kind?: 'image';
  /** Pixels row-major (NAXIS1 fastest); absent or null for an HDU without data. */
  data?: ImageArray | null;
  /** Axes slowest first ([ny, nx]); defaults to [data.length]. */
  shape?: number[];
  /** Other cards to write; structural and scaling keywords in it are replaced. */
  header?: FitsHeader;
  extname?: string;
  /** Stored BITPIX and scaling (quantisation); default: lossless in the array's natural BITPIX. */
  encode?: EncodeOptions;
  /** Write the image tile-compressed (lib/fits/compressImage.ts: lossless, 2-D, an extension, no `encode`). */
  compress?: TileCompression;
}

/** A prepared extension: a complete header (XTENSION first) and its unpadded data, e.g. from writeBinTable. */
export interface RawHduSpec {
  kind: 'raw';
  header: FitsHeader;
  data: Uint8Array;
}

/** A binary table (lib/fits/bintable.ts), with optional extra header cards (column keywords are its own). */
export interface TableHduSpec {
  kind: 'table';
  table: BinTableSpec;
  header?: FitsHeader;
}

export type HduSpec = ImageHduSpec | TableHduSpec | RawHduSpec;

export interface WriteOptions {
  /** Write DATASUM and CHECKSUM in every HDU. */
  checksum?: boolean;
  /** Gzip the whole file (`.fits.gz`). */
  gzip?: boolean;
  /** Name used in error messages. */
  name?: string;
}

const STRUCTURAL = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|BSCALE|BZERO|BLANK|CHECKSUM|DATASUM|END)$/;

/** An HDU ready to write: its header, its data's size, and how to write the data (unpadded) into the file. */
interface PreparedHdu {
  header: FitsHeader;
  size: number;
  fill(target: Uint8Array): void;
}

function prepareImage(spec: ImageHduSpec, index: number, name: string): PreparedHdu {
  const fail = (problem: string): never => { throw new FitsError(name, index, problem); };
  if (spec.compress) {
    if (index === 0) fail('the primary HDU cannot be tile-compressed');
    if (spec.encode) fail('a tile-compressed image is stored as it is held (no encode options)');
    const data = spec.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof Int16Array || data instanceof Uint8Array)) {
      return fail(`only unscaled 8-, 16-, 32-bit integer and float images are tile-compressed (got ${data ? data.constructor.name : 'no data'})`);
    }
    const header = new FitsHeader();
    appendUserCards(header, spec.header);
    if (spec.extname !== undefined) header.set('EXTNAME', spec.extname, 'extension name');
    try {
      const hdu = compressImageHdu(data as CompressibleArray, spec.shape ?? [data.length], header, spec.compress, name);
      return prepareRaw({ kind: 'raw', ...hdu }, index, name);
    } catch (e) {
      if (e instanceof FitsError) throw new FitsError(name, index, e.problem);
      throw e;
    }
  }
  const data = spec.data ?? null;
  const shape = spec.shape ?? (data ? [data.length] : []);
  for (const n of shape) if (!Number.isSafeInteger(n) || n < 0) fail(`image shape [${shape.join(', ')}] must hold non-negative integers`);
  if (shape.length > 999) fail(`an image has at most 999 axes (asked for ${shape.length})`);
  const count = shape.length === 0 ? 0 : shape.reduce((a, b) => a * b, 1);
  if ((data?.length ?? 0) !== count) fail(`image shape [${shape.join(', ')}] holds ${count} pixels but the data have ${data?.length ?? 0}`);
  // A lossless encoding is written straight into the file when it is assembled; a converting one now.
  const lossless = data ? losslessEncoding(data, spec.encode) : undefined;
  const encoded = data && !lossless ? encodePixels(data, spec.encode, name, index) : undefined;
  const scaling = lossless ? (lossless.bzero === undefined ? {} : { bscale: 1, bzero: lossless.bzero }) : encoded ?? {};
  const h = new FitsHeader();
  if (index === 0) h.set('SIMPLE', true, 'conforms to FITS standard');
  else h.set('XTENSION', 'IMAGE', 'Image extension');
  h.set('BITPIX', lossless?.bitpix ?? encoded?.bitpix ?? (spec.encode?.bitpix ?? 8), 'array data type');
  h.set('NAXIS', shape.length, 'number of array dimensions');
  [...shape].reverse().forEach((n, i) => h.set(`NAXIS${i + 1}`, n));
  if (index === 0) h.set('EXTEND', true);
  else { h.set('PCOUNT', 0, 'number of parameters'); h.set('GCOUNT', 1, 'number of groups'); }
  appendUserCards(h, spec.header);
  if ('bscale' in scaling && scaling.bscale !== undefined) h.set('BSCALE', scaling.bscale, undefined, { real: !Number.isInteger(scaling.bscale) });
  if ('bzero' in scaling && scaling.bzero !== undefined) h.set('BZERO', scaling.bzero, undefined, { real: typeof scaling.bzero === 'number' && !Number.isInteger(scaling.bzero) });
  if (encoded && 'blank' in encoded && encoded.blank !== undefined) h.set('BLANK', encoded.blank);
  if (spec.extname !== undefined) h.set('EXTNAME', spec.extname, 'extension name');
  if (data && lossless) return { header: h, size: data.byteLength, fill: (target) => { encodePixels(data, spec.encode, name, index, target); } };
  const bytes = encoded?.bytes ?? new Uint8Array(0);
  return { header: h, size: bytes.length, fill: (target) => target.set(bytes) };
}

function appendUserCards(target: FitsHeader, user: FitsHeader | undefined): void {
  if (!user) return;
  for (const card of user.cards) {
    if (!card.commentary && STRUCTURAL.test(card.key)) continue;
    target.cards.push({ ...card } as Card);
  }
}

/** Keywords that describe table columns: they come from writeBinTable, never from the extra header. */
const COLUMN_KEYS = /^(TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP|DMIN|DMAX|LMIN|LMAX)\d+)$/;

function prepareTable(spec: TableHduSpec, index: number, name: string): PreparedHdu {
  let written: { header: FitsHeader; data: Uint8Array };
  try {
    written = writeBinTable(spec.table);
  } catch (e) {
    if (e instanceof FitsError) throw new FitsError(name, index, e.problem);
    throw e;
  }
  const header = written.header;
  if (spec.header) {
    for (const card of spec.header.cards) {
      if (!card.commentary && (STRUCTURAL.test(card.key) || COLUMN_KEYS.test(card.key))) continue;
      if (!card.commentary && header.has(card.key)) header.set(card.key, card.value ?? null, card.comment, { real: card.real === true });
      else header.cards.push({ ...card });
    }
  }
  return prepareRaw({ kind: 'raw', header, data: written.data }, index, name);
}

function prepareRaw(spec: RawHduSpec, index: number, name: string): PreparedHdu {
  const header = spec.header.clone();
  header.delete('CHECKSUM');
  header.delete('DATASUM');
  const info = describeHdu(name, index, header, 0, 0);
  if (info.dataSize !== spec.data.length) {
    throw new FitsError(name, index, `the header declares ${info.dataSize} data bytes but ${spec.data.length} were given`);
  }
  return { header, size: spec.data.length, fill: (target) => target.set(spec.data) };
}

/** The header's bytes with DATASUM and CHECKSUM for its data (written already). */
function withChecksum(header: FitsHeader, data: Uint8Array, name: string, index: number): Uint8Array {
  const dataSum = onesComplementSum(data);
  header.set('CHECKSUM', CHECKSUM_PLACEHOLDER, 'HDU checksum');
  header.set('DATASUM', String(dataSum), 'data unit checksum');
  const sum = addSums(onesComplementSum(header.toBytes(name, index)), dataSum);
  header.set('CHECKSUM', encodeChecksum(sum));
  return header.toBytes(name, index);
}

/** Serialises HDUs into a FITS file. A first HDU that is not an image gets an empty primary HDU before it. */
export function writeFits(hdus: HduSpec[], options: WriteOptions = {}): Uint8Array {
  const name = options.name ?? 'written FITS';
  const first = hdus[0];
  const specs: HduSpec[] = !first || first.kind === 'raw' || first.kind === 'table' ? [{ kind: 'image' }, ...hdus] : hdus;
  const prepared = specs.map((spec, index) => (spec.kind === 'raw' ? prepareRaw(spec, index, name)
    : spec.kind === 'table' ? prepareTable(spec, index, name)
      : prepareImage(spec, index, name)));
  // The header's size is known before its checksum cards get their values (fixed-width cards).
  const headerSizes = prepared.map((hdu, index) => {
    if (options.checksum) {
      hdu.header.set('CHECKSUM', CHECKSUM_PLACEHOLDER, 'HDU checksum');
      hdu.header.set('DATASUM', '0', 'data unit checksum');
    }
    return hdu.header.toBytes(name, index).length;
  });
  const total = prepared.reduce((t, hdu, index) => t + headerSizes[index]! + Math.ceil(hdu.size / BLOCK) * BLOCK, 0);
  // Each HDU's data is written in place in the file (zero padding: the array starts zeroed), then its header.
  const out = new Uint8Array(total);
  let at = 0;
  prepared.forEach((hdu, index) => {
    const data = out.subarray(at + headerSizes[index]!, at + headerSizes[index]! + hdu.size);
    hdu.fill(data);
    const headerBytes = options.checksum ? withChecksum(hdu.header, data, name, index) : hdu.header.toBytes(name, index);
    if (headerBytes.length !== headerSizes[index]) throw new FitsError(name, index, `header size changed from ${headerSizes[index]} to ${headerBytes.length} bytes (a writer bug)`);
    out.set(headerBytes, at);
    at += headerBytes.length + Math.ceil(hdu.size / BLOCK) * BLOCK;
  });
  return options.gzip ? gzipBytes(out) : out;
}
