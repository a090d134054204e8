/**
 * The registry of Tessera's tasks by name, as pipeline YAML files and the executor refer to them:
 * buildBias, buildDark, buildFlat (calibration products), isr, characterizeImage, calibrate, makeWarp, assembleCoadd, detectCoaddSources,
 * mergeCoaddDetections, measureCoaddSources, mergeCoaddMeasurements, forcedPhotCoadd and writeObjectTable. `getTask` throws UnknownTaskError
 * naming the known tasks.
 */
import { buildBias } from '../tasks/buildBias.js';
import { buildDark } from '../tasks/buildDark.js';
import { buildFlat } from '../tasks/buildFlat.js';
import { isr } from '../tasks/isr.js';
import { characterizeImage } from '../tasks/characterizeImage.js';
import { calibrate } from '../tasks/calibrate.js';
import { makeWarp } from '../tasks/makeWarp.js';
import { assembleCoadd } from '../tasks/assembleCoadd.js';
import { detectCoaddSources } from '../tasks/detectCoaddSources.js';
import { mergeCoaddDetections } from '../tasks/mergeCoaddDetections.js';
import { measureCoaddSources } from '../tasks/measureCoaddSources.js';
import { mergeCoaddMeasurements } from '../tasks/mergeCoaddMeasurements.js';
import { forcedPhotCoadd } from '../tasks/forcedPhotCoadd.js';
import { writeObjectTable } from '../tasks/writeObjectTable.js';
import type { AnyTask } from './task.js';

export const TASKS: Readonly<Record<string, AnyTask>> = Object.freeze({
  [buildBias.name]: buildBias,
  [buildDark.name]: buildDark,
  [buildFlat.name]: buildFlat,
  [isr.name]: isr,
  [characterizeImage.name]: characterizeImage,
  [calibrate.name]: calibrate,
  [makeWarp.name]: makeWarp,
  [assembleCoadd.name]: assembleCoadd,
  [detectCoaddSources.name]: detectCoaddSources,
  [mergeCoaddDetections.name]: mergeCoaddDetections,
  [measureCoaddSources.name]: measureCoaddSources,
  [mergeCoaddMeasurements.name]: mergeCoaddMeasurements,
  [forcedPhotCoadd.name]: forcedPhotCoadd,
  [writeObjectTable.name]: writeObjectTable,
});

export class UnknownTaskError extends Error {
  constructor(readonly taskName: string) {
    super(`unknown task '${taskName}' (known tasks: ${Object.keys(TASKS).join(', ')})`);
    this.name = 'UnknownTaskError';
  }
}

export function taskNames(): string[] {
  return Object.keys(TASKS);
}

export function getTask(name: string): AnyTask {
  const task = Object.prototype.hasOwnProperty.call(TASKS, name) ? TASKS[name] : undefined;
  if (!task) throw new UnknownTaskError(name);
  return task;
}
