// The simulated sky (lib/sim): Sersic mixtures (unit weight, exact half-light radius, the stated fit
// residuals against the truncated Sersic profile, elliptical moments, convolution), the stellar locus
// (wPerp robust scatter within 10 % of its intrinsic width, the blue-branch slope), number counts
// (exact integrals and sampling), and the sky catalogue (realised counts within Poisson errors of the
// models, galaxy properties as stated, bright stars per detector, determinism and stable ids).
import { describe, expect, it } from 'vitest';
import { Random } from '../../lib/sim/random.js';
import {
  sersicMixture, SERSIC_B, SERSIC_FIT_HALF_LIGHT, SERSIC_TRUNCATION, type SersicIndex,
  convolveMixtures, mixtureEnclosedFlux, mixtureHalfLightRadius, mixtureTotalWeight, mixtureValue, mixtureMoments,
  mixtureEllipticity, mixtureFwhm, shearMixture,
} from '../../lib/sim/sersic.js';
import type { GaussianMixture } from '../../lib/sim/types.js';
import {
  BLUE_SLOPE, LOCUS_WIDTH_WPERP, LOCUS_WIDTH_PERP, STELLAR_LOCUS, drawStellarColours, locusPoint, locusSegments, principalColours,
  starMagnitudes, G_RED,
} from '../../lib/sim/stellarLocus.js';
import { NumberCounts } from '../../lib/sim/numberCounts.js';
import {
  BRIGHT_STAR_MAG_RANGE, DEFAULT_GALACTIC_LATITUDE, expectedStarsPerDeg2, latitudeForStarDensity, starCounts, starDifferentialCounts,
} from '../../lib/sim/starCounts.js';
import { bulgeFraction, galaxyCounts, GALAXY_MODEL, medianHalfLightRadius } from '../../lib/sim/galaxyCounts.js';
import { makeSkyCatalog, regionAreaDeg2, SKY_ID_CODES, SKY_ID_STRIDE } from '../../lib/sim/skyCatalog.js';

const robustScatter = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[s.length >> 1]!;
  const dev = s.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
  return 1.4826 * dev[dev.length >> 1]!;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The truncated Sersic profile (units of a) normalised to unit flux, and its curve of growth, by quadrature. */
function truncatedSersic(n: SersicIndex): { intensity: (r: number) => number; enclosed: (r: number) => number } {
  const b = SERSIC_B[n];
  const { inner, outer } = SERSIC_TRUNCATION[n];
  const raw = (r: number): number => {
    const taper = r < inner ? 1 : r > outer ? 0 : (1 - ((r - inner) / (outer - inner)) ** 2) ** 2;
    return Math.exp(-b * (r ** (1 / n) - 1)) * taper;
  };
  // Cumulative 2 pi r I dr on a fine grid (Simpson in sqrt(r) would be more accurate at the n = 4 cusp;
  // 400k trapezoid steps are enough for 1e-6).
  const steps = 400_000, h = outer / steps;
  const cum = new Float64Array(steps + 1);
  for (let k = 0; k < steps; k++) {
    const r0 = k * h, r1 = r0 + h;
    cum[k + 1] = cum[k]! + 0.5 * h * (2 * Math.PI * r0 * raw(r0) + 2 * Math.PI * r1 * raw(r1));
  }
  const total = cum[steps]!;
  return {
    intensity: (r) => raw(r) / total,
    enclosed: (r) => {
      if (r >= outer) return 1;
      const x = r / h, k = Math.floor(x);
      return (cum[k]! + (x - k) * (cum[k + 1]! - cum[k]!)) / total;
    },
  };
}

/** Weight inside the ellipse of semi-major axis a, axis ratio q, major axis at angle t: map it to a circle. */
function enclosedInEllipse(m: GaussianMixture, a: number, q: number, t: number): number {
  const c = Math.cos(t), s = Math.sin(t);
  // A = diag(1, 1/q) R(-t); M' = A M A^T.
  const r = [[c, s], [-s / q, c / q]] as const;
  const mapped = m.map((g) => {
    const M = [[g.xx, g.xy], [g.xy, g.yy]];
    const AM = r.map((row) => [row[0] * M[0]![0]! + row[1] * M[1]![0]!, row[0] * M[0]![1]! + row[1] * M[1]![1]!]);
    return {
      weight: g.weight,
      xx: AM[0]![0]! * r[0][0] + AM[0]![1]! * r[0][1],
      xy: AM[0]![0]! * r[1][0] + AM[0]![1]! * r[1][1],
      yy: AM[1]![0]! * r[1][0] + AM[1]![1]! * r[1][1],
    };
  });
  return mixtureEnclosedFlux(mapped, a);
}

