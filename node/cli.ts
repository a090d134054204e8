#!/usr/bin/env node
/**
 * `tessera`: the command-line entry point (DESIGN.md: one entry point per host). Each subcommand
 * lives in node/commands/; errors print one line naming the file or data ID and exit non-zero.
 */
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { inspectCommand } from './commands/inspect.js';
import { demoCommand } from './commands/demo.js';
import { simCommand } from './commands/sim.js';
import { repoCommand } from './commands/repo.js';
import { ingestCommand } from './commands/ingest.js';
import { ingestRawsCommand } from './commands/ingestRaws.js';
import { ingestImagesCommand } from './commands/ingestImages.js';
import { ingestRefcatCommand } from './commands/ingestRefcat.js';
import { makeSkymapCommand } from './commands/makeSkymap.js';
import { queryCommand } from './commands/query.js';
import { removeRunsCommand } from './commands/removeRuns.js';
import { qgraphCommand } from './commands/qgraph.js';
import { configShowCommand } from './commands/configShow.js';
import { runCommand } from './commands/run.js';
import { reportCommand } from './commands/report.js';
import { provenanceCommand } from './commands/provenance.js';
import { extractCommand } from './commands/extract.js';
import { serveCommand } from './commands/serve.js';
import { certificationsCommand } from './commands/certifications.js';
import { colorImageCommand } from './commands/colorImage.js';
import { readPackageVersion } from './version.js';

const COMMANDS: Command[] = [simCommand, repoCommand, ingestCommand, ingestRawsCommand, ingestImagesCommand, ingestRefcatCommand, makeSkymapCommand, queryCommand, removeRunsCommand, qgraphCommand, runCommand, reportCommand, provenanceCommand, serveCommand, certificationsCommand, colorImageCommand, configShowCommand, extractCommand, inspectCommand, demoCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `tessera ${readPackageVersion()}: data-release production for CCD imaging, in SIMD WebAssembly`,
    '',
    'Usage: tessera <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "tessera <command> --help" for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(readPackageVersion());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`tessera: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tessera ${command.name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`tessera ${command.name}: ${(err as Error).message}`);
    return 1;
  }
}

// Output piped into a reader that stops early (`tessera inspect ... | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
