/**
 * `tessera remove-runs REPO RUN...`: deletes RUN collections: their registry rows (datasets,
 * certifications, quanta, chain memberships) in one transaction, then their files. Every name is
 * checked first; one that is not a RUN collection of the repository is an error and nothing is removed.
 */
import { parseCommandArgs, UsageError, type Command } from '../command.js';
import { Repository } from '../repository/repository.js';

export const removeRunsCommand: Command = {
  name: 'remove-runs',
  summary: 'delete RUN collections of a repository with their datasets and files',
  usage: [
    'Usage: tessera remove-runs REPO RUN [RUN...]',
    '',
    'Removes each RUN collection\'s datasets and quanta from the registry (and the run from any CHAINED',
    'collection) in one transaction, then deletes their files. A file that cannot be deleted is reported',
    'and stays as an orphan ("tessera repo verify REPO --remove-orphans" clears it).',
  ].join('\n'),
  async run(args) {
    const { positionals } = parseCommandArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length < 2) throw new UsageError('give a repository and at least one run');
    const [root, ...runs] = positionals as [string, ...string[]];
    const repo = await Repository.open(root);
    try {
      const { removed, failures } = await repo.removeRuns([...new Set(runs)]);
      for (const run of new Set(runs)) console.log(`removed run ${run}: ${removed.filter((r) => r.run === run).length} dataset(s)`);
      for (const f of failures) console.error(`could not delete ${f.path}: ${f.error}`);
      return failures.length ? 1 : 0;
    } finally {
      await repo.close();
    }
  },
};
