import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { InputError } from '../config/input-error.js';
import { sqliteFileOf } from '../executor/database.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyRecord, TrialRecord } from '../search/types.js';

// Reading studies without loading vega: `pareto` and the report's input checks need only this.

/** The study and its trials, or an InputError naming the study and the database when it does not exist. */
export async function readStudy(db: BetterSqlite3.Database, studyName: string): Promise<{ study: StudyRecord; trials: TrialRecord[] }> {
  const hasTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_studies'").get();
  const where = db.name && db.name !== ':memory:' ? ` in ${db.name}` : '';
  if (!hasTables) throw new InputError(`unknown study "${studyName}": no studies${where}`);
  const store = new StudyStore(db);
  const study = await store.getStudy(studyName);
  if (!study) {
    const known = (await store.listStudies()).map((s) => s.name);
    throw new InputError(`unknown study "${studyName}"${where}${known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`);
  }
  return { study, trials: await store.listTrials(studyName) };
}

/**
 * Open a database only to read studies: read-only, and never created (a mistyped --db must not leave an empty
 * file behind). Missing file → InputError.
 */
export function openStudyDatabase(dbPath: string): BetterSqlite3.Database {
  const file = resolve(sqliteFileOf(dbPath));
  if (!existsSync(file)) throw new InputError('database not found', { file, field: '--db' });
  // Not opened read-only: a read-only connection cannot checkpoint, so it would leave -wal/-shm files behind.
  // Nothing here writes to the database.
  const db = new Database(file, { fileMustExist: true, timeout: 10_000 });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    db.close();
    throw new InputError(`cannot be opened as a moa-search database: ${(e as Error).message}`, { file, field: '--db' });
  }
  return db;
}
