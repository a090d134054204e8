// Aperture corrections in forced coadd photometry (issue 6, DMTR-51's DM-13058), on the demo preset's
// processed repository: for stars not used in the aperture-correction fit, the corrected forced PSF
// magnitude minus the 12-px aperture magnitude has a median within 5 mmag in every S/N bin.
// NOT PART OF `npm test` (tests/measures is no test layer): it fails today in the S/N 100-200 bin (r:
// -5.2 mmag in a clean-clone run), which the coadd's background over-subtraction explains (about -0.07 nJy
// per pixel under the 12-px aperture, tests/measures/coadd-background.test.ts), and a failing test cannot
// land. Run it with `npx vitest run tests/measures/coadd-apcorr.test.ts`.
import { beforeAll, describe, expect, it } from 'vitest';
import { processedRepository } from '../helpers/processedRepository.js';
import { loadCoaddMeasurement, median, type CoaddMeasurement } from '../helpers/coaddMeasurement.js';

const PRESET = (process.env.TESSERA_ACCURACY_PRESET ?? 'demo') as 'tiny' | 'demo';
let data: CoaddMeasurement;

beforeAll(async () => {
  data = await loadCoaddMeasurement(processedRepository(PRESET));
}, 1_800_000);

describe('coadd aperture corrections (demo preset)', () => {
  it('corrects forced PSF magnitudes to the 12-px aperture for stars not in the fit (median within 5 mmag per S/N bin)', () => {
    const bins: [number, number][] = [[50, 100], [100, 200], [200, 500], [500, Infinity]];
    for (const band of new Set(data.forcedStars.map((s) => s.band))) {
      for (const [lo, hi] of bins) {
        const d = data.forcedStars.filter((s) => s.band === band && !s.apCorrUsed && s.snr >= lo && s.snr < hi).map((s) => s.psfMinusAp12);
        if (d.length < 10) continue;
        console.log(`forced PSF - 12-px aperture mag, ${band}, S/N ${lo}-${hi}: ${d.length} stars, median ${median(d).toFixed(2)} mmag`);
        expect(Math.abs(median(d)), `${band} S/N ${lo}-${hi}`).toBeLessThan(5);
      }
    }
  });
});
