import type { Command } from 'commander';
import { action } from '../_run.js';

interface ReportOptions {
  out?: string;
  db?: string;
  space?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Write the cost-vs-quality report of a study: report.html, report.md, Pareto charts, history, trials.csv, best.json.')
    .argument('<study>', 'study name (as given to `moa-search search --study`)')
    .option('--out <dir>', 'output folder (default: <folder of the database>/<study>/)')
    .option('--db <file|url>', 'database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--space <file>', "search-space file for labels and parameter counts (default: the study's own)")
    .action(action((study: string, opts: ReportOptions) => runReport(study, opts)));
}

async function runReport(studyName: string, opts: ReportOptions): Promise<void> {
  // Loaded here so `moa-search --help` never pulls in SQLite or vega.
  const { InputError, checkOutputDir } = await import('../../config/index.js');
  const { resolveDbPath } = await import('../../paths.js');
  // vega is loaded only once the input is known to be good
  const { openStudyDatabase, readStudy } = await import('../../report/study-source.js');
  const { studySpace } = await import('../../report/study-space.js');
  if (!studyName.trim()) throw new InputError('study name is empty', { field: 'study' });
  const storage = await openStudyDatabase(resolveDbPath(opts.db));
  try {
    // Validate everything (study exists, space loads) before a single file is written.
    const { study } = await readStudy(storage, studyName);
    const { space, warning } = studySpace(study, opts.space);
    const { reportDirFor } = await import('../../report/report-dir.js');
    const outDir = checkOutputDir(opts.out ?? reportDirFor(storage.display, studyName), '--out');
    if (warning) process.stderr.write(`moa-search: warning: ${warning}\n`);
    const { writeReport } = await import('../../report/write-report.js');
    const { dir, files, report } = await writeReport({ storage, studyName, ...(space ? { space } : {}), outDir });
    const rec = report.analysis.recommended;
    process.stdout.write(`Report of study "${studyName}" written to ${dir}\n`);
    for (const f of files) process.stdout.write(`  ${f}\n`);
    if (rec) process.stdout.write(`Recommended: ${rec.label} (${report.analysis.study.config.objective === 'judge' ? 'agreement' : 'score'} ${rec.quality.toFixed(1)}${rec.ci ? `, 95% CI ${rec.ci[0].toFixed(1)}–${rec.ci[1].toFixed(1)}` : ''})\n`);
  } finally {
    await storage.close();
  }
}
