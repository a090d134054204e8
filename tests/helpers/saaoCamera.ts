/**
 * A camera description of the SAAO 1.0 m STE3 CCD for `tessera ingest-raws` on the real raw in
 * ../shared/data/real/saao_raw_overscan (MANIFEST.md: 536x520 raw, BIASSEC [4:13,1:520], TRIMSEC
 * [17:528,1:520], GAIN 1.9 e-/ADU, RDNOISE 5 e-). `rawWidth` other than 536 makes a wrong description.
 */
import fs from 'node:fs';
import { stringifyYaml } from '../../lib/sim/yamlSubset.js';

export function writeSaaoCamera(file: string, rawWidth = 536): void {
  const text = stringifyYaml({
    format: 'tessera-camera-1', name: 'saao-1m-ste3', instrument: 'SAAO-STE3', pixelSizeMm: 0.024, plateScaleArcsecPerMm: 12.9, adcMax: 65535, rawHdu: 0,
    headerKeys: { filter: 'FILTERS', exposureTime: 'EXPTIME', date: 'DATE-OBS', mjd: 'MJD-OBS', detector: 'DETECTOR', imageType: 'IMAGETYP', exposureId: 'EXPID' },
    filters: [{ physical: 'R', band: 'r' }],
    simulation: null,
    detectors: [{
      id: 0, name: 'STE3', serial: 'STE3-1', width: rawWidth - 24, height: 520, rawWidth, rawHeight: 520, centerMm: [0, 0], rotationDeg: 0,
      amplifiers: [{
        name: 'A', readoutCorner: 'LL', gain: 1.9, readNoise: 5, biasLevel: 214, fullWell: 100000, saturation: 65535,
        dataSection: `[1:${rawWidth - 24},1:520]`, rawSection: `[1:${rawWidth},1:520]`, rawDataSection: `[17:${rawWidth - 8},1:520]`,
        rawSerialPrescan: null, rawSerialOverscan: '[4:13,1:520]', rawParallelPrescan: null, rawParallelOverscan: null, rawFlipX: false, rawFlipY: false,
      }],
    }],
  });
  fs.writeFileSync(file, text);
}

