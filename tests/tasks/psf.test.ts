// PSF determination (lib/measure/psfDeterminer.ts, starSelector.ts, psfModel.ts, momentsNoise.ts) on a
// simulated detector rendered from the simulator's true PSF field (tests/tasks/psfStarField.ts: 2048 x
// 2048 px at 0.168"/px, seeing 0.7", the detector at rho 0.2-0.94 of the focal-plane pattern so that the
// PSF's FWHM runs over 4.19-4.48 px and its optical e1 over 0.003-0.055, e2 over -0.042-0.030 across
// it; 600 stars at S/N 44-550 (DESIGN.md's matched-filter S/N), 250 galaxies, 6
// saturated stars, 6 stars with an unmasked cosmic-ray hit; detection emulated as one source per
// footprint). Acceptance criteria of issue 5 (PSF part), measured on that field:
//  - 5 x 5 grid: the model's adaptive-moment FWHM within 1 % (median) of the true pixel-convolved PSF's,
//    measured the same way;
//  - reserved-star positions: model e1, e2 against the true PSF's (both noise-free) rms < 0.002;
//  - the reserved stars themselves: mean ellipticity residual (star - model) < 0.002 and its rms over the
//    predicted noise < 1.2, on DESIGN.md's bright stars among the reserved stars (unsaturated, no brighter
//    neighbour within 3 FWHM, 100 <= S/N <= 1000) that the fit's chi^2 clipping would not have rejected.
// The numbers in the comments were measured on seed 1 (the test's). Over seeds 1-8 of the same field:
// FWHM median |difference| 0.10-0.18 % (kernels) and 0.08-0.11 % (at phase), max 0.33 %; model - truth e
// rms at the reserved positions 0.0011-0.0015 (e1) and 0.0006-0.0013 (e2); reserved bright non-outlier
// stars (63-73 per seed): |mean residual| <= 0.0017 (e1) and <= 0.0015 (e2), rms / predicted 0.93-1.10.
// Keeping the chi^2 outliers among the reserved bright stars, rms / predicted reaches 1.33 (seed 4) and
// 1.53 (seed 7): blends with a fainter star 5 px away, which detection merged into one source.
// Shapes of the model are measured as LSST's Psf.computeShape does (adaptive moments of the kernel image,
// centred on a pixel); the same comparison with the model drawn at each star's sub-pixel position
// (Lanczos-3, as PSFEx and GalSim draw it) is reported too.
import { beforeAll, describe, expect, it } from 'vitest';
import { adaptiveMoments, ellipticity, momentsFwhm } from '../../lib/measure/adaptiveMoments.js';
import { adaptiveMomentsNoise } from '../../lib/measure/momentsNoise.js';
import { determinePsf, PsfDeterminerError, type PsfDeterminerResult } from '../../lib/measure/psfDeterminer.js';
import { readPsfexFile, writePsfexFile } from '../../lib/measure/psfexFile.js';
import { selectStarsBySize, StarSelectionError } from '../../lib/measure/starSelector.js';
import { MASK_PLANES } from '../../lib/pipeline/maskPlanes.js';
import { mixtureValue } from '../../lib/sim/gaussianMixture.js';
import { makePsfField } from '../../lib/sim/psf.js';
import { Random } from '../../lib/sim/random.js';
import { runPythonJson } from '../helpers/python.js';
import { loadTessera } from '../../node/wasm.js';
import type { Tessera } from '../../lib/wasm/loader.js';
import { makeStarField, truePsfStamp, type StarField } from './psfStarField.js';

const rms = (a: readonly number[]): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
const mean = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
const medianOf = (a: readonly number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
};
let tessera: Tessera;
beforeAll(async () => {
  tessera = await loadTessera('release');
});
const S = 25; // comparison stamp size, px

