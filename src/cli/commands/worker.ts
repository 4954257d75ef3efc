import type { Command } from 'commander';
import { action, numberArg } from '../_run.js';
import type { WorkerFlags } from '../worker-command.js';

/** `moa-search worker --study <name>`: one more worker on a study shared through one database. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('work on an existing study alongside other workers (any machine, one --db): one budget, one cache, leases per measurement')
    .requiredOption('--study <name>', 'the study to work on (create it with `moa-search search --study <name>` or `--workers n`)')
    .option('--db <file|url>', 'the study\'s database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--concurrency <n>', 'validation prompts evaluated at once by this worker', numberArg({ integer: true, positive: true, max: 256 }), 4)
    .option('--json', 'print what this worker did as JSON on stdout (with the study\'s answer when it finished last)')
    .action(
      action(async (opts: Record<string, unknown>) => {
        const { workerCommand } = await import('../worker-command.js');
        await workerCommand(opts as unknown as WorkerFlags);
      }),
    );
}
