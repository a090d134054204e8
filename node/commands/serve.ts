/**
 * `tessera serve REPO [--port P] [--host H] [--allow-certify [--token T]]`: the web app and the JSON API
 * over a repository (node/server/apiServer.ts), until interrupted. Binds to 127.0.0.1 unless --host says
 * otherwise; records science leads' verdicts only with --allow-certify (from other machines only with
 * the token).
 */
import path from 'node:path';
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';
import { startServer } from '../server/apiServer.js';
import { packageRoot } from '../packageRoot.js';
import { readPackageVersion } from '../version.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the web app and a read-only JSON API over a repository (datasets, byte ranges, catalogues)',
  usage: [
    'Usage: tessera serve REPO [--port P] [--host H] [--allow-certify [--token T]]',
    '',
    'Serves the built web app (dist/web, from npm run build) and a JSON API over REPO at http://H:P/:',
    '/api/collections, /api/dataset-types, /api/datasets?type=T&collection=C&where=EXPR&limit=N,',
    '/api/datasets/ID (with FITS HDU byte offsets), /api/datasets/ID/file (HTTP Range) and',
    '/api/datasets/ID/catalog?columns=A,B (a catalogue as JSON columns), /api/verdicts (science leads\'',
    'verdicts: certified, rejected, needs work). Read-only unless --allow-certify.',
    '--port P   the port (default 5178; 0 picks a free one)',
    '--host H   the address to bind (default 127.0.0.1, this machine only; 0.0.0.0 exposes the',
    '           repository to the network)',
    '--allow-certify   record verdicts sent by the viewer (POST /api/verdicts) in the registry',
    '--token T         with --allow-certify: the bearer token verdicts from other machines must carry',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseCommandArgs({ args, allowPositionals: true, options: { port: { type: 'string' }, host: { type: 'string' }, 'allow-certify': { type: 'boolean' }, token: { type: 'string' } } });
    if (positionals.length !== 1) throw new UsageError('give one repository');
    const port = values.port === undefined ? 5178 : Number(values.port);
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError(`--port ${values.port}: give an integer from 0 to 65535`);
    if (values.token !== undefined && !values['allow-certify']) throw new UsageError('--token goes with --allow-certify');
    if (values.token !== undefined && values.token.length < 16) throw new UsageError('--token: give at least 16 characters');
    const repo = await Repository.open(positionals[0]!);
    const server = await startServer({
      repo, webRoot: path.join(packageRoot(), 'dist', 'web'), host: values.host ?? '127.0.0.1', port, version: readPackageVersion(),
      allowCertify: values['allow-certify'] === true, ...(values.token !== undefined ? { token: values.token } : {}),
    });
    const writes = values['allow-certify'] ? `verdicts recorded${values.token ? '; other machines need the token' : ' from this machine only'}` : 'read-only';
    console.log(`tessera serve: ${path.resolve(positionals[0]!)} at ${server.url}/ (${writes}; Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    await repo.close();
    return 0;
  },
};
