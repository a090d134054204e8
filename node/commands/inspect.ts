/**
 * `tessera inspect FILE... [--json]`: lists every HDU of a FITS file (index, type, EXTNAME, BITPIX,
 * shape) and, for images with a celestial WCS, the RA/Dec of the centre and corner pixels to 1e-7 deg.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { fileSource } from '../fits/fileSource.js';
import { formatInspection, inspectFits, type Inspection } from '../../lib/inspect.js';

/** Inspects one local FITS file; errors name the file. */
export async function inspectFile(path: string): Promise<Inspection> {
  let source;
  try {
    source = await fileSource(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a FITS file' : (err as Error).message}`);
  }
  try {
    return await inspectFits(source);
  } finally {
    await source.close();
  }
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'list the HDUs of FITS files, with WCS centre and corners',
  usage: [
    'Usage: tessera inspect FILE... [--json]',
    '',
    'Prints every HDU of each FITS file (.fits, .fits.gz, .fz): index, type, EXTNAME, BITPIX and shape',
    '(slowest axis first, e.g. [ny, nx]). For an image with a celestial WCS it also prints the RA/Dec in',
    'degrees of the centre pixel ((NX+1)/2, (NY+1)/2) and of the corner pixels (1,1), (NX,1), (NX,NY),',
    '(1,NY), FITS 1-based.',
    '',
    'Options:',
    '  --json   one JSON object per file: {"file", "hdus": [{"index", "type", "extname", "bitpix",',
    '           "shape", "wcs": {"ctype", "center", "corners"}}]}',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('no FITS file given');
    let failures = 0;
    for (const path of positionals) {
      try {
        const inspection = await inspectFile(path);
        console.log(values.json ? JSON.stringify(inspection) : formatInspection(inspection));
      } catch (err) {
        failures++;
        console.error(`tessera inspect: ${(err as Error).message}`);
      }
    }
    return failures === 0 ? 0 : 1;
  },
};
