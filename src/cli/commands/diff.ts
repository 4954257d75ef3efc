import type { Command } from 'commander';
import { action } from '../_run.js';

interface DiffOptions {
  json?: boolean;
  db?: string;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('What changed between two studies (e.g. before and after a model release): old best vs new best, their paired difference, cost and latency deltas, and where the new models sit. Spends nothing.')
    .argument('<old-study>', 'the earlier study')
    .argument('<new-study>', 'the later study (e.g. warm-started from the earlier one)')
    .option('--json', 'print the comparison as JSON')
    .option('--db <file|url>', 'database holding both studies: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .action(action((oldStudy: string, newStudy: string, opts: DiffOptions) => runDiff(oldStudy, newStudy, opts)));
}

async function runDiff(oldStudy: string, newStudy: string, opts: DiffOptions): Promise<void> {
  const { resolveDbPath } = await import('../../paths.js');
  const { openStudyDatabase } = await import('../../report/study-source.js');
  const { StudyStore } = await import('../../search/study-store.js');
  const { diffStudies } = await import('../../search/study-diff.js');
  const { whatChangedLines } = await import('../../report/what-changed.js');
  const { InputError } = await import('../../config/input-error.js');
  const storage = await openStudyDatabase(resolveDbPath(opts.db));
  try {
    const store = await StudyStore.existing(storage);
    if (!store) throw new InputError(`no studies in ${storage.display}`, { field: '--db' });
    const d = await diffStudies(store, oldStudy, newStudy);
    process.stdout.write(opts.json ? JSON.stringify(d, null, 2) + '\n' : whatChangedLines(d).join('\n') + '\n');
  } finally {
    await storage.close();
  }
}
