import { writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { SearchSpace } from '../config/space.js';
import { renderReport, reportFiles, type RenderedReport } from './render.js';
import { readStudy } from './study-source.js';
import { reportDirFor } from './report-dir.js';
import { ensureDir } from '../config/output-path.js';

/** Default report folder: `<folder of the database>/<study>/` (e.g. runs/moa.sqlite → runs/<study>/). */
export function defaultReportDir(db: BetterSqlite3.Database, studyName: string): string {
  return reportDirFor(db.name, studyName);
}

/** Write files whole: a reader (a browser reloading report.html) never sees half a file. */
export function writeFiles(dir: string, files: Record<string, string>): string[] {
  ensureDir(dir, '--out');
  const out: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    out.push(path);
  }
  return out;
}

export interface WriteReportOptions {
  db: BetterSqlite3.Database;
  studyName: string;
  space?: SearchSpace;
  /** Default: `defaultReportDir(db, studyName)`. */
  outDir?: string;
  generatedAt?: string;
}

/** Read a study from the database, render the report and write its files. */
export async function writeReport(opts: WriteReportOptions): Promise<{ dir: string; files: string[]; report: RenderedReport }> {
  const { study, trials } = await readStudy(opts.db, opts.studyName);
  const report = await renderReport({ study, trials, ...(opts.space ? { space: opts.space } : {}), ...(opts.generatedAt ? { generatedAt: opts.generatedAt } : {}) });
  const dir = resolve(opts.outDir ?? defaultReportDir(opts.db, opts.studyName));
  return { dir, files: writeFiles(dir, reportFiles(report)), report };
}
