/**
 * inspectFits: what `tessera inspect` prints and the browser's file panel shows. For every HDU: index,
 * type, EXTNAME, BITPIX and shape; for an image HDU with a celestial WCS, the RA/Dec (degrees) of the
 * centre pixel ((NX+1)/2, (NY+1)/2) and of the corner pixel centres (1,1), (NX,1), (NX,NY), (1,NY), all
 * FITS 1-based (converted to the WCS module's 0-based convention here). A tile-compressed HDU reports
 * as IMAGE with its ZNAXISn shape; an HDU whose header has a WCS but no pixels reports no centre.
 */
import { openFits, type ByteSource, type HduInfo } from './fits/index.js';
import { parseWcs } from './wcs/index.js';

export interface InspectedWcs {
  ctype: string[];
  center?: [number, number];
  corners?: [number, number][];
}

export interface InspectedHdu {
  index: number;
  type: string;
  extname: string | null;
  bitpix: number;
  /** Image axes slowest first ([ny, nx]); for tables [rows, row bytes]. */
  shape: number[];
  compressed?: true;
  /** Tables only: the number of columns. */
  columns?: number;
  wcs?: InspectedWcs;
}

export interface Inspection {
  file: string;
  hdus: InspectedHdu[];
}

function inspectWcs(name: string, hdu: HduInfo): InspectedWcs | undefined {
  if (hdu.type !== 'IMAGE') return undefined;
  const wcs = parseWcs(hdu.imageHeader, { source: name, hdu: hdu.index });
  if (!wcs) return undefined;
  const result: InspectedWcs = { ctype: [...wcs.ctype] };
  const [ny, nx] = [hdu.shape[hdu.shape.length - 2] ?? 0, hdu.shape[hdu.shape.length - 1] ?? 0];
  if (hdu.shape.length < 2 || nx <= 0 || ny <= 0) return result;
  // FITS 1-based pixel (i, j) is 0-based (i - 1, j - 1).
  const sky = (i: number, j: number): [number, number] => wcs.pixelToSky(i - 1, j - 1);
  result.center = sky((nx + 1) / 2, (ny + 1) / 2);
  result.corners = [sky(1, 1), sky(nx, 1), sky(nx, ny), sky(1, ny)];
  return result;
}

export async function inspectFits(source: ByteSource): Promise<Inspection> {
  const file = await openFits(source);
  try {
    const hdus = file.hdus.map((hdu): InspectedHdu => {
      const entry: InspectedHdu = {
        index: hdu.index,
        type: hdu.type,
        extname: hdu.extname ?? null,
        bitpix: hdu.bitpix,
        shape: hdu.shape,
      };
      if (hdu.compressed) entry.compressed = true;
      if (hdu.type === 'BINTABLE' || hdu.type === 'TABLE') entry.columns = hdu.header.getNumber('TFIELDS') ?? 0;
      const wcs = inspectWcs(file.name, hdu);
      if (wcs) entry.wcs = wcs;
      return entry;
    });
    return { file: file.name, hdus };
  } finally {
    await file.close();
  }
}

const deg = (v: number, sign = false): string => (sign && v >= 0 ? '+' : '') + v.toFixed(7);

/** The human-readable form: one line per HDU, then the WCS centre and corners indented below it. */
export function formatInspection(inspection: Inspection): string {
  const lines = [`${inspection.file}`, 'HDU  TYPE      EXTNAME           BITPIX  SHAPE'];
  for (const h of inspection.hdus) {
    const shape = h.shape.length ? h.shape.join(' x ') : '(no data)';
    const kind = h.compressed ? `${h.type}*` : h.type;
    const extra = h.columns !== undefined ? `  (${h.columns} columns)` : '';
    lines.push(`${String(h.index).padEnd(4)} ${kind.padEnd(9)} ${(h.extname ?? '').padEnd(17)} ${String(h.bitpix).padStart(6)}  ${shape}${extra}`);
    if (h.wcs) {
      lines.push(`     WCS ${h.wcs.ctype.join(' ')}`);
      if (h.wcs.center) lines.push(`     centre   RA ${deg(h.wcs.center[0]).padStart(12)}  Dec ${deg(h.wcs.center[1], true).padStart(12)}`);
      h.wcs.corners?.forEach(([ra, dec], k) => lines.push(`     corner ${k + 1} RA ${deg(ra).padStart(12)}  Dec ${deg(dec, true).padStart(12)}`));
    }
  }
  if (inspection.hdus.some((h) => h.compressed)) lines.push('* tile-compressed image (shape and BITPIX of the uncompressed image)');
  return lines.join('\n');
}
