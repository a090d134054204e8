/** The HDU-by-HDU listing of inspected files (lib/inspect.ts's Inspection), newest first. */
import type { Inspection } from '../../lib/inspect.js';
import { element } from './dom.js';

export function renderInspection(inspection: Inspection): HTMLElement {
  const section = element('section', undefined, 'file');
  section.dataset.file = inspection.file;
  section.append(element('h2', inspection.file));
  const table = element('table');
  const head = element('tr');
  for (const h of ['HDU', 'type', 'EXTNAME', 'BITPIX', 'shape', 'WCS', 'centre RA, Dec (deg)']) head.append(element('th', h));
  table.append(head);
  for (const hdu of inspection.hdus) {
    const row = element('tr');
    row.dataset.hdu = String(hdu.index);
    row.append(
      element('td', String(hdu.index), 'num'),
      element('td', hdu.compressed ? `${hdu.type} (tile-compressed)` : hdu.type),
      element('td', hdu.extname ?? ''),
      element('td', String(hdu.bitpix), 'num'),
      element('td', hdu.shape.length ? hdu.shape.join(' × ') : '—'),
      element('td', hdu.wcs ? hdu.wcs.ctype.join(' ') : ''),
      element('td', hdu.wcs?.center ? `${hdu.wcs.center[0].toFixed(7)}, ${hdu.wcs.center[1].toFixed(7)}` : '', 'center'),
    );
    table.append(row);
  }
  section.append(table);
  return section;
}

export function renderFileError(name: string, message: string): HTMLElement {
  const section = element('section', undefined, 'file');
  section.append(element('h2', name), element('p', message, 'error'));
  return section;
}