describe('PSF determination on a simulated detector', () => {
  let field: StarField;
  let result: PsfDeterminerResult;
  const truthOf = (source: number) => field.truth[field.sourceTruth[source]!]!;

  beforeAll(() => {
    field = makeStarField({ seed: 1 });
    result = determinePsf(tessera, field.image, field.sources);
  });

  it('selects the stellar locus by size (LSST objectSize): no galaxy, saturated or flagged source is a candidate', () => {
    const d = result.diagnostics;
    // Measured: 810 sources, 559 candidates, 111 reserved, 448 loaded, 369 used, 79 rejected by chi^2.
    expect(d.nSources).toBe(field.sources.length);
    const candidates = result.candidate.flatMap((c, i) => (c ? [i] : []));
    expect(candidates.length).toBe(d.nCandidates);
    expect(candidates.filter((i) => truthOf(i).kind === 'galaxy')).toEqual([]);
    expect(candidates.filter((i) => truthOf(i).saturated || (field.sources[i]!.flags ?? 0) !== 0)).toEqual([]);
    // Completeness: unsaturated detected stars above the flux cut that the locus holds (measured 0.967).
    const eligible = field.sources.flatMap((s, i) => (truthOf(i).kind === 'star' && !truthOf(i).saturated && s.flux >= 12500 ? [i] : []));
    const found = eligible.filter((i) => result.candidate[i]).length / eligible.length;
    expect(found).toBeGreaterThan(0.9);
    // The stellar width (trace radius) of the locus: the true PSF's sigma ~ 1.9 px.
    expect(d.stellarWidth).toBeGreaterThan(1.8);
    expect(d.stellarWidth).toBeLessThan(2.0);
  });

  it('reserves 20 % of the candidates, never uses a reserved star, and rejects the cosmic-ray hits by chi^2', () => {
    const d = result.diagnostics;
    expect(d.nReserved).toBe(Math.floor(0.2 * d.nCandidates));
    for (let i = 0; i < field.sources.length; i++) {
      if (result.reserved[i] || result.used[i]) expect(result.candidate[i]).toBe(true);
      expect(result.reserved[i] && result.used[i]).toBe(false);
    }
    expect(result.used.filter(Boolean).length).toBe(d.nUsed);
    expect(d.nUsed + d.nRejected + d.nDropped).toBe(d.nCandidates - d.nReserved);
    const hits = field.sources.flatMap((_, i) => (truthOf(i).cosmicRay && result.candidate[i] && !result.reserved[i] ? [i] : []));
    expect(hits.length).toBeGreaterThan(0);
    for (const i of hits) expect(result.used[i]).toBe(false);
    // PSFEx's CHI2 of the used stars ~ 1 (measured 0.989); the model at order 2 and PSF_SAMP 1, 25 x 25.
    expect(d.chi2).toBeGreaterThan(0.9);
    expect(d.chi2).toBeLessThan(1.1);
    expect([d.spatialOrder, d.samplingSize, result.model.width, result.model.height]).toEqual([2, 1, 25, 25]);
    expect([result.model.loaded, result.model.accepted]).toEqual([d.nLoaded, d.nUsed]);
  });

  it('5 x 5 grid: model FWHM within 1 % (median) of the true pixel-convolved PSF measured the same way', () => {
    const { width, height } = field.options;
    const kernel: number[] = [], atPhase: number[] = [];
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < 5; i++) {
        const x = ((i + 0.5) * width) / 5, y = ((j + 0.5) * height) / 5;
        // Kernel images (LSST's convention): both centred on the middle pixel.
        const truthKernel = adaptiveMoments(truePsfStamp(field.psf, x, y, S, 12, 12), S, S, 12, 12);
        kernel.push(result.model.fwhmAt(x, y) / momentsFwhm(truthKernel) - 1);
        // Drawn at the position's sub-pixel phase.
        const st = result.model.stampAt(x, y, S);
        const mm = adaptiveMoments(st.stamp, S, S, x - st.x0, y - st.y0);
        const mt = adaptiveMoments(truePsfStamp(field.psf, x, y, S, x - st.x0, y - st.y0), S, S, x - st.x0, y - st.y0);
        atPhase.push(momentsFwhm(mm) / momentsFwhm(mt) - 1);
      }
    }
    // Measured: median |dFWHM| / FWHM 0.15 % (max 0.33 %) as kernels, 0.11 % (max 0.25 %) at phase.
    expect(medianOf(kernel.map(Math.abs))).toBeLessThan(0.01);
    expect(medianOf(atPhase.map(Math.abs))).toBeLessThan(0.01);
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThan(0.02);
  });

  it('at reserved-star positions the model\'s e1, e2 match the true PSF\'s (noise-free): rms < 0.002', () => {
    const d1: number[] = [], d2: number[] = [], p1: number[] = [], p2: number[] = [];
    for (const s of result.stars) {
      if (s.status !== 'reserved' || !Number.isFinite(s.x)) continue;
      const t = truthOf(s.source);
      const model = result.model.shapeAt(t.x, t.y);
      const [t1, t2] = ellipticity(adaptiveMoments(truePsfStamp(field.psf, t.x, t.y, S, 12, 12), S, S, 12, 12));
      d1.push(model.e1 - t1);
      d2.push(model.e2 - t2);
      const st = result.model.stampAt(t.x, t.y, S);
      const cx = t.x - st.x0, cy = t.y - st.y0;
      const [m1, m2] = ellipticity(adaptiveMoments(st.stamp, S, S, cx, cy));
      const [u1, u2] = ellipticity(adaptiveMoments(truePsfStamp(field.psf, t.x, t.y, S, cx, cy), S, S, cx, cy));
      p1.push(m1 - u1);
      p2.push(m2 - u2);
    }
    expect(d1.length).toBe(result.diagnostics.nReserved);
    // Measured (111 reserved positions): rms 0.0012 (e1), 0.0008 (e2) as kernels; at the stars' sub-pixel
    // phases 0.0022 and 0.0008 (0.0019-0.0026 in e1 over seeds 1-8): Lanczos-3 interpolation, PSFEx's and
    // GalSim's interpolant, changes the width along an axis by a few 1e-3 at a half-pixel phase (with
    // lanczosOrder 5 the e1 rms at phase was ~0.0007 on a noise-free field).
    expect(rms(d1)).toBeLessThan(0.002);
    expect(rms(d2)).toBeLessThan(0.002);
    expect(rms(p1)).toBeLessThan(0.003);
    expect(rms(p2)).toBeLessThan(0.003);
  });

  it('on the reserved bright stars: mean ellipticity residual < 0.002, rms over the predicted noise < 1.2', () => {
    const bright = result.stars.filter((s) => s.status === 'reserved' && Number.isFinite(s.e1Err) && truthOf(s.source).brightStar);
    const kept = bright.filter((s) => !s.outlier);
    const residual = (set: typeof bright) => ({
      mean1: mean(set.map((s) => s.e1 - s.modelE1)), mean2: mean(set.map((s) => s.e2 - s.modelE2)),
      pull1: rms(set.map((s) => (s.e1 - s.modelE1) / s.e1Err)), pull2: rms(set.map((s) => (s.e2 - s.modelE2) / s.e2Err)),
    });
    const r = residual(kept);
    // Measured: 76 reserved bright stars, 64 not chi^2 outliers: mean residual 0.0017 (e1), 0.0015 (e2)
    // (part of it is the adaptive moments' own noise bias: +0.0014, +0.0005, +0.0002 in e1 at S/N 54, 142,
    // 465 for this PSF in a 400-realisation Monte Carlo), rms / predicted 1.07, 0.96. With the 12
    // outliers: 0.0014, 0.0007 and 1.09, 0.95; all 111 reserved stars: 0.0025, -0.0020 and 1.06, 1.03.
    expect(kept.length).toBeGreaterThan(50);
    expect(Math.abs(r.mean1)).toBeLessThan(0.002);
    expect(Math.abs(r.mean2)).toBeLessThan(0.002);
    expect(r.pull1).toBeLessThan(1.2);
    expect(r.pull2).toBeLessThan(1.2);
    // Sanity: the pulls are not small either (the noise prediction is not inflated).
    expect(r.pull1).toBeGreaterThan(0.8);
    expect(r.pull2).toBeGreaterThan(0.8);
  });

  it('round-trips the fitted model through a PSFEx .psf file with identical evaluation', () => {
    const again = readPsfexFile(writePsfexFile(result.model), 'fitted.psf');
    expect(again.polZero).toEqual(result.model.polZero);
    expect(again.polScale).toEqual(result.model.polScale);
    expect([again.fwhm, again.chi2, again.loaded, again.accepted]).toEqual([result.model.fwhm, result.model.chi2, result.model.loaded, result.model.accepted]);
    for (const [x, y] of [[100.25, 1900.5], [1024, 1024], [2000.7, 10.1]] as const) {
      expect(Array.from(again.stampAt(x, y).stamp)).toEqual(Array.from(result.model.stampAt(x, y).stamp));
      expect(again.shapeAt(x, y)).toEqual(result.model.shapeAt(x, y));
    }
  });
});

