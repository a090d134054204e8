/**
 * `tessera demo [--out DIR]`: the main job, end to end with what exists so far. It renders a small
 * star field with a TAN-SIP WCS, writes it as an LSST afw Exposure (with checksums), reads it back and
 * verifies it, smooths it with the SIMD wasm Gaussian kernel, writes the result, and inspects both
 * files (and the real HSC calexp in ../shared/data/real when present); then it simulates the `demo`
 * preset's survey (tessera sim), creates a data repository, ingests the survey into it, and runs the
 * pipeline over it (tessera run: master calibrations, certified, then processCcd of every science raw:
 * isr, characterizeImage, calibrate, then makeWarp of every visit onto the patches it reaches and
 * assembleCoadd of every patch and band, then detection on every coadd, merged across bands per patch,
 * measurement of every band, each object's reference band, forced photometry and the Parquet object
 * table of each patch), then prints the run's report, one source catalogue's provenance, the
 * inspection of one warp and one coadd, a coadd catalogue's size and the object tables, extracts and
 * calibrates the sources of one postISRCCD against the reference catalogue (tessera extract --refcat),
 * and extracts the sources of the real HSC and SEP images (tessera extract, also in SExtractor's mode),
 * and takes the six real DECam cut-outs through the pipeline's `images` subset in a repository of their
 * own (DIR/decam-repo: single-frame processing, warps, coadds, the object table).
 * As later steps land the shipped pipeline and so the demo run them too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseCommandArgs, type Command } from '../command.js';
import { readSourceCatalog } from '../../lib/measure/sourceCatalog.js';
import { loadTessera } from '../wasm.js';
import { packageRoot } from '../packageRoot.js';
import { fileSource } from '../fits/fileSource.js';
import { FitsHeader, openFits, readExposure, readFitsBytes, writeExposure, type Exposure } from '../../lib/fits/index.js';
import { parseWcs } from '../../lib/wcs/index.js';
import { convolveSeparable } from '../../lib/image/convolve.js';
import { gaussianKernel } from '../../lib/image/gaussianKernel.js';
import { formatInspection } from '../../lib/inspect.js';
import { inspectFile } from './inspect.js';
import { PRESETS } from '../../lib/sim/presets.js';
import type { SimManifest } from '../../lib/sim/survey.js';
import { simulateInto } from './sim.js';
import { repoCommand } from './repo.js';
import { ingestCommand } from './ingest.js';
import { runCommand } from './run.js';
import { reportCommand } from './report.js';
import { provenanceCommand } from './provenance.js';
import { extractCommand } from './extract.js';
import { ingestImagesCommand } from './ingestImages.js';
import { ingestRefcatCommand } from './ingestRefcat.js';
import { makeSkymapCommand } from './makeSkymap.js';
import { Repository } from '../repository/repository.js';
import { startServer } from '../server/apiServer.js';
import { readPackageVersion } from '../version.js';
import { buildIdentity, simulatorIdentity, stamp, stampedBy } from '../buildIdentity.js';

const WIDTH = 512;
const HEIGHT = 1024;
const SKY = 1000; // electrons per pixel
const PSF_SIGMA = 1.8; // pixels

/** A deterministic uniform generator (mulberry32) so the demo's files are the same on every run. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** TAN-SIP WCS at 0.168"/px near the COSMOS field, with a small quadratic distortion. */
function demoWcsHeader(): FitsHeader {
  const scale = 0.168 / 3600;
  return new FitsHeader()
    .set('CTYPE1', 'RA---TAN-SIP').set('CTYPE2', 'DEC--TAN-SIP')
    .set('CRVAL1', 150.1, undefined, { real: true }).set('CRVAL2', 2.2, undefined, { real: true })
    .set('CRPIX1', (WIDTH + 1) / 2).set('CRPIX2', (HEIGHT + 1) / 2)
    .set('CD1_1', -scale).set('CD1_2', 0, undefined, { real: true })
    .set('CD2_1', 0, undefined, { real: true }).set('CD2_2', scale)
    .set('A_ORDER', 2).set('A_2_0', 2e-7).set('A_0_2', -1e-7).set('A_1_1', 5e-8)
    .set('B_ORDER', 2).set('B_2_0', -1e-7).set('B_0_2', 2e-7).set('B_1_1', 3e-8)
    .set('RADESYS', 'ICRS');
}