describe('sersicMixture', () => {
  for (const n of [1, 4] as const) {
    it(`n = ${n}: unit weight and the circle of radius r_e holds exactly half (Hogg & Lang lux: 0.507 / 0.526)`, () => {
      for (const re of [0.7, 3, 40]) {
        const m = sersicMixture(n, re, 1, 0);
        expect(Math.abs(mixtureTotalWeight(m) - 1)).toBeLessThan(1e-12);
        expect(Math.abs(mixtureEnclosedFlux(m, re) - 0.5)).toBeLessThan(1e-6);
        expect(Math.abs(mixtureHalfLightRadius(m) / re - 1)).toBeLessThan(1e-6);
      }
    });

    it(`n = ${n}: elliptical profiles hold half their flux inside the half-light ellipse, with e = (1 - q^2) / (1 + q^2) at 2 theta`, () => {
      for (const [q, theta] of [[0.3, 0.4], [0.7, -1.2], [1, 2.0]] as const) {
        const m = sersicMixture(n, 8, q, theta);
        expect(Math.abs(enclosedInEllipse(m, 8, q, theta) - 0.5)).toBeLessThan(1e-6);
        const [e1, e2] = mixtureEllipticity(m);
        const e = (1 - q * q) / (1 + q * q);
        expect(Math.abs(e1 - e * Math.cos(2 * theta))).toBeLessThan(1e-12);
        expect(Math.abs(e2 - e * Math.sin(2 * theta))).toBeLessThan(1e-12);
      }
    });

    it(`n = ${n}: matches the truncated Sersic profile within the stated residuals`, () => {
      const profile = truncatedSersic(n);
      // Mixture of half-light radius R = SERSIC_FIT_HALF_LIGHT[n] has Sersic scale a = 1.
      const m = sersicMixture(n, SERSIC_FIT_HALF_LIGHT[n], 1, 0);
      const bins = n === 1
        ? [[0.01, 1, 0.0035], [1, 2, 0.012], [2, 2.57, 0.02]]
        : [[0.01, 3, 0.015], [3, 3.98, 0.02], [3.98, 5.65, 0.05]];
      for (const [lo, hi, tol] of bins) {
        let worst = 0;
        for (let k = 0; k <= 400; k++) {
          const r = lo! * (hi! / lo!) ** (k / 400);
          worst = Math.max(worst, Math.abs(mixtureValue(m, r, 0) / profile.intensity(r) - 1));
        }
        expect(worst, `n=${n} r/a in [${lo}, ${hi}]`).toBeLessThan(tol!);
      }
      let cogWorst = 0;
      for (let k = 0; k <= 300; k++) {
        const r = 0.01 * (SERSIC_TRUNCATION[n].outer * 1.2 / 0.01) ** (k / 300);
        cogWorst = Math.max(cogWorst, Math.abs(mixtureEnclosedFlux(m, r) - profile.enclosed(r)));
      }
      expect(cogWorst).toBeLessThan(n === 1 ? 0.0045 : 0.0065);
    });
  }

  it('rejects indices other than 1 and 4 and bad shapes', () => {
    expect(() => sersicMixture(2, 3, 1, 0)).toThrow(/index 2/);
    expect(() => sersicMixture(1, 0, 1, 0)).toThrow(/half-light/);
    expect(() => sersicMixture(1, 3, 1.2, 0)).toThrow(/axis ratio/);
  });
});