describe('PSF determination: behaviour on small fields', () => {
  const small = (seed: number) => makeStarField({ seed, width: 600, height: 600, stars: 120, galaxies: 30, saturated: 1, cosmicRayHits: 0 });

  it('is deterministic for a seed; the reserve changes with reserveSeed only; the per-star diagnostics change nothing else', () => {
    const f = small(11);
    const a = determinePsf(tessera, f.image, f.sources);
    const b = determinePsf(tessera, f.image, f.sources);
    expect(Buffer.from(a.model.basis.buffer).equals(Buffer.from(b.model.basis.buffer))).toBe(true);
    expect(a.reserved).toEqual(b.reserved);
    const c = determinePsf(tessera, f.image, f.sources, { reserveSeed: 2 });
    expect(c.candidate).toEqual(a.candidate);
    expect(c.reserved).not.toEqual(a.reserved);
    expect(c.diagnostics.nReserved).toBe(a.diagnostics.nReserved);
    const none = determinePsf(tessera, f.image, f.sources, { reserveFraction: 0 });
    expect(none.diagnostics.nReserved).toBe(0);
    // Without the per-star diagnostics: no star list, and the same model, flags and summary.
    const quiet = determinePsf(tessera, f.image, f.sources, { starDiagnostics: false });
    expect(a.stars.length).toBe(a.diagnostics.nCandidates);
    expect(quiet.stars).toEqual([]);
    expect(Buffer.from(quiet.model.basis.buffer).equals(Buffer.from(a.model.basis.buffer))).toBe(true);
    expect([quiet.candidate, quiet.used, quiet.reserved, quiet.diagnostics]).toEqual([a.candidate, a.used, a.reserved, a.diagnostics]);
  });

  it('gives SAT and INTRP pixels zero weight and drops a star whose centre is masked', () => {
    const f = small(12);
    // The shape slot measured once on the clean image, so that the star selection is the same in every run
    // below (adaptive moments that skip masked pixels shrink slightly, and the locus clip is global).
    const sources = f.sources.map((s) => {
      const m = adaptiveMoments(f.image.image, f.image.width, f.image.height, s.x, s.y, { maxShift: 3 });
      return { ...s, xx: m.xx, yy: m.yy, xy: m.xy };
    });
    const base = determinePsf(tessera, f.image, sources, { reserveFraction: 0 });
    const used = base.stars.filter((s) => s.status === 'used').slice(0, 4);
    const intrp = 1 << MASK_PLANES.INTRP, sat = 1 << MASK_PLANES.SAT;
    // Stars 0-2: garbage (1e6 e-) on a 3-pixel arc 4 px from the centre, masked SAT or INTRP.
    const garbage = (masked: boolean) => {
      const image = { ...f.image, image: f.image.image.slice(), mask: f.image.mask.slice() };
      for (const [k, s] of used.slice(0, 3).entries()) {
        for (const dx of [-1, 0, 1]) {
          const p = (Math.round(s.y) + 4) * f.image.width + Math.round(s.x) + dx;
          image.image[p] = 1e6;
          if (masked) image.mask[p] = k === 0 ? sat : intrp;
        }
      }
      return determinePsf(tessera, image, sources, { reserveFraction: 0 });
    };
    const masked = garbage(true);
    for (const s of used.slice(0, 3)) {
      const d = masked.stars.find((t) => t.source === s.source)!;
      expect(d.status).toBe('used');
      expect(d.chi2).toBeLessThan(1.5);
    }
    // The same garbage unmasked: those stars are not used (rejected by chi^2, or off the locus).
    const unmasked = garbage(false);
    for (const s of used.slice(0, 3)) expect(unmasked.used[s.source]).toBe(false);
    expect(masked.candidate).toEqual(base.candidate);
    // Star 3: its centre pixel masked SAT: dropped.
    const victim = used[3]!;
    const image = { ...f.image, mask: f.image.mask.slice() };
    image.mask[Math.round(victim.y) * f.image.width + Math.round(victim.x)] = sat;
    const dropped = determinePsf(tessera, image, sources, { reserveFraction: 0 }).stars.find((t) => t.source === victim.source)!;
    expect(dropped.status).toBe('dropped');
    expect(dropped.reason).toMatch(/centre/);
  });

  it('fails with typed errors: no source passes the cuts; a bad config; a fit too large for wasm memory', () => {
    const f = small(13);
    expect(() => determinePsf(tessera, f.image, f.sources.map((s) => ({ ...s, flux: 10 })))).toThrow(StarSelectionError);
    expect(() => determinePsf(tessera, f.image, [])).toThrow(StarSelectionError);
    expect(() => determinePsf(tessera, { ...f.image, variance: new Float32Array(3) }, f.sources)).toThrow(PsfDeterminerError);
    expect(() => determinePsf(tessera, f.image, f.sources, { reserveFraction: 1 })).toThrow(/reserveFraction/);
    expect(() => determinePsf(tessera, f.image, f.sources, { kernelSize: 3 })).toThrow(/kernelSize/);
    expect(() => determinePsf(tessera, f.image, f.sources, { badMaskPlanes: ['NOPE'] })).toThrow(/unknown mask plane 'NOPE'/);
    // A grid of 1005 x 1005 samples (201-px stamps, 5 samples a pixel) for each star: named, before any wasm memory is taken.
    const before = tessera.planes.inUseBytes;
    expect(() => determinePsf(tessera, f.image, f.sources, { kernelSize: 201, samplingSize: 0.2 })).toThrow(/201x201-px stamps on a 1005x1005 sample grid need \d+ MiB of wasm memory/);
    expect(tessera.planes.inUseBytes).toBe(before);
  });
});

