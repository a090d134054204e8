/**
 * `tessera sim DIR --preset tiny|demo|hsc [--seed N] [--bands g,r,i] [--visits N] [--detectors N]`:
 * writes a simulated dataset (raws, calibration raws, reference catalogue, sky map, camera
 * description, truth) and its manifest under DIR. The same options give byte-identical files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { loadTessera } from '../wasm.js';
import { progress } from '../progress.js';
import { PRESETS, LARGE_POINTING_ERRORS, type PresetName, type SimConfig } from '../../lib/sim/presets.js';
import { simulateSurvey, countSimulatedFiles } from '../../lib/sim/survey.js';
import { defaultSkyModel } from '../../lib/sim/skyModel.js';
import { BANDS, type Band } from '../../lib/sim/types.js';

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

/** Writes through a temporary file and a rename, so an interrupted run never leaves a partial file. */
function writeAtomic(file: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

export function simConfigFromArgs(values: Record<string, string | boolean | undefined>): SimConfig {
  const presetName = (values.preset as string | undefined) ?? 'tiny';
  if (!(presetName in PRESETS)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got "${presetName}"`);
  const config: SimConfig = { ...PRESETS[presetName as PresetName] };
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
    config.seed = seed;
  }
  if (values.bands !== undefined) {
    const bands = String(values.bands).split(',').map((b) => b.trim());
    const unknown = bands.filter((b) => !(BANDS as readonly string[]).includes(b));
    if (unknown.length || bands.length === 0) throw new UsageError(`--bands takes a comma-separated list of ${BANDS.join(', ')}; got "${values.bands}"`);
    config.bands = [...new Set(bands)] as Band[];
  }
  config.visitsPerBand = positiveInteger('visits', values.visits as string | undefined) ?? config.visitsPerBand;
  config.detectors = positiveInteger('detectors', values.detectors as string | undefined) ?? config.detectors;
  config.width = positiveInteger('width', values.width as string | undefined) ?? config.width;
  config.height = positiveInteger('height', values.height as string | undefined) ?? config.height;
  if (values['truth-images'] === true) config.truthImages = true;
  if (values['no-truth-images'] === true) config.truthImages = false;
  if (values['large-pointing-errors'] === true) Object.assign(config, LARGE_POINTING_ERRORS);
  return config;
}

/**
 * Simulates `config` into `dir` (refusing a folder that already holds a dataset), with progress on
 * stderr; resolves to the manifest's path.
 */
export async function simulateInto(dir: string, config: SimConfig): Promise<string> {
  const manifestPath = path.join(dir, 'manifest.json');
  if (fs.existsSync(manifestPath)) throw new Error(`${dir}: already holds a simulated dataset (manifest.json); choose an empty folder`);
  const tessera = await loadTessera('release');
  const sky = defaultSkyModel();
  const bar = progress(`sim ${config.preset}`, countSimulatedFiles(config));
  const survey = simulateSurvey(config, tessera, sky);
  let done = 0;
  let files = 0;
  let bytes = 0;
  for (let step = survey.next(); ; step = survey.next()) {
    if (step.done) {
      writeAtomic(manifestPath, new TextEncoder().encode(`${JSON.stringify(step.value, null, 2)}\n`));
      bar.done(`${files} files, ${(bytes / 1e6).toFixed(1)} MB in ${dir}`);
      return manifestPath;
    }
    writeAtomic(path.join(dir, ...step.value.path.split('/')), step.value.bytes);
    if (step.value.entry.datasetType !== 'refCat') done++;
    files++;
    bytes += step.value.bytes.length;
    bar.update(done, step.value.path);
  }
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'simulate an HSC-like survey with known truth (raws, calibrations, reference catalogue)',
  usage: [
    'Usage: tessera sim DIR [--preset tiny|demo|hsc] [--seed N] [--bands g,r,i] [--visits N] [--detectors N]',
    '                       [--width PX --height PX] [--truth-images | --no-truth-images] [--large-pointing-errors]',
    '',
    'Presets: tiny  3 bands x 3 visits x 2 detectors of 512x1024 px (tests; seconds)',
    '         demo  3 bands x 5 visits x 4 detectors of 1024x2048 px (npm run demo)',
    '         hsc   3 bands x 5 visits x 4 detectors of 2048x4176 px, 4 amplifiers each (benchmarks)',
    '--visits is per band. --truth-images writes noise-free sky, model and artifact planes with each',
    'exposure\'s truth (on for tiny and demo). --large-pointing-errors makes the true pointing miss the',
    'commanded one by arcminutes and the rotation by a degree (to test astrometric matching).',
    'DIR gets manifest.json (every file with its data ID), camera.yaml, skymap.json, refcat/, truth/,',
    'calib-raw/ and raw/.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({
      args,
      allowPositionals: true,
      options: {
        preset: { type: 'string' }, seed: { type: 'string' }, bands: { type: 'string' }, visits: { type: 'string' },
        detectors: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' },
        'truth-images': { type: 'boolean' }, 'no-truth-images': { type: 'boolean' }, 'large-pointing-errors': { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one output folder');
    const dir = path.resolve(positionals[0]!);
    const config = simConfigFromArgs(values);
    await simulateInto(dir, config);
    return 0;
  },
};