describe('Gaussian mixture helpers', () => {
  it('convolution multiplies weights and adds moments', () => {
    const a = sersicMixture(1, 5, 0.5, 0.3);
    const b: GaussianMixture = [{ weight: 0.7, xx: 2, yy: 3, xy: 0.4 }, { weight: 0.3, xx: 9, yy: 8, xy: -1 }];
    const c = convolveMixtures(a, b);
    expect(c.length).toBe(a.length * b.length);
    expect(Math.abs(mixtureTotalWeight(c) - mixtureTotalWeight(a) * mixtureTotalWeight(b))).toBeLessThan(1e-12);
    const ma = mixtureMoments(a), mb = mixtureMoments(b), mc = mixtureMoments(c);
    expect(Math.abs(mc.xx - (ma.xx + mb.xx))).toBeLessThan(1e-10);
    expect(Math.abs(mc.yy - (ma.yy + mb.yy))).toBeLessThan(1e-10);
    expect(Math.abs(mc.xy - (ma.xy + mb.xy))).toBeLessThan(1e-10);
    // Two Gaussians: the convolution's peak is 1 / (2 pi sqrt(det(Ma + Mb))).
    const g1: GaussianMixture = [{ weight: 1, xx: 2, yy: 1, xy: 0.3 }];
    const g2: GaussianMixture = [{ weight: 1, xx: 1.5, yy: 4, xy: -0.2 }];
    const peak = mixtureValue(convolveMixtures(g1, g2), 0, 0);
    expect(Math.abs(peak * 2 * Math.PI * Math.sqrt(3.5 * 5 - 0.1 * 0.1) - 1)).toBeLessThan(1e-14);
  });

  it('FWHM of a Gaussian is 2 sqrt(2 ln 2) sigma, unchanged by an area-preserving shear', () => {
    const g: GaussianMixture = [{ weight: 1, xx: 4, yy: 4, xy: 0 }];
    expect(Math.abs(mixtureFwhm(g) / (2 * Math.sqrt(2 * Math.LN2) * 2) - 1)).toBeLessThan(1e-9);
    const sheared = shearMixture(g, 0.3, -0.2);
    expect(Math.abs(mixtureFwhm(sheared) / mixtureFwhm(g) - 1)).toBeLessThan(1e-9);
    const [e1, e2] = mixtureEllipticity(sheared);
    expect(Math.abs(e1 - 0.3)).toBeLessThan(1e-12);
    expect(Math.abs(e2 + 0.2)).toBeLessThan(1e-12);
  });

  it('enclosed flux of an elliptical Gaussian matches a fine pixel sum', () => {
    const g: GaussianMixture = [{ weight: 1, xx: 9, yy: 2, xy: 1.5 }];
    const R = 3.3;
    const step = 0.01;
    let sum = 0;
    for (let y = -R; y <= R; y += step) for (let x = -R; x <= R; x += step) if (x * x + y * y <= R * R) sum += mixtureValue(g, x, y) * step * step;
    expect(Math.abs(mixtureEnclosedFlux(g, R) - sum)).toBeLessThan(2e-3);
  });
});

describe('stellar locus', () => {
  const rng = Random.stream(11, 'test', 'locus');
  const stars = Array.from({ length: 5000 }, () => drawStellarColours(rng));

  it('has wPerp robust scatter within 10 % of its intrinsic width and the blue-branch slope on -0.2 < wPara < 0.6', () => {
    const blue = stars.map((s) => ({ s, p: principalColours(20 + s.gr, 20, 20 - s.ri) })).filter(({ p }) => p.wPara > -0.2 && p.wPara < 0.6);
    expect(blue.length).toBeGreaterThan(2000);
    const w = blue.map(({ p }) => p.wPerp);
    expect(Math.abs(robustScatter(w) / LOCUS_WIDTH_WPERP - 1)).toBeLessThan(0.1);
    expect(Math.abs(median(w))).toBeLessThan(5 * 1.2533 * LOCUS_WIDTH_WPERP / Math.sqrt(w.length));
    // Least-squares slope of r-i on g-r.
    const xs = blue.map(({ s }) => s.gr), ys = blue.map(({ s }) => s.ri);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxy = 0, sxx = 0;
    xs.forEach((x, k) => { sxy += (x - mx) * (ys[k]! - my); sxx += (x - mx) ** 2; });
    expect(Math.abs(sxy / sxx - BLUE_SLOPE)).toBeLessThan(0.01);
    expect(Math.abs(STELLAR_LOCUS.blueSlope - 0.227 / 0.567)).toBe(0);
  });

  it('has the M-dwarf red branch at xPerp = 0 with the same geometric width', () => {
    const red = stars.map((s) => principalColours(20 + s.gr, 20, 20 - s.ri)).filter((p) => p.xPara > 0.8 && p.xPara < 1.6);
    expect(red.length).toBeGreaterThan(500);
    const x = red.map((p) => p.xPerp);
    expect(Math.abs(robustScatter(x) / (0.707 * LOCUS_WIDTH_PERP) - 1)).toBeLessThan(0.1);
    expect(Math.abs(median(x))).toBeLessThan(0.005);
  });

  it('draws the stated population mix and is continuous with unit normals', () => {
    const n = stars.length;
    for (const [pop, f] of [['turnoff', 0.5], ['kDwarfs', 0.2], ['mDwarfs', 0.3]] as const) {
      const k = stars.filter((s) => s.population === pop).length;
      expect(Math.abs(k - f * n)).toBeLessThan(5 * Math.sqrt(n * f * (1 - f)));
    }
    const seg = locusSegments();
    for (const s of [seg.blueEnd, seg.bendEnd]) {
      const a = locusPoint(s - 1e-9), b = locusPoint(s + 1e-9);
      expect(Math.hypot(a.gr - b.gr, a.ri - b.ri)).toBeLessThan(1e-6);
      expect(Math.hypot(a.normal[0] - b.normal[0], a.normal[1] - b.normal[1])).toBeLessThan(1e-4);
    }
    for (let s = 0; s <= seg.end; s += 0.05) expect(Math.abs(Math.hypot(...locusPoint(s).normal) - 1)).toBeLessThan(1e-12);
    expect(locusPoint(seg.end).gr).toBe(G_RED);
    const m = starMagnitudes(20, { gr: 0.5, ri: 0.2 });
    expect(m).toEqual({ g: 20.5, r: 20, i: 19.8 });
  });
});

