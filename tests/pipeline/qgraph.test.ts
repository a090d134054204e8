// Pipeline definitions and the quantum graph, as a user runs them (`node dist/node/cli.js`): on a tiny
// simulated repository the quanta per task equal what the sim manifest implies (buildBias and buildDark
// one per detector, buildFlat one per detector and filter, isr one per science raw) with their inputs
// gathered by observation type and isr's calibrations wired to the upstream quanta's outputs; --where
// restricts the quanta; -c and -C change the config hash; bad overrides and bad pipeline files give
// errors naming label.field or the file and key; `config show --json` lists every task's defaults.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, testOutputDir } from '../helpers/paths.js';
import { defaultConfig, configHash } from '../../lib/pipeline/config.js';
import { TASKS } from '../../lib/pipeline/tasks.js';
import { applyConfigOverride, effectiveConfigs, parsePipeline, PipelineError, selectSubset } from '../../lib/pipeline/pipelineDefinition.js';
import { tessera } from '../helpers/cli.js';

const drpFile = path.join(repoRoot, 'pipelines', 'DRP.yaml');
const out = testOutputDir('qgraph');
const sim = path.join(out, 'sim');
const repo = path.join(out, 'repo');

type DataId = Record<string, string | number>;
interface Manifest { instrument: string; files: { path: string; datasetType: string; dataId: DataId }[] }
type Input = { datasetType: string; dataId: DataId; datasetId?: string; producer?: string };
interface Quantum { id: string; label: string; taskName: string; dataId: DataId; configHash: string; inputs: Record<string, Input | Input[]>; outputs: Record<string, { datasetType: string; dataId: DataId }>; noWork?: string }
interface Graph { inputCollections: string[]; outputRun: string | null; tasks: { label: string; quanta: number; noWork: number; inputs: number; outputs: number; configHash: string }[]; quanta: Quantum[] }

function qgraph(...args: string[]): Graph {
  const r = tessera('qgraph', repo, '--json', ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Graph;
}

let manifest: Manifest;
let raws: { exposure: number; detector: number; type: string; filter?: string }[];

beforeAll(() => {
  let r = tessera('sim', sim, '--preset', 'tiny', '--bands', 'r', '--visits', '1', '--width', '128', '--height', '256');
  expect(r.status, r.stderr).toBe(0);
  r = tessera('repo', 'create', repo);
  expect(r.status, r.stderr).toBe(0);
  r = tessera('ingest', repo, sim);
  expect(r.status, r.stderr).toBe(0);
  manifest = JSON.parse(fs.readFileSync(path.join(sim, 'manifest.json'), 'utf8')) as Manifest;
  raws = manifest.files.filter((f) => f.datasetType === 'raw').map((f) => ({
    exposure: Number(f.dataId.exposure), detector: Number(f.dataId.detector), type: String(f.dataId.observation_type),
    ...(f.dataId.physical_filter !== undefined ? { filter: String(f.dataId.physical_filter) } : {}),
  }));
});

const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];

