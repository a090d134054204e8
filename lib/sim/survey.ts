/**
 * The whole simulated dataset, produced file by file: the camera description, the sky map, the
 * reference-catalogue shards, the truth catalogue, the calibration raws (biases, darks, flats per
 * band), then each visit's raws with their truth, and last the manifest that lists everything with
 * its data ID. Pure: it yields paths and bytes and the caller (node/commands/sim.ts, or a browser
 * demo) writes them, so the same seed gives byte-identical files on any host (every elementary function
 * from lib/math/libm.ts, the same in every JavaScript engine). With `only`, it simulates just what
 * processing one CCD needs (lib/pipeline/simulatedCcd.ts): the camera, sky map, catalogues, that
 * detector's calibration raws (flats of the visit's band only) and its raw, and no truth files; each file
 * it yields is byte-identical to the full survey's.
 */
import { writeFits } from '../fits/writer.js';
import type { Tessera } from '../wasm/loader.js';
import { makeTractCovering, skyMapToJson, makeSkyMap } from '../skymap/index.js';
import { parseWcs } from '../wcs/index.js';
import { makeCamera, cameraDescriptionYaml, filterOfBand, type Camera } from './camera.js';
import { planCalibrationExposures, makeCalibrationRaw } from './calibrationFrames.js';
import { planVisits, magToElectrons, skyElectronsPerPixel, type Visit } from './observations.js';
import { detectorWcsHeader, DEFAULT_DISTORTION_K1, type OpticalModel } from './opticalModel.js';
import { simulateExposure, detectorPlacement, ExposureWorkspace, GHOST_MAG_LIMIT, type SimulatedExposure } from './simulateExposure.js';
import { satelliteTrail } from './artifacts.js';
import { exposureTruthFits, catalogTruthFits } from './truthFiles.js';
import { matchedFilterSnr } from './snr.js';
import { Random } from './random.js';
import type { SimConfig } from './presets.js';
import type { SkyModel } from './skyModel.js';

export const MANIFEST_FORMAT = 'tessera-sim-1';

export interface DataId {
  instrument: string;
  [dimension: string]: string | number;
}

export interface ManifestEntry {
  /** Path relative to the dataset folder, '/'-separated. */
  path: string;
  /** What the file is: raw, bias/dark/flat raw, refcat shard, skymap, camera, truth... */
  datasetType: string;
  dataId: DataId;
}

export interface SimManifest {
  format: typeof MANIFEST_FORMAT;
  preset: string;
  seed: number;
  instrument: string;
  config: SimConfig;
  files: ManifestEntry[];
}

export interface SimFile {
  path: string;
  bytes: Uint8Array;
  entry: ManifestEntry;
}

const encoder = new TextEncoder();

/** Number of files simulateSurvey yields besides the reference-catalogue shards (for progress). */
export function countSimulatedFiles(config: SimConfig): number {
  const calibs = config.biasFrames + config.darkFrames + config.flatFramesPerBand * config.bands.length;
  return 3 + calibs * config.detectors + 2 * config.bands.length * config.visitsPerBand * config.detectors;
}

/** The focal plane's corners on the sky for every visit (true pointing), for the sky map and the sky catalogue. */
function footprint(camera: Camera, visits: readonly Visit[], optics: OpticalModel): [number, number][] {
  const points: [number, number][] = [];
  for (const visit of visits) {
    for (const detector of camera.detectors) {
      const wcs = parseWcs(detectorWcsHeader(visit.truth, detectorPlacement(camera, detector), optics))!;
      for (const [x, y] of [[0, 0], [detector.width - 1, 0], [detector.width - 1, detector.height - 1], [0, detector.height - 1]] as const) {
        points.push(wcs.pixelToSky(x, y));
      }
    }
  }
  return points;
}

export interface SurveyOptions {
  /** Simulate only what processing this visit's raw of this detector needs (no truth files). */
  only?: { visit: number; detector: number };
}

