import type { Command } from 'commander';
import { action } from '../_run.js';

interface StatsOptions {
  db?: string;
  json?: boolean;
}

interface ClearOptions {
  db?: string;
  model?: string;
  yes?: boolean;
}

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('Inspect or clear the generation cache.');
  cache
    .command('stats')
    .description('Entries, hits and USD saved by hits, in total and per model.')
    .option('--db <file|url>', 'database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--json', 'print the statistics as JSON')
    .action(action((opts: StatsOptions) => runStats(opts)));
  cache
    .command('clear')
    .description('Delete cached generations (all, or one model\'s); studies are kept.')
    .option('--db <file|url>', 'database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--model <id>', 'only this model\'s generations')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(action((opts: ClearOptions) => runClear(opts)));
}

async function runStats(opts: StatsOptions): Promise<void> {
  // Loaded here so `moa-search --help` never pulls in SQLite.
  const { resolveDbPath } = await import('../../paths.js');
  const { parseDbLocation } = await import('../../executor/db-location.js');
  const { readCacheStats, formatCacheStats } = await import('../../executor/cache-admin.js');
  const dbPath = resolveDbPath(opts.db);
  const display = parseDbLocation(dbPath).display;
  const stats = await readCacheStats(dbPath);
  process.stdout.write(opts.json ? JSON.stringify({ db: display, ...stats }, null, 2) + '\n' : formatCacheStats(display, stats));
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function runClear(opts: ClearOptions): Promise<void> {
  const { InputError } = await import('../../config/input-error.js');
  const { resolveDbPath } = await import('../../paths.js');
  const { parseDbLocation } = await import('../../executor/db-location.js');
  if (opts.model !== undefined && !opts.model.trim()) throw new InputError('must name a model id', { field: '--model' });
  const dbPath = resolveDbPath(opts.db);
  const display = parseDbLocation(dbPath).display;
  if (!opts.yes && !process.stdin.isTTY) throw new InputError('cache clear deletes data: pass --yes (stdin is not a terminal to ask)', { field: '--yes' });
  const { clearCache, countCached } = await import('../../executor/cache-admin.js');
  const what = opts.model ? `model "${opts.model}"` : 'all models';
  if (!opts.yes) {
    const n = await countCached(dbPath, opts.model);
    if (n === 0) {
      process.stdout.write(`nothing to clear in ${display} (${what})\n`);
      return;
    }
    if (!(await confirm(`Delete ${n} cached generations of ${what} from ${display}? [y/N] `))) {
      process.stdout.write('nothing deleted\n');
      return;
    }
  }
  const n = await clearCache(dbPath, opts.model);
  process.stdout.write(`deleted ${n} cached generation${n === 1 ? '' : 's'} of ${what} from ${display}\n`);
}
