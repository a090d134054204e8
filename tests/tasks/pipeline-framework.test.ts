// The task framework (lib/pipeline): config validation errors that name task.field, defaults, a config
// hash that is stable under key order and sensitive to every value (SHA-256 checked against node:crypto
// and FIPS 180-4 vectors), the mask-plane dictionary, the registry, connection switches, input checks,
// and the failure records the executor keeps.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { canonicalJson, configHash, defaultConfig, validateConfig, type ConfigSchema } from '../../lib/pipeline/config.js';
import { AlgorithmError, BadInputError, ConfigError, NoWorkError, describeFailure, formatDataId } from '../../lib/pipeline/errors.js';
import { memoryLogger } from '../../lib/pipeline/logger.js';
import { MASK_PLANES, maskTranslationTable, maskValue, standardMaskPlanes } from '../../lib/pipeline/maskPlanes.js';
import { sha256Hex } from '../../lib/pipeline/sha256.js';
import { activeConnections, outputSlot, outputValue, runTask, type Task, type TaskContext } from '../../lib/pipeline/task.js';
import { TASKS, UnknownTaskError, getTask, taskNames } from '../../lib/pipeline/tasks.js';
import { isr } from '../../lib/tasks/isr.js';
import { buildBias } from '../../lib/tasks/buildBias.js';
import { makeCamera } from '../../lib/sim/camera.js';
import { headerWith } from './simulatedDetector.js';

let tessera: Tessera;
beforeAll(async () => {
  tessera = await loadTessera('release');
});

function context(extra: Partial<TaskContext> = {}): TaskContext {
  return { tessera, log: memoryLogger(), ...extra };
}

describe('SHA-256', () => {
  it('matches the FIPS 180-4 examples and node:crypto on lengths around the block boundaries', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_v, i) => (i * 31 + n) & 255);
      expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    expect(sha256Hex('ünïcödé ✓')).toBe(createHash('sha256').update('ünïcödé ✓', 'utf8').digest('hex'));
  });
});

describe('config validation', () => {
  it('gives the defaults, frozen, and applies overrides', () => {
    const config = defaultConfig(isr);
    expect(config.doDark).toBe(true);
    expect(config.overscanFitType).toBe('MEANCLIP_PER_ROW');
    expect(config.overscanSmoothingRows).toBe(33);
    expect(config.growSaturationFootprintSize).toBe(1);
    expect(config.maskListToInterpolate).toEqual(['SAT', 'BAD']);
    expect(Object.isFrozen(config) && Object.isFrozen(config.maskListToInterpolate)).toBe(true);
    const bias = defaultConfig(buildBias);
    expect([bias.clip, bias.nIter, bias.combine, bias.validityDays]).toEqual([3, 3, 'MEANCLIP_VARIANCE', null]);
    expect(validateConfig(isr, { doDark: false, overscanSmoothingRows: 1 }).doDark).toBe(false);
    expect(validateConfig(buildBias, { validityDays: 30 }).validityDays).toBe(30);
  });

  const bad: [typeof isr | typeof buildBias, Record<string, unknown>, string, RegExp][] = [
    [isr, { doDrak: true }, 'isr.doDrak', /unknown field/],
    [isr, { doDark: 'yes' }, 'isr.doDark', /expected true or false, got "yes"/],
    [isr, { overscanSmoothingRows: 32 }, 'isr.overscanSmoothingRows', /must be odd, got 32/],
    [isr, { overscanSmoothingRows: 3.5 }, 'isr.overscanSmoothingRows', /expected an integer/],
    [isr, { overscanSmoothingRows: 0 }, 'isr.overscanSmoothingRows', /must be >= 1, got 0/],
    [isr, { overscanNumSigmaClip: 0 }, 'isr.overscanNumSigmaClip', /must be > 0/],
    [isr, { overscanNumSigmaClip: Number.NaN }, 'isr.overscanNumSigmaClip', /finite number/],
    [isr, { overscanFitType: 'POLY' }, 'isr.overscanFitType', /expected one of "MEANCLIP_PER_ROW", "MEDIAN", got "POLY"/],
    [isr, { maskListToInterpolate: ['SAT', 'SAT'] }, 'isr.maskListToInterpolate', /twice/],
    [isr, { maskListToInterpolate: ['SAT', 'BRIGHT_OBJECT'] }, 'isr.maskListToInterpolate', /"BRIGHT_OBJECT" is not one of/],
    [isr, { maskListToInterpolate: 'SAT' }, 'isr.maskListToInterpolate', /expected a list of strings/],
    [isr, { growSaturationFootprintSize: 51 }, 'isr.growSaturationFootprintSize', /must be <= 50/],
    [buildBias, { validityDays: 0 }, 'buildBias.validityDays', /must be > 0/],
    [buildBias, { validityDays: 'forever' }, 'buildBias.validityDays', /finite number or null/],
    [buildBias, { clip: null }, 'buildBias.clip', /expected a number, got null/],
    [buildBias, { combine: 'MEDIAN' }, 'buildBias.combine', /expected one of/],
  ];
  for (const [task, overrides, field, problem] of bad) {
    it(`rejects ${JSON.stringify(overrides)} naming ${field}`, () => {
      let error: unknown;
      try {
        validateConfig(task as typeof isr, overrides);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as ConfigError).message).toMatch(problem);
      expect((error as ConfigError).message.startsWith(`${field}: `)).toBe(true);
    });
  }

  it('rejects overrides that are not a mapping, and runs the cross-field check', () => {
    expect(() => validateConfig(isr, [] as unknown as Record<string, unknown>)).toThrow(/isr: config overrides must be a mapping/);
    interface Pair { low: number; high: number }
    const schema: ConfigSchema<Pair> = {
      low: { type: 'number', default: 1, description: 'low' },
      high: { type: 'number', default: 2, description: 'high' },
    };
    const pairTask = { name: 'pair', config: schema, validate: (c: Readonly<Pair>) => (c.low < c.high ? undefined : { field: 'high', problem: `must exceed low (${c.low})` }) };
    expect(validateConfig(pairTask, { high: 5 }).high).toBe(5);
    expect(() => validateConfig(pairTask, { low: 3 })).toThrow('pair.high: must exceed low (3)');
    const broken = { name: 'broken', config: { n: { type: 'number', default: -1, min: 0, description: 'n' } } as ConfigSchema<{ n: number }> };
    expect(() => validateConfig(broken)).toThrow('broken.n: default must be >= 0, got -1');
  });
});

