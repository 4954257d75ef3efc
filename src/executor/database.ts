import { InputError } from '../config/input-error.js';
import { parseDbLocation } from './db-location.js';
import { openSqliteHandle, SqliteStorage, type DB } from './_sqlite-storage.js';
import { EXECUTOR_SCHEMA } from './schema.js';

export { BUSY_TIMEOUT_MS, withBusyRetry, SqliteStorage, type DB } from './_sqlite-storage.js';

/**
 * Open (or create) a SQLite database file and bring the executor's tables up to date, synchronously: the handle
 * for code not yet on the async storage interface (the study store shares the file with the cache). The same
 * checks as `openStorage` run first. `:memory:` gives a private in-memory database (tests).
 */
export function openDatabase(path: string): DB {
  const db = openSqliteHandle(sqliteFileOf(path), EXECUTOR_SCHEMA);
  try {
    SqliteStorage.over(db).migrateSync(EXECUTOR_SCHEMA);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * The file path of a SQLite `--db`; a PostgreSQL URL is bad input here. Studies stay in SQLite until the study
 * store moves onto the storage interface (PostgreSQL already holds the cache and the ledger).
 */
export function sqliteFileOf(location: string): string {
  const loc = parseDbLocation(location);
  if (loc.kind !== 'sqlite')
    throw new InputError(`${loc.display}: studies (search, report, pareto) are kept in SQLite files for now; give a file path`, { field: '--db' });
  return loc.path;
}
