import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { InputError } from '../config/input-error.js';
import type { SearchSpace } from '../config/space.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyRecord, TrialRecord } from '../search/types.js';
import { renderReport, reportFiles, type RenderedReport } from './render.js';

/** The study and its trials, or an InputError naming the study and the database when it does not exist. */
export function readStudy(db: BetterSqlite3.Database, studyName: string): { study: StudyRecord; trials: TrialRecord[] } {
  const hasTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_studies'").get();
  const where = db.name && db.name !== ':memory:' ? ` in ${db.name}` : '';
  if (!hasTables) throw new InputError(`unknown study "${studyName}": no studies${where}`, { field: 'study' });
  const store = new StudyStore(db);
  const study = store.getStudy(studyName);
  if (!study) {
    const known = store.listStudies().map((s) => s.name);
    throw new InputError(`unknown study "${studyName}"${where}${known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`, { field: 'study' });
  }
  return { study, trials: store.listTrials(studyName) };
}

/**
 * Open a database only to read studies: read-only, and never created (a mistyped --db must not leave an empty
 * file behind). Missing file → InputError.
 */
export function openStudyDatabase(dbPath: string): BetterSqlite3.Database {
  const file = resolve(dbPath);
  if (!existsSync(file)) throw new InputError('database not found', { file, field: '--db' });
  return new Database(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
}

/** Default report folder: `<folder of the database>/<study>/` (e.g. runs/moa.sqlite → runs/<study>/). */
export function defaultReportDir(db: BetterSqlite3.Database, studyName: string): string {
  const base = db.name && db.name !== ':memory:' ? dirname(resolve(db.name)) : process.cwd();
  return join(base, studyName.replace(/[^A-Za-z0-9._-]+/g, '_'));
}

/** Write files whole: a reader (a browser reloading report.html) never sees half a file. */
export function writeFiles(dir: string, files: Record<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
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
  const { study, trials } = readStudy(opts.db, opts.studyName);
  const report = await renderReport({ study, trials, ...(opts.space ? { space: opts.space } : {}), ...(opts.generatedAt ? { generatedAt: opts.generatedAt } : {}) });
  const dir = resolve(opts.outDir ?? defaultReportDir(opts.db, opts.studyName));
  return { dir, files: writeFiles(dir, reportFiles(report)), report };
}
