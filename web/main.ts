/**
 * The browser entry point (DESIGN.md: one entry point per host). For now: FITS files dropped or chosen
 * from disk are inspected in the kernel worker, with no server, and listed HDU by HDU with their WCS.
 * The viewer (issue 7) grows from here.
 */
import { wrap } from 'comlink';
import type { KernelWorkerApi } from './kernelWorker.js';
import type { Inspection } from '../lib/inspect.js';

const worker = wrap<KernelWorkerApi>(new Worker(new URL('./kernelWorker.ts', import.meta.url), { type: 'module' }));
const results = document.querySelector<HTMLElement>('#results')!;
const status = document.querySelector<HTMLElement>('#kernels')!;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function renderInspection(inspection: Inspection): HTMLElement {
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

async function inspectFiles(files: Iterable<File>): Promise<void> {
  for (const file of files) {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      results.prepend(renderInspection(await worker.inspect(file.name, bytes)));
    } catch (err) {
      const section = element('section', undefined, 'file');
      section.append(element('h2', file.name), element('p', (err as Error).message, 'error'));
      results.prepend(section);
    }
  }
}

const drop = document.querySelector<HTMLElement>('#drop')!;
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer) void inspectFiles(e.dataTransfer.files);
});
document.querySelector<HTMLInputElement>('#files')!.addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  if (input.files) void inspectFiles(input.files);
});

worker.kernelInfo().then(
  (info) => { status.textContent = `wasm kernels ready (${info.simd ? 'SIMD' : 'scalar'})`; status.dataset.state = 'ready'; },
  (err: Error) => { status.textContent = `wasm kernels failed to load: ${err.message}`; status.dataset.state = 'error'; },
);
