/**
 * mergeCoaddMeasurements: the reference band of every object of a patch (LSST pipe_tasks
 * MergeMeasurementsTask): per row (every band measured the same rows, lib/tasks/measureCoaddSources.ts),
 * the first band in priority order (priorityList i, r, z, y, g, then the rest alphabetically, as
 * mergeCoaddDetections) whose PSF-flux S/N is at least minSN (10) and whose measurement has none of
 * `flags` set (interpolated centre, PSF flux, Kron flux; LSST also CModel) is the reference; with none,
 * the band of highest S/N, and with no positive S/N anywhere the first band. As LSST, a priority band
 * below minSN gives way to a band whose S/N is higher by more than minSNDiff (3).
 * Output: deepCoadd_ref, the reference band's measurement of each row (every column) with
 * merge_measurement_<band> naming the band chosen (REFBANDS: the bands, in priority order).
 */
import { FitsHeader } from '../fits/header.js';
import type { Column, SourceCatalog } from '../measure/sourceCatalog.js';
import { mergeOrder } from '../coadd/mergeDetections.js';
import { badInput, inputBand, type Task } from '../pipeline/task.js';

export interface MergeCoaddMeasurementsConfig {
  priorityList: readonly string[];
  minSN: number;
  minSNDiff: number;
  flags: readonly string[];
}

export interface MergeCoaddMeasurementsInputs {
  catalogs: SourceCatalog[];
}

export interface MergeCoaddMeasurementsOutputs {
  outputCatalog: SourceCatalog;
}

/** Per row, the index (into `bands`, priority-ordered catalogues) of the reference band. */
export function chooseReferenceBands(catalogs: readonly SourceCatalog[], config: Pick<MergeCoaddMeasurementsConfig, 'minSN' | 'minSNDiff' | 'flags'>): Int32Array {
  const rows = catalogs[0]!.length;
  const choice = new Int32Array(rows);
  const sn = catalogs.map((c) => {
    const f = c.columns.base_PsfFlux_instFlux as Float64Array, e = c.columns.base_PsfFlux_instFluxErr as Float64Array;
    return Float64Array.from({ length: rows }, (_, k) => {
      const v = f[k]! / e[k]!;
      return Number.isFinite(v) ? v : 0;
    });
  });
  const flagged = catalogs.map((c) => config.flags.map((name) => c.columns[name] as boolean[] | undefined).filter((v): v is boolean[] => v !== undefined));
  for (let k = 0; k < rows; k++) {
    let best = -1, bestSN = 0, priority = -1;
    for (let b = 0; b < catalogs.length; b++) {
      const s = sn[b]![k]!;
      if (s > bestSN) { bestSN = s; best = b; }
      if (priority < 0 && s >= config.minSN && !flagged[b]!.some((f) => f[k])) priority = b;
    }
    if (priority >= 0 && !(sn[priority]![k]! < config.minSN && bestSN - sn[priority]![k]! > config.minSNDiff)) choice[k] = priority;
    else choice[k] = best >= 0 ? best : 0;
  }
  return choice;
}

export const mergeCoaddMeasurements: Task<MergeCoaddMeasurementsConfig, MergeCoaddMeasurementsInputs, MergeCoaddMeasurementsOutputs> = {
  name: 'mergeCoaddMeasurements',
  summary: 'Choose each object\'s reference band (priority i, r, z, y, g with S/N >= 10 and clean flags) and keep that band\'s measurement.',
  dimensions: ['skymap', 'tract', 'patch'],
  connections: {
    inputs: {
      catalogs: { datasetType: 'deepCoadd_meas', dimensions: ['band', 'skymap', 'tract', 'patch'], storageClass: 'SourceCatalog', multiple: true, minimum: 1, doc: 'Every band\'s measurement of the merged sources.' },
    },
    outputs: {
      outputCatalog: { datasetType: 'deepCoadd_ref', dimensions: ['skymap', 'tract', 'patch'], storageClass: 'SourceCatalog', doc: 'The reference band\'s measurement of each object.' },
    },
  },
  config: {
    priorityList: { type: 'stringList', default: ['i', 'r', 'z', 'y', 'g'], description: 'Bands in order of preference (HSC: i, r, z, y, g); others follow alphabetically.' },
    minSN: { type: 'number', min: 0, default: 10, description: 'Least PSF-flux S/N of a reference band (LSST 10).' },
    minSNDiff: { type: 'number', min: 0, default: 3, description: 'A band this much higher in S/N wins over a priority band below minSN (LSST 3).' },
    flags: {
      type: 'stringList', default: ['base_PixelFlags_flag_interpolatedCenter', 'base_PsfFlux_flag', 'ext_photometryKron_KronFlux_flag'],
      description: 'Flags that must be unset in a reference band (LSST: interpolatedCenter, PsfFlux, Kron, CModel).',
    },
  },

  run(inputs, config, context) {
    const bandOf = inputs.catalogs.map((c, k) => inputBand(mergeCoaddMeasurements, context, 'catalogs', k, c.metadata));
    const bands = mergeOrder(bandOf, config.priorityList);
    const catalogs = bands.map((b) => inputs.catalogs[bandOf.indexOf(b)]!);
    const first = catalogs[0]!;
    const ids = first.columns.id as Int32Array;
    catalogs.forEach((c, b) => {
      const k = bandOf.indexOf(bands[b]!);
      if (c.length !== first.length) throw badInput(mergeCoaddMeasurements, context, 'catalogs', `band ${bands[b]} has ${c.length} rows, band ${bands[0]} ${first.length}: not measured from the same merged detections`, k);
      const other = c.columns.id as Int32Array;
      for (let r = 0; r < c.length; r++) if (other[r] !== ids[r]) throw badInput(mergeCoaddMeasurements, context, 'catalogs', `row ${r} has id ${other[r]}, band ${bands[0]}'s ${ids[r]}`, k);
    });
    const choice = chooseReferenceBands(catalogs, config);
    const columns: Record<string, Column> = {};
    for (const [name, values] of Object.entries(first.columns)) {
      const pick = (r: number): unknown => (catalogs[choice[r]!]!.columns[name] as ArrayLike<unknown> | undefined)?.[r];
      if (Array.isArray(values)) columns[name] = Array.from({ length: first.length }, (_, r) => pick(r) === true);
      else if (values instanceof Int32Array) columns[name] = Int32Array.from({ length: first.length }, (_, r) => Number(pick(r) ?? 0));
      else columns[name] = Float64Array.from({ length: first.length }, (_, r) => Number(pick(r) ?? NaN));
    }
    bands.forEach((band, b) => { columns[`merge_measurement_${band}`] = Array.from(choice, (c) => c === b); });
    const metadata = new FitsHeader();
    for (const key of ['TRACT', 'PATCH', 'X0', 'Y0', 'BUNIT', 'FLUXNORM']) {
      const card = first.metadata?.cards.find((c) => c.key === key && !c.commentary);
      if (card) metadata.cards.push({ ...card });
    }
    metadata.set('REFBANDS', bands.join(','), 'bands, in priority order');
    const counts = bands.map((band, b) => `${band} ${choice.filter((c) => c === b).length}`).join(', ');
    context.log.info(`reference bands of ${first.length} objects: ${counts}`, { objects: first.length });
    return { outputCatalog: { length: first.length, columns, metadata } };
  },
};
