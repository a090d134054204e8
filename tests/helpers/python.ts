/**
 * Runs Debian's /usr/bin/python3 (with python3-astropy) for independent cross-checks. The script gets
 * its arguments in sys.argv and must print one JSON document on stdout.
 */
import { execFileSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function runPythonJson<T = unknown>(script: string, args: string[] = []): T {
  const out = execFileSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, PYTHONWARNINGS: 'ignore' },
  });
  return JSON.parse(out) as T;
}

/**
 * Python that defines read_png(name) -> (rows as a numpy uint8 array [h, w, 4], tEXt dict): an 8-bit
 * RGBA PNG decoded with Python's own struct and zlib (chunk CRCs checked; filters 0 and 2), independent
 * of lib/image/png.ts. Prepend it to a script.
 */
export const PY_PNG = `
import json, sys, struct, zlib, binascii
import numpy as np
def read_png(name):
    data = open(name, 'rb').read()
    assert data[:8] == bytes([137, 80, 78, 71, 13, 10, 26, 10]), 'not a PNG'
    at, idat, text = 8, b'', {}
    while at < len(data):
        n, = struct.unpack('>I', data[at:at + 4]); kind = data[at + 4:at + 8]; body = data[at + 8:at + 8 + n]
        crc, = struct.unpack('>I', data[at + 8 + n:at + 12 + n])
        assert binascii.crc32(kind + body) & 0xffffffff == crc, 'CRC mismatch in ' + kind.decode()
        if kind == b'IHDR': w, h, depth, colour = struct.unpack('>IIBB', body[:10])
        elif kind == b'IDAT': idat += body
        elif kind == b'tEXt': k, v = body.split(b'\\0', 1); text[k.decode('latin-1')] = v.decode('latin-1')
        at += 12 + n
    assert depth == 8 and colour == 6
    raw = zlib.decompress(idat); stride = 4 * w
    rows = np.zeros((h, stride), dtype=np.int32); prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]; line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if f == 0: cur = line
        elif f == 2: cur = (line + prev) & 255
        else: raise ValueError('filter %d' % f)
        rows[y] = cur; prev = cur
    return rows.reshape(h, w, 4).astype(np.uint8), text
`;
