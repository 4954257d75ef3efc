import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { checkDbLocation, isDbUrl, openStorage, type Storage } from '../executor/index.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyRecord, TrialRecord } from '../search/types.js';

// Reading studies without loading vega: `pareto` and the report's input checks need only this.

/** The study and its trials, or an InputError naming the study and the database when it does not exist. */
export async function readStudy(storage: Storage, studyName: string): Promise<{ study: StudyRecord; trials: TrialRecord[] }> {
  const where = storage.display !== ':memory:' ? ` in ${storage.display}` : '';
  const store = await StudyStore.existing(storage);
  if (!store) throw new InputError(`unknown study "${studyName}": no studies${where}`);
  const study = await store.getStudy(studyName);
  if (!study) {
    const known = (await store.listStudies()).map((s) => s.name);
    throw new InputError(`unknown study "${studyName}"${where}${known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`);
  }
  return { study, trials: await store.listTrials(studyName) };
}

/**
 * Open a database only to read studies: a SQLite file is never created (a mistyped --db must not leave an empty
 * file behind), and a database without studies gets no tables. One with studies written by an older moa-search is
 * brought up to date. Missing file, unreachable server, wrong password → InputError on --db.
 */
export async function openStudyDatabase(db: string): Promise<Storage> {
  const location = checkDbLocation(db);
  if (!isDbUrl(location) && location !== ':memory:' && !existsSync(resolve(location))) throw new InputError('database not found', { file: resolve(location), field: '--db' });
  return openStorage(location, { migrate: false });
}