describe('star selector (LSST objectSizeStarSelector)', () => {
  it('keeps the narrow cluster of small widths and clips its outliers, as LSST\'s own functions do', () => {
    const rng = new Random(3);
    const sources: { flux: number; xx: number; yy: number; bad?: boolean }[] = [];
    for (let i = 0; i < 80; i++) { const w = 1.9 + 0.02 * rng.normal(); sources.push({ flux: 2e4 + 1e5 * rng.uniform(), xx: w * w, yy: w * w }); }
    for (let i = 0; i < 120; i++) { const w = rng.range(2.4, 6); sources.push({ flux: 2e4 + 1e5 * rng.uniform(), xx: w * w * 1.2, yy: w * w * 0.8 }); }
    sources.push({ flux: 5e4, xx: 2.2 ** 2, yy: 2.2 ** 2 }); // just off the locus: clipped
    sources.push({ flux: 5e3, xx: 1.9 ** 2, yy: 1.9 ** 2 }); // below fluxMin
    sources.push({ flux: 5e4, xx: 1.9 ** 2, yy: 1.9 ** 2, bad: true }); // a bad flag
    sources.push({ flux: 5e4, xx: 12 ** 2, yy: 12 ** 2 }); // above widthMax
    const sel = selectStarsBySize(sources);
    // LSST's 2-sigma clip of cluster 0 (sd = min(std, 0.741 IQR)) costs a Gaussian locus ~5-10 % of its
    // members (measured: 72 of 80 kept); nothing beyond the locus is kept.
    expect(sel.selected.slice(0, 80).filter(Boolean).length).toBeGreaterThanOrEqual(68);
    expect(sel.selected.slice(80).filter(Boolean).length).toBe(0);
    expect(sel.considered.slice(-3)).toEqual([false, false, false]);
    expect(sel.centers[0]).toBeCloseTo(1.9, 1);
    // The same selection from LSST's own functions (objectSizeStarSelector.py _assignClusters, _kcenters
    // with useMedian, _improveCluster), transcribed to numpy.
    const considered = sources.flatMap((_, i) => (sel.considered[i] ? [i] : []));
    const lsst = runPythonJson<number[]>(String.raw`
import sys, json
import numpy as np
yvec = np.array(json.loads(sys.argv[1]))
def assign(yvec, centers):
    minDist = np.nan * np.ones_like(yvec); clusterId = np.zeros(len(yvec), dtype=int)
    for i, mean in enumerate(centers):
        dist = abs(yvec - mean)
        update = dist == dist if i == 0 else dist < minDist
        minDist[update] = dist[update]; clusterId[update] = i
    return clusterId
def kcenters(yvec, nCluster, widthStdAllowed):
    mean0 = sorted(yvec)[len(yvec)//10]
    centers = mean0 + mean0 * widthStdAllowed * 2.0 * np.arange(nCluster)
    clusterId = np.zeros(len(yvec), dtype=int) - 1
    while True:
        old = clusterId; clusterId = assign(yvec, centers)
        if np.all(clusterId == old): break
        for i in range(nCluster):
            pts = clusterId == i
            centers[i] = np.median(yvec[pts]) if np.any(pts) else np.nan
    return centers, clusterId
def improve(yvec, centers, clusterId, nsigma, widthStdAllowed, clusterNum=0, nIteration=10):
    nMember = sum(clusterId == clusterNum)
    if nMember < 5: return clusterId
    for it in range(nIteration):
        old = nMember; inC = clusterId == clusterNum; yv = yvec[inC]
        centers[clusterNum] = np.median(yv); stdev = np.std(yv)
        syv = sorted(yv); iqr = 0.741 * (syv[int(0.75*nMember)] - syv[int(0.25*nMember)]); median = syv[int(0.5*nMember)]
        sd = stdev if stdev < iqr else iqr
        new = abs(yvec - centers[clusterNum]) < nsigma * sd
        clusterId[np.logical_and(inC, new)] = clusterNum; clusterId[np.logical_and(inC, np.logical_not(new))] = -1
        nMember = sum(clusterId == clusterNum)
        if nMember == old or sd < widthStdAllowed * median: break
    return clusterId
centers, cid = kcenters(yvec, 4, 0.15)
cid = improve(yvec, centers, cid, 2.0, 0.15)
print(json.dumps([int(c == 0) for c in cid]))
`, [JSON.stringify(considered.map((i) => sel.width[i]))]);
    expect(lsst).toEqual(considered.map((i) => (sel.selected[i] ? 1 : 0)));
    expect(() => selectStarsBySize(sources.map((s) => ({ ...s, flux: 1 })))).toThrow(StarSelectionError);
    expect(() => selectStarsBySize(sources, { widthMin: 5, widthMax: 4 })).toThrow(RangeError);
  });
});

