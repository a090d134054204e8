#!/usr/bin/env node
// Installs the Debian packages the build, the tests (and with --bench, the benchmarks) need, as root via
// apt-get, when they are missing, and stops with the list of what is missing when they cannot be
// installed. It uses only Node's built-ins, so it runs before `npm ci`. Called by README's quick start,
// `npm test` and .ci/run.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** What the build and the tests need: a Debian package and how to tell it is present. */
const NEEDS = [
  { pkg: 'build-essential', why: 'compiling better-sqlite3 at npm ci (no prebuilt binary can be downloaded)', present: () => fs.existsSync('/usr/bin/g++') && fs.existsSync('/usr/bin/make') },
  { pkg: 'python3', why: 'node-gyp (building better-sqlite3) and the cross-checks', present: () => fs.existsSync('/usr/bin/python3') },
  { pkg: 'chromium', why: 'headless browser tests', present: () => fs.existsSync('/usr/bin/chromium') },
  { pkg: 'python3-astropy', why: 'astropy cross-checks of FITS and WCS', present: () => python('import astropy') },
  { pkg: 'python3-numpy', why: 'astropy cross-checks', present: () => python('import numpy') },
  { pkg: 'python3-scipy', why: 'scipy.stats.sigmaclip cross-check (tests/unit/astrometry-parts) and reference/peers/make_image.py (simulator benchmark)', present: () => python('import scipy') },
  { pkg: 'libcfitsio-bin', why: 'fpack/funpack for tile-compression tests', present: () => fs.existsSync('/usr/bin/funpack') && fs.existsSync('/usr/bin/fpack') },
];

/** What `npm run bench` needs besides: the peer tools it is compared with. */
const BENCH_NEEDS = [
  { pkg: 'source-extractor', why: 'the peer chain of the processCcd and extract benchmarks', present: () => fs.existsSync('/usr/bin/source-extractor') },
  { pkg: 'psfex', why: 'the peer chain of the processCcd benchmark (PSF model)', present: () => fs.existsSync('/usr/bin/psfex') },
  { pkg: 'swarp', why: 'the peer of the coadd benchmark (warping and weighted mean)', present: () => fs.existsSync('/usr/bin/SWarp') },
];

if (process.argv.includes('--bench')) NEEDS.push(...BENCH_NEEDS);

function python(code) {
  if (!fs.existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', code], { stdio: 'ignore' }).status === 0;
}

function missing() {
  return NEEDS.filter((n) => !n.present());
}

let absent = missing();
if (absent.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && fs.existsSync('/usr/bin/apt-get')) {
  const pkgs = absent.map((n) => n.pkg);
  console.log(`setup-system: installing ${pkgs.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update', '-q'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  } catch (err) {
    console.error(`setup-system: apt-get failed: ${err.message}`);
  }
  absent = missing();
}

if (absent.length > 0) {
  console.error('setup-system: these Debian packages are missing and could not be installed:');
  for (const n of absent) console.error(`  ${n.pkg}  (${n.why})`);
  console.error(`Install them as root: apt-get install -y ${absent.map((n) => n.pkg).join(' ')}`);
  process.exit(1);
}