/** Renders Gaussian stars on a flat sky with Gaussian-approximated Poisson noise. */
function renderStarField(seed: number): { exposure: Exposure; stars: number } {
  const random = uniform(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const image = new Float32Array(WIDTH * HEIGHT).fill(SKY);
  const stars = 300;
  const r = Math.ceil(5 * PSF_SIGMA);
  for (let s = 0; s < stars; s++) {
    const x0 = random() * WIDTH;
    const y0 = random() * HEIGHT;
    const flux = 2000 * Math.pow(100, random()); // 2e3 .. 2e5 electrons
    for (let y = Math.max(0, Math.floor(y0 - r)); y <= Math.min(HEIGHT - 1, Math.ceil(y0 + r)); y++) {
      for (let x = Math.max(0, Math.floor(x0 - r)); x <= Math.min(WIDTH - 1, Math.ceil(x0 + r)); x++) {
        const d2 = (x - x0) ** 2 + (y - y0) ** 2;
        image[y * WIDTH + x]! += (flux / (2 * Math.PI * PSF_SIGMA ** 2)) * Math.exp(-d2 / (2 * PSF_SIGMA ** 2));
      }
    }
  }
  const variance = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) {
    variance[i] = image[i]! + 25; // Poisson plus 5 e- read noise
    image[i] = image[i]! + Math.sqrt(variance[i]!) * gauss() - SKY;
  }
  const metadata = new FitsHeader().set('ORIGIN', 'tessera demo').set('EXPTIME', 30, 'seconds', { real: true }).set('FILTER', 'r');
  metadata.addCommentary('HISTORY', `Rendered by tessera demo: ${stars} Gaussian stars, sigma ${PSF_SIGMA} px, sky ${SKY} e-/px (subtracted).`);
  return {
    stars,
    exposure: {
      width: WIDTH, height: HEIGHT, x0: 0, y0: 0, image, variance,
      mask: new Int32Array(image.length),
      maskPlanes: { BAD: 0, SAT: 1, INTRP: 2, CR: 3, EDGE: 4, DETECTED: 5, DETECTED_NEGATIVE: 6, SUSPECT: 7, NO_DATA: 8 },
      metadata,
      wcsHeader: demoWcsHeader(),
    },
  };
}

async function inspectPath(file: string): Promise<string> {
  return formatInspection(await inspectFile(file));
}

/** What the demo's repository takes on disk (measured: 9.5 GB, the raws hard-linked from sim-demo), with a margin for `npm test`'s 1.5 GB. */
const DEMO_REPO_BYTES = 12e9;

