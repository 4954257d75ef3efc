import { Option, type Command } from 'commander';
import { action, numberArg } from '../_run.js';

interface ParetoOptions {
  maxCost?: number;
  by: 'cost' | 'tflops';
  json?: boolean;
  db?: string;
  space?: string;
}

export function registerPareto(program: Command): void {
  program
    .command('pareto')
    .description('Print the Pareto front of a study (score vs cost or latency proxy) and the best mixture within a cost cap.')
    .argument('<study>', 'study name')
    .option('--max-cost <usd>', 'cost cap in USD per 1,000 queries for the best-mixture pick (the search\'s rule: best estimate whose measured cost fits)', numberArg({ positive: true }))
    .addOption(new Option('--by <axis>', 'front over cost (USD per query) or the latency proxy (TFLOPs)').choices(['cost', 'tflops']).default('cost'))
    .option('--json', 'print the front as JSON')
    .option('--db <file|url>', 'database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--space <file>', "search-space file for labels and parameter counts (default: the study's own)")
    .action(action((study: string, opts: ParetoOptions) => runPareto(study, opts)));
}

async function runPareto(studyName: string, opts: ParetoOptions): Promise<void> {
  const { resolveDbPath } = await import('../../paths.js');
  // Only the analysis: no vega, no charts.
  const { openStudyDatabase, readStudy } = await import('../../report/study-source.js');
  const { studySpace } = await import('../../report/study-space.js');
  const { analyzeStudy } = await import('../../report/analyze.js');
  const { paretoSummary, formatParetoSummary } = await import('../../report/pareto-summary.js');
  const storage = await openStudyDatabase(resolveDbPath(opts.db));
  try {
    const { study, trials } = await readStudy(storage, studyName);
    const { space, warning } = studySpace(study, opts.space);
    if (warning && !opts.json) process.stderr.write(`moa-search: warning: ${warning}\n`);
    const summary = paretoSummary(analyzeStudy({ study, trials, ...(space ? { space } : {}) }), opts.by, opts.maxCost);
    process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatParetoSummary(summary));
  } finally {
    await storage.close();
  }
}