describe('pipeline definitions', () => {
  it('parses the shipped DRP.yaml with its subsets, tasks in dependency order', () => {
    const drp = parsePipeline(fs.readFileSync(drpFile, 'utf8'), drpFile);
    expect(drp.tasks.map((t) => t.label)).toEqual(['buildBias', 'buildDark', 'buildFlat', 'isr', 'characterizeImage', 'calibrate', 'makeWarp', 'assembleCoadd', 'detectCoaddSources', 'mergeCoaddDetections', 'measureCoaddSources', 'mergeCoaddMeasurements', 'forcedPhotCoadd', 'writeObjectTable']);
    expect(selectSubset(drp, 'calibs').tasks.map((t) => t.label)).toEqual(['buildBias', 'buildDark', 'buildFlat']);
    expect(selectSubset(drp, 'processCcd').tasks.map((t) => t.label)).toEqual(['isr', 'characterizeImage', 'calibrate']);
    expect(selectSubset(drp, 'coadd').tasks.map((t) => t.label)).toEqual(['makeWarp', 'assembleCoadd']);
    expect(selectSubset(drp, 'coaddMeasure').tasks.map((t) => t.label)).toEqual(['detectCoaddSources', 'mergeCoaddDetections', 'measureCoaddSources', 'mergeCoaddMeasurements', 'forcedPhotCoadd', 'writeObjectTable']);
    expect(selectSubset(drp, 'images').tasks.map((t) => t.label)).toEqual(['characterizeImage', 'calibrate', 'makeWarp', 'assembleCoadd', 'detectCoaddSources', 'mergeCoaddDetections', 'measureCoaddSources', 'mergeCoaddMeasurements', 'forcedPhotCoadd', 'writeObjectTable']);
    expect(() => selectSubset(drp, 'multiBand')).toThrow(/DRP\.yaml: subsets\.multiBand: no such subset \(subsets: calibs, processCcd, coadd, images, coaddMeasure\)/);
  });

  it('orders tasks by their dataset dependencies whatever the file order', () => {
    const p = parsePipeline('tasks:\n  isr: isr\n  flat: buildFlat\n  bias: buildBias\n  dark: buildDark\n', 'x.yaml');
    expect(p.tasks.map((t) => t.label)).toEqual(['bias', 'dark', 'flat', 'isr']);
  });

  it('names the file and key of an unknown task, config field, bad value or subset label', () => {
    const bad = (text: string): string => {
      try {
        parsePipeline(text, 'bad.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(PipelineError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad('tasks:\n  foo:\n    class: scarletDeblend\n')).toMatch(/^bad\.yaml: tasks\.foo\.class: unknown task 'scarletDeblend' \(known tasks: buildBias, buildDark, buildFlat, isr, characterizeImage, calibrate, makeWarp, assembleCoadd, detectCoaddSources, mergeCoaddDetections, measureCoaddSources, mergeCoaddMeasurements, forcedPhotCoadd, writeObjectTable\)/);
    expect(bad('tasks:\n  isr:\n    class: isr\n    config:\n      doBais: true\n')).toMatch(/^bad\.yaml: tasks\.isr\.config\.doBais: unknown field/);
    expect(bad('tasks:\n  isr:\n    class: isr\n    config:\n      growSaturationFootprintSize: -1\n')).toMatch(/^bad\.yaml: tasks\.isr\.config\.growSaturationFootprintSize: must be >= 0/);
    expect(bad('tasks:\n  isr: isr\nsubsets:\n  proc:\n    subset: [isr, detectCoaddSources]\n')).toMatch(/^bad\.yaml: subsets\.proc\.subset\[1\]: unknown task label "detectCoaddSources"/);
    expect(bad('tasks:\n  isr: isr\nstages: {}\n')).toMatch(/^bad\.yaml: stages: unknown key/);
  });

  it('applies -c overrides, changing the hash, and refuses bad ones naming label.field', () => {
    const drp = parsePipeline(fs.readFileSync(drpFile, 'utf8'), drpFile);
    const before = effectiveConfigs(drp).find((c) => c.label === 'isr')!;
    const after = effectiveConfigs(applyConfigOverride(drp, 'isr.maskListToInterpolate=[SAT]')).find((c) => c.label === 'isr')!;
    expect(after.config.maskListToInterpolate).toEqual(['SAT']);
    expect(after.configHash).not.toBe(before.configHash);
    expect(() => applyConfigOverride(drp, 'isr.doBias=3')).toThrow(/-c isr\.doBias=3: isr\.doBias: expected true or false, got 3/);
    expect(() => applyConfigOverride(drp, 'isr.doBais=true')).toThrow(/isr\.doBais: unknown field/);
    expect(() => applyConfigOverride(drp, 'scarletDeblend.doAstrometry=true')).toThrow(/no task labelled 'scarletDeblend'/);
    expect(() => applyConfigOverride(drp, 'isr')).toThrow(/expected label\.field=value/);
  });
});

describe('tessera qgraph and config show', () => {
  it('makes the quanta the manifest implies, inputs gathered by observation type', () => {
    const g = qgraph();
    expect(g.inputCollections).toEqual([`${manifest.instrument}/defaults`]);
    const detectors = distinct(raws.map((r) => r.detector)).sort();
    const count = (type: string, detector: number, filter?: string): number => raws.filter((r) => r.type === type && r.detector === detector && (filter === undefined || r.filter === filter)).length;
    const byLabel = (label: string): Quantum[] => g.quanta.filter((q) => q.label === label);
    expect(g.quanta.every((q) => q.noWork === undefined)).toBe(true);

    const bias = byLabel('buildBias');
    expect(bias.map((q) => q.dataId.detector)).toEqual(detectors);
    for (const q of bias) {
      const inputs = q.inputs.inputExps as Input[];
      expect(inputs).toHaveLength(count('bias', Number(q.dataId.detector)));
      expect(inputs).toHaveLength(5);
      expect(inputs.every((i) => raws.some((r) => r.exposure === i.dataId.exposure && r.type === 'bias'))).toBe(true);
      expect((q.inputs.camera as Input).datasetId).toBeDefined();
    }
    const dark = byLabel('buildDark');
    expect(dark).toHaveLength(detectors.length);
    for (const q of dark) {
      expect(q.inputs.inputExps).toHaveLength(count('dark', Number(q.dataId.detector)));
      expect((q.inputs.bias as Input).producer).toBe(bias.find((b) => b.dataId.detector === q.dataId.detector)!.id);
    }
    const filters = distinct(raws.filter((r) => r.type === 'flat').map((r) => r.filter!));
    const flat = byLabel('buildFlat');
    expect(flat).toHaveLength(detectors.length * filters.length);
    for (const q of flat) {
      expect(q.inputs.inputExps).toHaveLength(count('flat', Number(q.dataId.detector), String(q.dataId.physical_filter)));
      expect(q.inputs.inputExps).toHaveLength(5);
      expect(q.outputs.outputData!.dataId.physical_filter).toBe(q.dataId.physical_filter);
    }
    const science = raws.filter((r) => r.type === 'science');
    const isr = byLabel('isr');
    expect(isr.map((q) => `${q.dataId.exposure}/${q.dataId.detector}`).sort()).toEqual(science.map((r) => `${r.exposure}/${r.detector}`).sort());
    for (const q of isr) {
      const d = q.dataId.detector;
      const raw = science.find((r) => r.exposure === q.dataId.exposure && r.detector === d)!;
      expect((q.inputs.ccdExposure as Input).datasetId).toBeDefined();
      expect((q.inputs.bias as Input).producer).toBe(bias.find((b) => b.dataId.detector === d)!.id);
      expect((q.inputs.dark as Input).producer).toBe(dark.find((b) => b.dataId.detector === d)!.id);
      expect((q.inputs.flat as Input).producer).toBe(flat.find((b) => b.dataId.detector === d && b.dataId.physical_filter === raw.filter)!.id);
      expect(q.inputs.defects).toBeUndefined(); // DRP.yaml sets doDefect: false
      expect(q.outputs.outputExposure).toEqual({ datasetType: 'postISRCCD', dataId: { instrument: manifest.instrument, detector: d, exposure: q.dataId.exposure } });
    }
    const summary = Object.fromEntries(g.tasks.map((t) => [t.label, t]));
    expect(summary.buildBias).toMatchObject({ quanta: detectors.length, noWork: 0, inputs: detectors.length * 6, outputs: detectors.length });
    expect(summary.isr).toMatchObject({ quanta: science.length, outputs: science.length, inputs: science.length * 5 });
    expect(qgraph().quanta.map((q) => q.id)).toEqual(g.quanta.map((q) => q.id));

    const text = tessera('qgraph', repo);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^buildFlat +buildFlat +${flat.length} +0 +${flat.length * 8} +${flat.length} `, 'm'));
  });

  it('restricts quanta with --where; a key a quantum lacks does not exclude it', () => {
    const science = raws.filter((r) => r.type === 'science');
    const one = science[0]!;
    const g = qgraph('--where', `exposure = ${one.exposure} AND detector = ${one.detector}`, '--output', 'u/test/run');
    expect(g.outputRun).toBe('u/test/run');
    expect(g.quanta.filter((q) => q.label === 'isr').map((q) => q.dataId)).toEqual([{ instrument: manifest.instrument, detector: one.detector, exposure: one.exposure }]);
    expect(g.quanta.filter((q) => q.label === 'buildBias').map((q) => q.dataId.detector)).toEqual([one.detector]);
    const none = qgraph('--where', "band = 'g'");
    expect(none.quanta.filter((q) => q.label === 'isr' || q.label === 'buildFlat')).toEqual([]);
    expect(none.quanta.filter((q) => q.label === 'buildBias')).toHaveLength(distinct(raws.map((r) => r.detector)).length);
    const bad = tessera('qgraph', repo, '--where', 'colour = 1');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--where: unknown data ID key 'colour'/);
  });

  it('reports quanta whose calibrations are missing as no work, with the reason', () => {
    const g = qgraph('--subset', 'processCcd');
    const isr = g.quanta.filter((q) => q.label === 'isr');
    expect(isr.length).toBeGreaterThan(0);
    for (const q of isr) expect(q.noWork).toMatch(/bias: no bias \{instrument: 'HSC-SIM', detector: \d+\} valid at MJD [\d.]+ in HSC-SIM\/defaults/);
    // isr has no work, so neither do the tasks downstream of it.
    expect(g.tasks).toEqual([
      expect.objectContaining({ label: 'isr', quanta: 0, noWork: isr.length, inputs: 0, outputs: 0 }),
      expect.objectContaining({ label: 'characterizeImage', quanta: 0, noWork: 0 }),
      expect.objectContaining({ label: 'calibrate', quanta: 0, noWork: 0 }),
    ]);
    const withoutCalibs = qgraph('--subset', 'processCcd', '-c', 'isr.doBias=false', '-c', 'isr.doDark=false', '-c', 'isr.doFlat=false');
    expect(withoutCalibs.quanta.every((q) => q.noWork === undefined)).toBe(true);
  });

  it('changes config hashes with -c and -C, and refuses bad overrides naming label.field', () => {
    const base = qgraph().tasks.find((t) => t.label === 'isr')!.configHash;
    const c = qgraph('-c', 'isr.growSaturationFootprintSize=2').tasks.find((t) => t.label === 'isr')!.configHash;
    expect(c).not.toBe(base);
    const file = path.join(out, 'overrides.yaml');
    fs.writeFileSync(file, 'isr:\n  growSaturationFootprintSize: 2\n');
    expect(qgraph('-C', file).tasks.find((t) => t.label === 'isr')!.configHash).toBe(c);
    const bad = tessera('qgraph', repo, '-c', 'isr.growSaturationFootprintSize=yes');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/isr\.growSaturationFootprintSize: expected a finite number/);
    fs.writeFileSync(file, 'isr:\n  doBais: false\n');
    const badFile = tessera('config', 'show', '-C', file);
    expect(badFile.status).toBe(1);
    expect(badFile.stderr).toContain(`${file}: isr.doBais: unknown field`);
  });

  it('names the file and key of an unknown task or subset in a pipeline file', () => {
    const file = path.join(out, 'bad.yaml');
    fs.writeFileSync(file, 'description: bad\ntasks:\n  scarletDeblend:\n    class: scarletDeblend\n');
    let r = tessera('qgraph', repo, '--pipeline', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}: tasks.scarletDeblend.class: unknown task 'scarletDeblend'`);
    r = tessera('config', 'show', '--subset', 'multiBand');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DRP\.yaml: subsets\.multiBand: no such subset/);
  });

  it('config show --json lists every task of DRP.yaml with its defaults and hash', () => {
    const r = tessera('config', 'show', '--json');
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { label: string; task: string; configHash: string; config: Record<string, unknown> }[];
    expect(rows.map((row) => row.label)).toEqual(Object.keys(TASKS));
    for (const row of rows) {
      const expected = { ...defaultConfig(TASKS[row.task]!), ...(row.task === 'isr' ? { doDefect: false } : {}) };
      expect(row.config).toEqual(expected);
      expect(row.configHash).toBe(configHash(expected));
    }
    const text = tessera('config', 'show', '--subset', 'calibs', '-c', 'buildBias.clip=4');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}clip +4 +\(set\)$/m);
    expect(text.stdout).not.toContain('isr (isr)');
  });
});