describe('NumberCounts', () => {
  const counts = new NumberCounts([14, 16, 20, 26], [0, 1.2, 3.0, 4.7]);

  it('integrates exactly and samples its own density', () => {
    // Simpson on a fine grid against the closed form.
    const a = 15.3, b = 24.1, steps = 20000, h = (b - a) / steps;
    let s = counts.density(a) + counts.density(b);
    for (let k = 1; k < steps; k++) s += (k % 2 ? 4 : 2) * counts.density(a + k * h);
    expect(Math.abs((s * h) / 3 / counts.integral(a, b) - 1)).toBeLessThan(1e-8);
    expect(counts.density(13.9)).toBe(0);
    const rng = Random.stream(3, 'test', 'counts');
    const n = 100_000;
    const edges = [18, 19, 20, 21, 22, 23, 24];
    const hist = new Array(edges.length - 1).fill(0);
    const draw = counts.sampler(18, 24);
    let outside = 0;
    for (let k = 0; k < n; k++) {
      const m = draw(rng);
      if (!(m >= 18 && m < 24)) outside++;
      hist[Math.min(Math.floor(m - 18), 5)]++;
    }
    expect(outside).toBe(0);
    const total = counts.integral(18, 24);
    hist.forEach((h, k) => {
      const p = counts.integral(edges[k]!, edges[k + 1]!) / total;
      expect(Math.abs(h - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    });
  });
});

describe('star and galaxy counts', () => {
  it('tabulates the star-count formula within 1e-4 and grows towards the plane', () => {
    const t = starCounts(30);
    for (let m = 10; m < 26; m += 0.037) expect(Math.abs(t.density(m) / starDifferentialCounts(m, 30) - 1)).toBeLessThan(1e-4);
    expect(expectedStarsPerDeg2(20)).toBeGreaterThan(expectedStarsPerDeg2(40));
    const b = latitudeForStarDensity(4000);
    expect(Math.abs(expectedStarsPerDeg2(b) / 4000 - 1)).toBeLessThan(1e-6);
  });

  it('gives at least 50 bright stars (r 17.5-22) per 1024x2048-px detector (0.00457 deg^2) at the default latitude with P > 0.99', () => {
    const area = ((1024 * 0.168) / 3600) * ((2048 * 0.168) / 3600);
    const mu = expectedStarsPerDeg2(DEFAULT_GALACTIC_LATITUDE, BRIGHT_STAR_MAG_RANGE[0], BRIGHT_STAR_MAG_RANGE[1]) * area;
    let p = Math.exp(-mu), below = 0;
    for (let k = 0; k < 50; k++) { below += p; p *= mu / (k + 1); }
    expect(mu).toBeGreaterThan(70);
    expect(1 - below).toBeGreaterThan(0.99);
  });

  it('states galaxy counts with the Euclidean bright slope and ~1e5 per deg^2 to r = 26', () => {
    const g = galaxyCounts();
    expect(Math.abs(Math.log10(g.density(15.5) / g.density(14.5)) - 0.6)).toBeLessThan(1e-12);
    expect(g.integral(16, 26)).toBeGreaterThan(8e4);
    expect(g.integral(16, 26)).toBeLessThan(1.2e5);
  });
});

describe('makeSkyCatalog', () => {
  const params = { seed: 7, centerRa: 150.1, centerDec: 2.2, radiusDeg: 0.3, galacticLatitude: 30, magLimit: 25 };
  const cat = makeSkyCatalog(params);
  const area = cat.meta.areaDeg2;

  it('realises the star and galaxy counts within Poisson errors, per magnitude bin', () => {
    expect(Math.abs(area - 2 * Math.PI * (1 - Math.cos(0.3 * Math.PI / 180)) * (180 / Math.PI) ** 2)).toBeLessThan(1e-12);
    const stars = cat.objects.filter((o) => Math.floor(o.id / SKY_ID_STRIDE) === SKY_ID_CODES.star);
    const gals = cat.objects.filter((o) => Math.floor(o.id / SKY_ID_STRIDE) === SKY_ID_CODES.galaxy);
    expect(stars.length).toBe(cat.meta.counts.stars);
    expect(gals.length).toBe(cat.meta.counts.galaxies);
    expect(Math.abs(stars.length - cat.meta.expected.stars)).toBeLessThan(4 * Math.sqrt(cat.meta.expected.stars));
    expect(Math.abs(gals.length - cat.meta.expected.galaxies)).toBeLessThan(4 * Math.sqrt(cat.meta.expected.galaxies));
    const sc = starCounts(30), gc = galaxyCounts();
    for (let m = 14; m < 25; m += 1) {
      const ns = stars.filter((o) => o.mag.r >= m && o.mag.r < m + 1).length;
      const es = area * sc.integral(m, m + 1);
      expect(Math.abs(ns - es), `stars r ${m}`).toBeLessThan(4.5 * Math.sqrt(es) + 1);
      if (m >= 16) {
        const ng = gals.filter((o) => o.mag.r >= m && o.mag.r < m + 1).length;
        const eg = area * gc.integral(m, m + 1);
        expect(Math.abs(ng - eg), `galaxies r ${m}`).toBeLessThan(4.5 * Math.sqrt(eg) + 1);
      }
    }
    expect(Math.max(...cat.objects.map((o) => o.mag.r))).toBeLessThanOrEqual(25);
  });

  it('places objects uniformly inside the circle', () => {
    const d2r = Math.PI / 180;
    const c = [Math.cos(2.2 * d2r) * Math.cos(150.1 * d2r), Math.cos(2.2 * d2r) * Math.sin(150.1 * d2r), Math.sin(2.2 * d2r)];
    const cosSep = cat.objects.map((o) => c[0]! * Math.cos(o.dec * d2r) * Math.cos(o.ra * d2r) + c[1]! * Math.cos(o.dec * d2r) * Math.sin(o.ra * d2r) + c[2]! * Math.sin(o.dec * d2r));
    const cosR = Math.cos(0.3 * d2r);
    expect(Math.min(...cosSep)).toBeGreaterThanOrEqual(cosR - 1e-15);
    // Half the area lies inside cos(theta) > (1 + cos R) / 2.
    const inner = cosSep.filter((x) => x > (1 + cosR) / 2).length, n = cosSep.length;
    expect(Math.abs(inner - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
    // And east/west halves are balanced.
    const east = cat.objects.filter((o) => o.ra > 150.1).length;
    expect(Math.abs(east - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
  });

  it('draws galaxy morphology, sizes, shapes and colours as stated', () => {
    const gals = cat.objects.filter((o) => Math.floor(o.id / SKY_ID_STRIDE) === SKY_ID_CODES.galaxy);
    for (const [lo, hi] of [[18, 21], [21, 23], [23, 25]] as const) {
      const bin = gals.filter((o) => o.mag.r >= lo && o.mag.r < hi);
      const expected = bin.reduce((s, o) => s + bulgeFraction(o.mag.r), 0);
      const bulges = bin.filter((o) => o.sersic === 4).length;
      expect(Math.abs(bulges - expected), `bulges r ${lo}-${hi}`).toBeLessThan(5 * Math.sqrt(expected));
      for (const n of [1, 4] as const) {
        // Median of log10(re / median(r)) is 0 with 0.20 dex scatter (clipping is far in the tails here).
        const ratios = bin.filter((o) => o.sersic === n).map((o) => Math.log10(o.halfLightRadius! / medianHalfLightRadius(o.mag.r, n)));
        expect(Math.abs(median(ratios)), `size median n=${n} r ${lo}-${hi}`).toBeLessThan(5 * 1.2533 * 0.2 / Math.sqrt(ratios.length));
        expect(Math.abs(robustScatter(ratios) / GALAXY_MODEL.size.scatterDex - 1)).toBeLessThan(0.1);
      }
    }
    const disks = gals.filter((o) => o.sersic === 1).map((o) => o.axisRatio!);
    // E[q] for cos i uniform and thickness 0.2, by quadrature.
    let eq = 0;
    for (let k = 0; k < 10000; k++) { const c = (k + 0.5) / 10000; eq += Math.sqrt(c * c + 0.04 * (1 - c * c)) / 10000; }
    const meanQ = disks.reduce((a, b) => a + b, 0) / disks.length;
    expect(Math.abs(meanQ - eq)).toBeLessThan(5 * 0.28 / Math.sqrt(disks.length));
    expect(Math.min(...disks)).toBeGreaterThanOrEqual(0.2);
    const pa = gals.map((o) => o.positionAngle!);
    expect(Math.min(...pa)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...pa)).toBeLessThan(180);
    expect(Math.abs(pa.filter((x) => x < 90).length - pa.length / 2)).toBeLessThan(5 * Math.sqrt(pa.length / 4));
    const red = gals.filter((o) => o.sersic === 4 && o.mag.r < 20).map((o) => o.mag.g - o.mag.r);
    const blue = gals.filter((o) => o.sersic === 1 && o.mag.r < 20).map((o) => o.mag.g - o.mag.r);
    expect(median(red)).toBeGreaterThan(median(blue) + 0.3);
  });

  it('adds the bright stars and large galaxies, with unique ids', () => {
    const bright = cat.objects.filter((o) => Math.floor(o.id / SKY_ID_STRIDE) === SKY_ID_CODES.brightStar);
    const large = cat.objects.filter((o) => Math.floor(o.id / SKY_ID_STRIDE) === SKY_ID_CODES.largeGalaxy);
    expect(bright.length).toBe(3);
    expect(large.length).toBe(2);
    for (const o of bright) { expect(o.kind).toBe('star'); expect(o.mag.r >= 10 && o.mag.r < 14).toBe(true); }
    for (const o of large) {
      expect(o.kind).toBe('galaxy');
      expect(o.mag.r >= 14 && o.mag.r < 17).toBe(true);
      expect(o.halfLightRadius! >= 5 && o.halfLightRadius! <= 20).toBe(true);
    }
    expect(new Set(cat.objects.map((o) => o.id)).size).toBe(cat.objects.length);
    const ids = cat.objects.map((o) => o.id);
    expect(ids.every((id, k) => k === 0 || id > ids[k - 1]!)).toBe(true);
  });

  it('is deterministic, and a deeper limit is a superset with the same ids', () => {
    const again = makeSkyCatalog(params);
    expect(again.objects).toEqual(cat.objects);
    const other = makeSkyCatalog({ ...params, seed: 8 });
    expect(other.objects[10]).not.toEqual(cat.objects[10]);
    const shallow = makeSkyCatalog({ ...params, magLimit: 23.2 });
    const byId = new Map(cat.objects.map((o) => [o.id, o]));
    for (const o of shallow.objects) expect(byId.get(o.id)).toEqual(o);
    expect(shallow.objects.length).toBe(cat.objects.filter((o) => o.mag.r <= 23.2).length);
  });

  it('draws over an RA/Dec box across RA = 0 with its exact area', () => {
    const box = makeSkyCatalog({ seed: 3, centerRa: 0, centerDec: -30, box: { raMin: -0.2, raMax: 0.3, decMin: -30.2, decMax: -29.9 }, magLimit: 22 });
    expect(Math.abs(box.meta.areaDeg2 - regionAreaDeg2({ kind: 'box', raMin: -0.2, raMax: 0.3, decMin: -30.2, decMax: -29.9 }))).toBe(0);
    for (const o of box.objects) {
      expect(o.ra >= 359.8 || o.ra < 0.3).toBe(true);
      expect(o.dec >= -30.2 && o.dec <= -29.9).toBe(true);
    }
    expect(() => makeSkyCatalog({ seed: 1, centerRa: 0, centerDec: 0 })).toThrow(/exactly one/);
    expect(() => makeSkyCatalog({ seed: 1, centerRa: 0, centerDec: 0, radiusDeg: 0.1, magLimit: 27 })).toThrow(/magLimit/);
  });
});