/** Says so, with the numbers, when the file system holding `dir` has less free space than the repository needs: a full disk fails later with less clear errors. */
function warnIfShortOfDisk(dir: string, step: (text: string) => void): void {
  const s = fs.statfsSync(dir);
  const free = s.bavail * s.bsize;
  const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;
  if (free < DEMO_REPO_BYTES) step(`warning: ${dir} has ${gb(free)} free; the demo's repository takes about 9.5 GB and npm test 1.5 GB more: this run may fail for lack of disk`);
  else step(`${gb(free)} free in ${dir} (the repository takes about 9.5 GB)`);
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the demonstration job: FITS/WCS round trip, SIMD kernels, the simulated survey',
  usage: [
    'Usage: tessera demo [--out DIR]',
    '',
    'Renders a star field with a TAN-SIP WCS, writes it as an afw Exposure, reads it back, smooths it',
    'with the SIMD wasm kernel, writes and inspects the results, then simulates the demo preset\'s survey',
    '(3 bands x 5 visits x 4 detectors; kept between runs), creates a repository in DIR/repo, ingests',
    'the survey and runs the pipeline into the run "drp" (calibration products, then isr, characterizeImage',
    "and calibrate), then prints the run's report and a catalogue's provenance, runs tessera extract with",
    '--refcat on one postISRCCD and on the real HSC and SEP images, and takes the real DECam cut-outs through',
    'the pipeline in DIR/decam-repo. Files go to DIR (default demo-output/).',
  ].join('\n'),
  async run(args) {
    const { values } = parseCommandArgs({ args, options: { out: { type: 'string', default: 'demo-output' } }, strict: true });
    const out = path.resolve(values.out!);
    fs.mkdirSync(out, { recursive: true });
    const t0 = performance.now();
    const step = (text: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(2)} s] ${text}`);

    const tessera = await loadTessera('release');
    step(`wasm kernels loaded (${tessera.kernels.simdEnabled() ? 'SIMD' : 'scalar'} build)`);

    const { exposure, stars } = renderStarField(20261126);
    const calexpPath = path.join(out, 'demo-calexp.fits');
    fs.writeFileSync(calexpPath, writeExposure(exposure, { checksum: true, name: calexpPath }));
    step(`wrote ${calexpPath}: ${WIDTH}x${HEIGHT} afw Exposure with ${stars} stars, checksums`);

    const bytes = new Uint8Array(fs.readFileSync(calexpPath));
    const checks = readFitsBytes(calexpPath, bytes).verifyChecksums();
    const source = await fileSource(calexpPath);
    const back = await readExposure(source);
    await source.close();
    const identical = Buffer.from(back.image.buffer, back.image.byteOffset, back.image.byteLength)
      .equals(Buffer.from(exposure.image.buffer));
    step(`read it back: pixels ${identical ? 'bit-identical' : 'DIFFER'}, checksums ${checks.every((c) => c.checksum === 'ok' && c.datasum === 'ok') ? 'verified' : 'NOT verified'}`);
    if (!identical) throw new Error(`${calexpPath}: pixels read back differ from those written`);

    const wcs = parseWcs(back.wcsHeader, { source: calexpPath, hdu: 1 })!;
    const [ra, dec] = wcs.pixelToSky(100.25, 700.75);
    const [x, y] = wcs.skyToPixel(ra, dec);
    step(`TAN-SIP WCS: pixel (100.25, 700.75) -> RA ${ra.toFixed(7)} Dec ${dec.toFixed(7)} -> (${x.toFixed(9)}, ${y.toFixed(9)})`);

    const kernel = gaussianKernel(PSF_SIGMA);
    const timed = (): { image: Float32Array; ms: number } => {
      const t1 = performance.now();
      const image = convolveSeparable(tessera, back.image, WIDTH, HEIGHT, kernel);
      return { image, ms: performance.now() - t1 };
    };
    const first = timed();
    const second = timed();
    const smoothed = second.image;
    step(`matched filter with the PSF (SIMD separable Gaussian, ${kernel.length} taps, copies in and out included): `
      + `first call ${first.ms.toFixed(1)} ms (V8 compiles the wasm on first use), second ${second.ms.toFixed(1)} ms = ${((WIDTH * HEIGHT) / second.ms / 1000).toFixed(0)} Mpix/s`);
    const smoothPath = path.join(out, 'demo-calexp-smoothed.fits');
    fs.writeFileSync(smoothPath, writeExposure({ ...back, image: smoothed }, { checksum: true, name: smoothPath }));
    step(`wrote ${smoothPath}`);

    console.log(`\n$ tessera inspect ${path.relative(process.cwd(), calexpPath)}\n${await inspectPath(calexpPath)}`);
    const hsc = path.resolve(packageRoot(), '..', 'shared', 'data', 'real', 'hsc_afw', 'HSC-0908120-056-small.fits');
    if (fs.existsSync(hsc)) console.log(`\n$ tessera inspect ${hsc}\n${await inspectPath(hsc)}`);

    // The simulated survey the pipeline will process (kept between demo runs while the simulator is the
    // same build: it is deterministic; its identity is written beside it).
    const simDir = path.join(out, 'sim-demo');
    const manifestPath = path.join(simDir, 'manifest.json');
    const simBuild = simulatorIdentity();
    console.log(`\n$ tessera sim ${path.relative(process.cwd(), simDir)} --preset demo`);
    if (fs.existsSync(manifestPath) && stampedBy(simDir, simBuild)) {
      step(`${simDir} already holds the demo preset's dataset from this simulator build (${simBuild}: same seed, same bytes); kept`);
    } else {
      fs.rmSync(simDir, { recursive: true, force: true });
      stamp(simDir, undefined);
      await simulateInto(simDir, { ...PRESETS.demo });
      stamp(simDir, simBuild);
    }
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as SimManifest;
    const count = (type: string, kind?: string) => manifest.files.filter((f) => f.datasetType === type && (kind === undefined || f.dataId.observation_type === kind)).length;
    step(`simulated survey: ${count('raw', 'science')} science raws, ${count('raw') - count('raw', 'science')} calibration raws, `
      + `${count('refCat')} reference shards, ${count('truth')} truth files, sky map and camera in ${simDir}`);
    const firstRaw = manifest.files.find((f) => f.datasetType === 'raw' && f.dataId.observation_type === 'science')!;
    console.log(`\n$ tessera inspect ${path.join(path.relative(process.cwd(), simDir), firstRaw.path)}\n${await inspectPath(path.join(simDir, firstRaw.path))}`);

    // A data repository holding the simulated survey (made afresh each run: the demo owns it).
    const repoDir = path.join(out, 'repo');
    fs.rmSync(repoDir, { recursive: true, force: true });
    stamp(repoDir, undefined);
    warnIfShortOfDisk(out, step);
    const rel = (p: string): string => path.relative(process.cwd(), p);
    console.log(`\n$ tessera repo create ${rel(repoDir)}`);
    await repoCommand.run(['create', repoDir]);
    console.log(`\n$ tessera ingest ${rel(repoDir)} ${rel(simDir)}`);
    await ingestCommand.run([repoDir, simDir]);
    console.log(`\n$ tessera repo info ${rel(repoDir)}`);
    await repoCommand.run(['info', repoDir]);

    // The pipeline: master calibrations (certified into drp/calib), then processCcd of every science raw.
    console.log(`\n$ tessera run ${rel(repoDir)} --output drp`);
    const status = await runCommand.run([repoDir, '--output', 'drp']);
    if (status !== 0) throw new Error(`tessera run ${repoDir} --output drp: exit status ${status}`);
    // Which build processed it: the tests use this repository instead of processing the survey again.
    stamp(repoDir, buildIdentity());
    console.log(`\n$ tessera report ${rel(repoDir)} drp`);
    await reportCommand.run([repoDir, 'drp']);
    const repo = await Repository.open(repoDir);
    const post = (await repo.registry.queryDatasets({ datasetTypes: ['src'], collections: ['drp'] }))[0]!;
    const isrImage = repo.getPath((await repo.registry.queryDatasets({ datasetTypes: ['postISRCCD'], collections: ['drp'] }))[0]!);
    const warps = await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_directWarp'], collections: ['drp'] });
    const coadds = await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd'], collections: ['drp'] });
    const measured = await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_meas'], collections: ['drp'] });
    const merged = await repo.registry.queryDatasets({ datasetTypes: ['deepCoadd_mergeDet'], collections: ['drp'] });
    const objectTables = await repo.registry.queryDatasets({ datasetTypes: ['objectTable'], collections: ['drp'] });
    const calexps = await repo.registry.queryDatasets({ datasetTypes: ['calexp'], collections: ['drp'] });
    await repo.close();
    console.log(`\n$ tessera provenance ${rel(repoDir)} ${post.id}`);
    await provenanceCommand.run([repoDir, post.id]);
    // The warps: each visit resampled onto the sky map's patches, in nJy, with the patch WCS.
    if (warps.length) {
      const warp = path.join(repoDir, warps[0]!.path);
      console.log(`\n${warps.length} direct warps; $ tessera inspect ${rel(warp)}\n${await inspectPath(warp)}`);
    }
    // Optical ghosts: calibrate masks those its camera's ghost model predicts (GHOST); the coadds clip them from their visits.
    let ghosts = 0, ghostPixels = 0, withGhosts = 0;
    for (const ref of calexps) {
      const source = await fileSource(path.join(repoDir, ref.path));
      try {
        const header = (await openFits(source)).hdu(0).header;
        ghosts += header.getNumber('NGHOSTS') ?? 0;
        ghostPixels += header.getNumber('GHOSTPIX') ?? 0;
        if (header.getNumber('NGHOSTS')) withGhosts++;
      } finally {
        await source.close();
      }
    }
    console.log(`\noptical ghosts: ${ghosts} predicted from the camera's ghost model and the reference stars, masked GHOST on ${withGhosts} of ${calexps.length} calexps (${ghostPixels} px), clipped from their visits in the coadds (NGHOSTPX)`);
    // The coadds: each patch and band, artifacts clipped per visit (deepCoadd_artifactMask).
    if (coadds.length) {
      const coadd = path.join(repoDir, coadds[0]!.path);
      console.log(`\n${coadds.length} coadds; $ tessera inspect ${rel(coadd)}\n${await inspectPath(coadd)}`);
    }
    // Coadd detection merged across bands per patch, then every band measured with the same rows.
    if (measured.length) {
      const first = measured[0]!;
      const catalog = readSourceCatalog(fs.readFileSync(path.join(repoDir, first.path)), first.path);
      const primary = (catalog.columns.detect_isPrimary as boolean[]).filter(Boolean).length;
      console.log(`\n${merged.length} patches' detections merged across bands; ${measured.length} coadd catalogues (deepCoadd_meas), e.g. band ${String(first.dataId.band)} patch ${String(first.dataId.patch)}: `
        + `${catalog.length} rows, ${primary} primary (deblended leaves in the patch's inner region)`);
    }
    if (objectTables.length) {
      const first = objectTables[0]!;
      console.log(`${objectTables.length} object tables (Parquet: forced and free_ fluxes, magnitudes and flags per band), e.g. ${rel(path.join(repoDir, first.path))} (${first.size} bytes)`);
    }
    step('pipeline run, report and provenance done');
    // One image outside the pipeline: extraction with astrometric and photometric calibration, as calibrate does it.
    const refcatDir = path.join(simDir, 'refcat');
    const calibrated = path.join(out, 'postisr-refcat.fits');
    console.log(`\n$ tessera extract ${rel(isrImage)} --catalog ${rel(calibrated)} --refcat ${rel(refcatDir)}`);
    await extractCommand.run([isrImage, '--catalog', calibrated, '--refcat', refcatDir]);

    // Source extraction on real images from other telescopes, with the pipeline's algorithms and in SExtractor's mode.
    const real = path.resolve(packageRoot(), '..', 'shared', 'data', 'real');
    const sep = path.join(real, 'sep_sextractor');
    if (fs.existsSync(hsc)) {
      const catalog = path.join(out, 'hsc-extract.fits');
      console.log(`\n$ tessera extract ${hsc} --catalog ${rel(catalog)}`);
      await extractCommand.run([hsc, '--catalog', catalog]);
    }
    if (fs.existsSync(path.join(sep, 'default.sex'))) {
      const catalog = path.join(out, 'sep-sextractor.fits');
      console.log(`\n$ tessera extract ${path.join(sep, 'image.fits')} --sextractor ${path.join(sep, 'default.sex')} --catalog ${rel(catalog)}`);
      await extractCommand.run([path.join(sep, 'image.fits'), '--sextractor', path.join(sep, 'default.sex'), '--catalog', catalog]);
    }
    // Other telescopes' images through the same pipeline: the six DECam CP cut-outs, from characterizeImage to the object table.
    const decam = path.join(real, 'decam_legacypipe_testcase6');
    if (fs.existsSync(path.join(decam, 'survey-ccds-1.fits.gz'))) await decamThroughPipeline(decam, path.join(out, 'decam-repo'), rel);

    // The viewer's server: its API over the repository, one calexp's primary header by an HTTP byte range.
    console.log(`\n$ tessera serve ${rel(repoDir)}`);
    const served = await Repository.open(repoDir);
    const server = await startServer({ repo: served, webRoot: path.join(packageRoot(), 'dist', 'web'), version: readPackageVersion() });
    try {
      const [first] = await (await fetch(`${server.url}/api/datasets?type=calexp&collection=drp&limit=1`)).json() as { id: string; dataId: Record<string, unknown>; size: number; file: string }[];
      const head = await fetch(`${server.url}${first!.file}`, { headers: { Range: 'bytes=0-2879' } });
      const card = new TextDecoder().decode((await head.arrayBuffer()).slice(0, 30));
      step(`serving the app and API at ${server.url}/: calexp ${JSON.stringify(first!.dataId)} (${first!.size} bytes) answers a byte range with HTTP ${head.status} '${card.trim()}'`);
    } finally {
      await server.close();
      await served.close();
    }
    console.log(`\nTo look at the products: npx tessera serve ${rel(repoDir)}, then open http://127.0.0.1:5178/ (the newest run's first calexp`
      + ` opens; browse runs, dataset types and data IDs on the left). FITS files dropped on the page are shown too.`);
    console.log(`\nDone in ${((performance.now() - t0) / 1000).toFixed(2)} s. Outputs in ${out}`);
    return 0;
  },
};