export function* simulateSurvey(config: SimConfig, tessera: Tessera, sky: SkyModel, options: SurveyOptions = {}): Generator<SimFile, SimManifest> {
  const camera = makeCamera(config.preset, { detectors: config.detectors, width: config.width, height: config.height, seed: config.seed });
  const optics: OpticalModel = { pixelScale: camera.plateScaleArcsecPerMm * camera.pixelSizeMm, k1: DEFAULT_DISTORTION_K1 };
  const halfX = Math.max(...camera.detectors.map((d) => Math.abs(d.centerMm[0]) + (d.width * camera.pixelSizeMm) / 2)) / camera.pixelSizeMm;
  const halfY = Math.max(...camera.detectors.map((d) => Math.abs(d.centerMm[1]) + (d.height * camera.pixelSizeMm) / 2)) / camera.pixelSizeMm;
  const fieldRadius = Math.hypot(halfX, halfY);
  const visits = planVisits({
    seed: config.seed, bands: config.bands, visitsPerBand: config.visitsPerBand, center: { ra: config.ra, dec: config.dec },
    exposureTime: config.exposureTime, ditherArcsec: config.ditherArcsec, rotationDeg: config.rotationDeg,
    pointingErrorArcsec: config.pointingErrorArcsec, rotationErrorDeg: config.rotationErrorDeg,
    trailFraction: config.trailFraction, focalPlaneRadiusPx: fieldRadius,
  });
  const instrument = camera.instrument;
  const { only } = options;
  const onlyBand = only ? visits.find((v) => v.visit === only.visit)?.band : undefined;
  if (only && onlyBand === undefined) throw new RangeError(`visit ${only.visit} is not in the survey (visits ${visits.map((v) => v.visit).join(', ')})`);
  if (only && !camera.detectors.some((d) => d.id === only.detector)) throw new RangeError(`detector ${only.detector} is not in the camera (detectors ${camera.detectors.map((d) => d.id).join(', ')})`);
  const wanted = (visit: number | undefined, detector: number, band: string | null | undefined): boolean =>
    !only || (detector === only.detector && (visit === undefined ? band == null || band === onlyBand : visit === only.visit));
  const files: ManifestEntry[] = [];
  const emit = (path: string, bytes: Uint8Array, datasetType: string, dataId: Record<string, string | number>): SimFile => {
    const entry: ManifestEntry = { path, datasetType, dataId: { instrument, ...dataId } };
    files.push(entry);
    return { path, bytes, entry };
  };

  yield emit('camera.yaml', encoder.encode(cameraDescriptionYaml(camera)), 'camera', {});

  const corners = footprint(camera, visits, optics);
  const tract = makeTractCovering(corners, { id: 0, patchInnerSize: config.patchInnerSize, patchBorder: config.patchBorder, pixelScaleArcsec: optics.pixelScale });
  yield emit('skymap.json', encoder.encode(skyMapToJson(makeSkyMap('simSkyMap', [tract]))), 'skyMap', { skymap: 'simSkyMap' });

  const catalogue = sky.catalog(corners, config);
  yield emit('truth/catalog.fits', catalogTruthFits(catalogue.objects, config.bands, catalogue.header), 'truth_catalog', {});
  for (const shard of sky.referenceShards(catalogue.objects, config)) {
    yield emit(`refcat/${shard.name}`, shard.bytes, 'refCat', { htm: shard.id });
  }

  for (const exposure of planCalibrationExposures(camera, {
    biases: config.biasFrames, darks: config.darkFrames, flatsPerBand: config.flatFramesPerBand, bands: config.bands,
  })) {
    for (const detector of camera.detectors) {
      if (!wanted(undefined, detector.id, exposure.band)) continue;
      const raw = makeCalibrationRaw(camera, detector, exposure, { seed: config.seed });
      const kind = exposure.imageType.toLowerCase();
      const bytes = writeFits([{ data: raw.data, shape: raw.shape, header: raw.header }], { checksum: true, name: `calibration ${exposure.id}` });
      const dataId: Record<string, string | number> = { exposure: exposure.id, detector: detector.id, observation_type: kind };
      if (exposure.band) { dataId.band = exposure.band; dataId.physical_filter = exposure.physicalFilter!; }
      yield emit(`calib-raw/${kind}/${kind}-${exposure.id}-${detector.id}.fits`, bytes, 'raw', dataId);
    }
  }

  // Each visit's bright stars (for ghosts) and satellite trail, on the whole focal plane.
  const visitArtifacts = new Map(visits.map((visit) => {
    const focalPlaneWcs = parseWcs(detectorWcsHeader(visit.truth, { originX: 0, originY: 0, rotationDeg: 0 }, optics))!;
    const brightStars = catalogue.objects
      .filter((o) => o.kind === 'star' && o.mag[visit.band] < GHOST_MAG_LIMIT)
      .map((o) => {
        const [fx, fy] = focalPlaneWcs.skyToPixel(o.ra, o.dec);
        return { id: o.id, fx, fy, electrons: magToElectrons(visit, o.mag[visit.band]) };
      })
      .filter((s) => Math.abs(s.fx) < 2 * halfX && Math.abs(s.fy) < 2 * halfY);
    const skySigma = Math.sqrt(skyElectronsPerPixel(visit, optics.pixelScale));
    const trail = visit.satelliteTrail
      ? satelliteTrail(Random.stream(config.seed, 'trail', visit.visit), halfX, halfY, optics.pixelScale, skySigma)
      : undefined;
    return [visit.visit, { brightStars, trail }] as const;
  }));

  // Band by band, detector by detector, so each detector's flat and dark are built once per band.
  const workspace = new ExposureWorkspace();
  for (const band of config.bands) {
    for (const detector of camera.detectors) {
      for (const visit of visits.filter((v) => v.band === band)) {
        if (!wanted(visit.visit, detector.id, band)) continue;
        const { brightStars, trail } = visitArtifacts.get(visit.visit)!;
        const exposure: SimulatedExposure = simulateExposure({
          tessera, camera, detector, visit, objects: catalogue.objects,
          makePsf: (toFocalPlane) => sky.psf(visit, toFocalPlane, optics.pixelScale, fieldRadius),
          galaxyProfile: sky.galaxyProfile, convolve: sky.convolve, optics, seed: config.seed,
          crRatePerCm2PerMin: config.crRatePerCm2PerMin, brightStars, trail, workspace,
        });
        const dataId = { exposure: visit.visit, visit: visit.visit, detector: detector.id, band: visit.band, physical_filter: filterOfBand(camera, visit.band) };
        const rawBytes = writeFits([{ data: exposure.raw.data, shape: exposure.raw.shape, header: exposure.raw.header }], { checksum: true, name: `raw ${visit.visit} ${detector.id}` });
        yield emit(`raw/${visit.band}/raw-${visit.visit}-${detector.id}.fits`, rawBytes, 'raw', { ...dataId, observation_type: 'science' });
        if (only) continue;
        const snr = matchedFilterSnr(tessera, exposure);
        const primary = sky.psfCards(visit, fieldRadius, optics.pixelScale);
        yield emit(`truth/${visit.band}/truth-${visit.visit}-${detector.id}.fits`, exposureTruthFits(exposure, snr, primary, { images: config.truthImages }), 'truth', dataId);
      }
    }
  }

  return { format: MANIFEST_FORMAT, preset: config.preset, seed: config.seed, instrument, config, files };
}