describe('configHash', () => {
  it('is stable: the same config in any key order, now and in the future, hashes the same', () => {
    const config = defaultConfig(isr);
    const reordered = Object.fromEntries(Object.entries(config).reverse());
    expect(configHash(reordered)).toBe(configHash(config));
    expect(configHash(validateConfig(isr, {}))).toBe(configHash(config));
    expect(canonicalJson({ b: [1, { d: -0, c: 'x' }], a: null })).toBe('{"a":null,"b":[1,{"c":"x","d":0}]}');
    // Pinned: changing the canonical form or the defaults must be a deliberate act (provenance hashes change).
    expect(configHash({ clip: 3, nIter: 3, name: 'x' })).toBe(sha256Hex('{"clip":3,"nIter":3,"name":"x"}'));
    expect(configHash(config)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when any field changes', () => {
    const base = defaultConfig(isr);
    const hashes = new Set([configHash(base)]);
    const changes: Record<string, unknown> = {
      doOverscan: false, overscanFitType: 'MEDIAN', overscanSmoothingRows: 35, overscanNumSigmaClip: 3.0000001, doBias: false, doDark: false,
      doFlat: false, doDefect: false, doSaturation: false, growSaturationFootprintSize: 2, doNanMasking: false, doInterpolate: false,
      maskListToInterpolate: ['BAD', 'SAT'],
    };
    expect(Object.keys(changes).sort()).toEqual(Object.keys(base).sort());
    for (const [field, value] of Object.entries(changes)) hashes.add(configHash(validateConfig(isr, { [field]: value })));
    expect(hashes.size).toBe(Object.keys(changes).length + 1);
  });

  it('refuses values with no JSON form', () => {
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
  });
});

describe('mask planes', () => {
  it("are afw's 0-8 then DESIGN.md's pipeline planes, STREAK and GHOST at the simulator's bits 14 and 15", () => {
    expect(Object.entries(MASK_PLANES).map(([k, v]) => `${k}=${v}`).join(' ')).toBe(
      'BAD=0 SAT=1 INTRP=2 CR=3 EDGE=4 DETECTED=5 DETECTED_NEGATIVE=6 SUSPECT=7 NO_DATA=8 CLIPPED=9 REJECTED=10 SENSOR_EDGE=11 INEXACT_PSF=12 CROSSTALK=13 STREAK=14 GHOST=15');
    expect(maskValue('BAD', 'SAT')).toBe(3);
    expect(() => maskValue('BRIGHT_OBJECT')).toThrow(/unknown mask plane 'BRIGHT_OBJECT'/);
    const copy = standardMaskPlanes();
    copy.BAD = 5;
    expect(MASK_PLANES.BAD).toBe(0);
    const t = maskTranslationTable({ SAT: 0, BAD: 3, GHOST: 16, BRIGHT_OBJECT: 15, CR: 40 });
    expect([t[0], t[3], t[15], t[16]]).toEqual([2, 1, 0, 1 << 15]);
    expect(t.reduce((a, b) => a + b, 0)).toBe(3 + (1 << 15));
  });
});

describe('registry and connections', () => {
  it('lists the tasks by name and refuses unknown ones', () => {
    expect(taskNames()).toEqual(['buildBias', 'buildDark', 'buildFlat', 'isr', 'characterizeImage', 'calibrate', 'makeWarp', 'assembleCoadd', 'detectCoaddSources', 'mergeCoaddDetections', 'measureCoaddSources', 'mergeCoaddMeasurements', 'forcedPhotCoadd', 'writeObjectTable']);
    expect(getTask('isr')).toBe(TASKS.isr);
    expect(() => getTask('isrr')).toThrow(UnknownTaskError);
    expect(() => getTask('toString')).toThrow(/unknown task 'toString' \(known tasks: buildBias, buildDark, buildFlat, isr, characterizeImage, calibrate, makeWarp, assembleCoadd, detectCoaddSources, mergeCoaddDetections, measureCoaddSources, mergeCoaddMeasurements, forcedPhotCoadd, writeObjectTable\)/);
    for (const name of taskNames()) {
      const task = getTask(name);
      expect(task.name).toBe(name);
      for (const c of [...Object.values(task.connections.inputs), ...Object.values(task.connections.outputs)]) {
        expect(c.dimensions.length).toBeGreaterThan(0);
        if (c.enabledBy) expect(Object.keys(task.config)).toContain(c.enabledBy);
      }
      // Every output's dimensions are among the quantum's (a per-input-item output's: or its input's).
      const inputs = task.connections.inputs as Record<string, { dimensions: readonly string[]; multiple?: boolean }>;
      for (const c of Object.values(task.connections.outputs)) {
        const allowed = [...task.dimensions, ...(c.perInput ? inputs[c.perInput]!.dimensions : [])];
        if (c.perInput) expect(inputs[c.perInput]?.multiple, `${name}: perInput names a multiple input`).toBe(true);
        for (const d of c.dimensions) expect(allowed).toContain(d);
      }
    }
    expect(getTask('isr').connections.outputs).toHaveProperty('outputExposure.datasetType', 'postISRCCD');
  });

  it('drops the connections whose enabledBy field is false', () => {
    const on = activeConnections(isr, defaultConfig(isr));
    expect(Object.keys(on.inputs)).toEqual(['ccdExposure', 'camera', 'bias', 'dark', 'flat', 'defects']);
    const off = activeConnections(isr, validateConfig(isr, { doDark: false, doDefect: false }));
    expect(Object.keys(off.inputs)).toEqual(['ccdExposure', 'camera', 'bias', 'flat']);
  });

  it('checks inputs before running: missing, too few, holes; naming the data ID and file the executor gave', () => {
    const camera = makeCamera('tiny', { detectors: 1 });
    const refs = { quantum: { instrument: 'HSC-SIM', detector: 0 }, inputs: { inputExps: [{ datasetType: 'raw', dataId: { instrument: 'HSC-SIM', exposure: 90001, detector: 0 }, file: 'raw/90001.fits' }] } };
    expect(() => runTask(buildBias, { inputExps: [], camera }, {}, context())).toThrow("buildBias: input 'inputExps': needs at least 1 raw dataset, got 0");
    expect(() => runTask(buildBias, { inputExps: [] } as never, {}, context())).toThrow(/input 'inputExps': needs at least 1/);
    expect(() => runTask(buildBias, { inputExps: [{ data: new Uint16Array(4), header: headerWith({}) }] } as never, {}, context())).toThrow("buildBias: input 'camera': missing (a Camera of dataset type camera)");
    let error: unknown;
    try {
      runTask(buildBias, { inputExps: [{ data: new Uint16Array(4), header: headerWith({ DETECTOR: 0, EXPTIME: 0, 'MJD-OBS': 60000 }) }], camera }, {}, context({ refs }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toBe(
      "buildBias: input 'inputExps' (raw {instrument: \"HSC-SIM\", exposure: 90001, detector: 0} from raw/90001.fits): item 0: detector 0 raws are 560x1036 = 580160 px, this one has 4");
    expect(describeFailure(error)).toEqual({
      kind: 'bad-input', message: (error as Error).message, task: 'buildBias', connection: 'inputExps',
      dataId: { instrument: 'HSC-SIM', exposure: 90001, detector: 0 }, file: 'raw/90001.fits',
    });
    expect(() => runTask(isr, { ccdExposure: { data: new Uint16Array(580160), header: headerWith({ DETECTOR: 1, EXPTIME: 30, 'MJD-OBS': 60000 }) }, camera } as never, {}, context()))
      .toThrow("isr: input 'bias': missing (a Exposure of dataset type bias)");
    expect(() => runTask(isr, { ccdExposure: { data: new Uint16Array(580160), header: headerWith({ DETECTOR: 1, EXPTIME: 30, 'MJD-OBS': 60000 }) }, camera },
      { doBias: false, doDark: false, doFlat: false, doDefect: false }, context())).toThrow("isr: input 'ccdExposure': camera tessera-tiny has no detector 1");
    expect(() => runTask(isr, { ccdExposure: { data: new Uint16Array(580160), header: headerWith({ DETECTOR: 0, 'MJD-OBS': 60000 }) }, camera },
      { doBias: false, doDark: false, doFlat: false, doDefect: false }, context())).toThrow("isr: input 'ccdExposure': header keyword EXPTIME (exposure time, s) is missing");
  });
});

describe('failure records', () => {
  it('classify every kind of error', () => {
    expect(formatDataId({ instrument: 'HSC, "sim"', visit: 12 })).toBe('{instrument: "HSC, \\"sim\\"", visit: 12}');
    expect(describeFailure(new AlgorithmError('isr', 'no good pixels', { goodPixels: 0 }))).toEqual({ kind: 'algorithm', message: 'isr: no good pixels', task: 'isr', metadata: { goodPixels: 0 } });
    expect(describeFailure(new NoWorkError('buildFlat', 'no flats in HSC-R'))).toEqual({ kind: 'no-work', message: 'buildFlat: no work: no flats in HSC-R', task: 'buildFlat' });
    expect(describeFailure(new ConfigError('isr.doDark', 'expected true or false'))).toEqual({ kind: 'config', message: 'isr.doDark: expected true or false', field: 'isr.doDark' });
    expect(describeFailure(new RangeError('boom'))).toEqual({ kind: 'unexpected', message: 'RangeError: boom' });
    expect(describeFailure('text')).toEqual({ kind: 'unexpected', message: 'text' });
    const bad = new BadInputError('isr', 'flat', 'is for filter HSC-G');
    expect([bad.kind, bad.message]).toEqual(['bad-input', "isr: input 'flat': is for filter HSC-G"]);
  });
});

describe('outputs per input item', () => {
  // A task with one output per item of its multiple input (as assembleCoadd's artifact mask per visit).
  const perItem: Task<{ drop: boolean }, { items: number[] }, { each: number[] }> = {
    name: 'perItem', summary: 'test', dimensions: ['band'],
    connections: {
      inputs: { items: { datasetType: 'a', dimensions: ['band', 'visit'], storageClass: 'X', multiple: true, doc: '' } },
      outputs: { each: { datasetType: 'b', dimensions: ['band', 'visit'], storageClass: 'X', perInput: 'items', doc: '' } },
    },
    config: { drop: { type: 'boolean', default: false, description: 'return one output too few' } },
    run: (inputs, config) => ({ each: inputs.items.slice(config.drop ? 1 : 0).map((v) => v * 2) }),
  };
  const context = { log: memoryLogger() } as unknown as TaskContext;

  it('names item k of an output `name[k]` and finds its value', () => {
    expect(outputSlot('artifactMasks[12]')).toEqual({ name: 'artifactMasks', index: 12 });
    expect(outputSlot('coadd')).toEqual({ name: 'coadd' });
    const out = runTask(perItem, { items: [1, 2, 3] }, {}, context);
    expect(outputValue(out, 'each[2]')).toBe(6);
    expect(outputValue(out, 'each')).toEqual([2, 4, 6]);
  });

  it('refuses a run that does not return one output per input item', () => {
    expect(() => runTask(perItem, { items: [1, 2, 3] }, { drop: true }, context)).toThrow("perItem: run() must return one 'each' output per 'items' input (a task bug)");
  });
});