/**
 * The six DECam Community Pipeline cut-outs (legacypipe testcase6) through the pipeline's `images` subset
 * in a repository of their own: ingested as postISRCCD with legacyzpts' zero points and legacypipe's PSF
 * models of their CCDs, the Gaia chunks as reference catalogue, a sky map around them, then
 * characterizeImage (the CCD's model where no star makes a PSF), calibrate, warps, coadds (two visits per
 * band: no artifact rejection) and the object table; prints what each step could and could not do.
 */
async function decamThroughPipeline(decam: string, repoDir: string, rel: (p: string) => string): Promise<void> {
  fs.rmSync(repoDir, { recursive: true, force: true });
  const images = (fs.readdirSync(path.join(decam, 'images'), { recursive: true }) as string[])
    .filter((f) => /_ooi_.*\.fits$/.test(f)).map((f) => path.join(decam, 'images', f)).sort();
  const gaia = fs.readdirSync(path.join(decam, 'gaia')).filter((f) => f.endsWith('.fits')).map((f) => path.join(decam, 'gaia', f)).sort();
  const say = (command: string[]): void => console.log(`\n$ tessera ${command.map((a) => (a.startsWith('/') ? rel(a) : a)).join(' ')}`);
  const steps: [Command, string[]][] = [
    [repoCommand, ['create', repoDir]],
    [ingestImagesCommand, [repoDir, ...images, '--zero-points', path.join(decam, 'survey-ccds-1.fits.gz'), '--psf-models', path.join(decam, 'calib', 'psfex')]],
    [ingestRefcatCommand, [repoDir, ...gaia, '--ra', 'ra', '--dec', 'dec', '--mag', 'G=phot_g_mean_mag']],
    [makeSkymapCommand, [repoDir, '--around', 'DECam/postISRCCD/ingested', '--dataset-type', 'postISRCCD', '--pixel-scale', '0.262', '--patch-size', '200', '--patch-border', '20']],
    [runCommand, [repoDir, '--output', 'decam/drp', '--input', 'DECam/postISRCCD/ingested,refcats,skymaps', '--subset', 'images', '-c', 'characterizeImage.psfFallback=true']],
  ];
  for (const [command, args] of steps) {
    say([command.name, ...args]);
    const status = await command.run(args);
    if (status !== 0) throw new Error(`tessera ${command.name} failed (status ${status})`);
  }
  const repo = await Repository.open(repoDir);
  try {
    const calexps = await repo.queryDatasets({ datasetTypes: ['calexp'], collections: ['decam/drp'] });
    for (const ref of calexps) {
      const m = readFitsBytes(repo.getPath(ref), fs.readFileSync(repo.getPath(ref))).hdu(0).header;
      console.log(`calexp visit ${String(ref.dataId.visit)} (${(m.getString('FILTER') ?? '').split(' ')[0]}): PSF ${m.getString('PSFMODEL')}${m.getString('PSFSRC') ? ` (${m.getString('PSFSRC')})` : ''} sigma ${m.getNumber('PSFSIGMA')!.toFixed(2)} px, `
        + `astrometry ${m.getBoolean('ASTROMOK') ? 'fitted' : 'not possible (header TPV WCS kept)'}, zero point ${m.getNumber('ZEROPT')!.toFixed(3)} from ${m.getString('PHOTSRC')}`);
    }
    for (const ref of await repo.queryDatasets({ datasetTypes: ['deepCoadd'], collections: ['decam/drp'] })) {
      const m = readFitsBytes(repo.getPath(ref), fs.readFileSync(repo.getPath(ref))).hdu(0).header;
      console.log(`deepCoadd ${String(ref.dataId.band)}: ${m.getNumber('NVISITS')} visits, artifact rejection ${m.getBoolean('ARTREJ') ? 'done' : 'not possible (fewer than 3 visits)'}, ${m.getNumber('COADDINT')} pixels of the saturated star interpolated`);
    }
    const [table] = await repo.queryDatasets({ datasetTypes: ['objectTable'], collections: ['decam/drp'] });
    if (table) console.log(`object table ${rel(repo.getPath(table))} (${fs.statSync(repo.getPath(table)).size} bytes)`);
  } finally {
    await repo.close();
  }
}