describe('adaptive-moment noise prediction (lib/measure/momentsNoise.ts)', () => {
  it('matches the scatter of e1, e2 over noise realisations of a simulated star', () => {
    const psf = makePsfField({ fwhmArcsec: 0.7, pixelScale: 0.168, focalPlane: (x, y) => [x + 2000, y], pattern: { fieldRadius: 3000, ellipticityRadial: 0.06 } });
    const m = psf.at(0, 0);
    const n = 41, cx = 20.3, cy = 20.7, flux = 5e4, sky = 1000;
    const clean = new Float64Array(n * n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) clean[j * n + i] = flux * mixtureValue(m, i - cx, j - cy);
    const rng = new Random(5);
    const e1: number[] = [], e2: number[] = [], p1: number[] = [], p2: number[] = [];
    for (let r = 0; r < 200; r++) {
      const img = new Float64Array(n * n), v = new Float64Array(n * n);
      for (let i = 0; i < n * n; i++) { const val = sky + clean[i]! + Math.sqrt(sky + clean[i]!) * rng.normal(); img[i] = val - sky; v[i] = val; }
      const mm = adaptiveMoments(img, n, n, cx, cy);
      const [a, b] = ellipticity(mm);
      e1.push(a); e2.push(b);
      const noise = adaptiveMomentsNoise(img, v, n, n, mm)!;
      p1.push(noise.e1Err); p2.push(noise.e2Err);
    }
    const sd = (a: number[]) => { const mu = mean(a); return Math.sqrt(a.reduce((s, x) => s + (x - mu) ** 2, 0) / (a.length - 1)); };
    // Measured: scatter 0.0126 (e1), 0.0117 (e2) against predicted 0.0126, 0.0125 (200 realisations: +-5 %).
    expect(sd(e1) / mean(p1)).toBeGreaterThan(0.88);
    expect(sd(e1) / mean(p1)).toBeLessThan(1.12);
    expect(sd(e2) / mean(p2)).toBeGreaterThan(0.88);
    expect(sd(e2) / mean(p2)).toBeLessThan(1.12);
  });
});
