import { parseDbLocation, type DbLocation } from './db-location.js';
import { EXECUTOR_SCHEMA } from './schema.js';
import type { Storage } from './storage.js';

export interface OpenStorageOptions {
  /**
   * Create or upgrade the executor's tables (default). `false` opens to read only what is there (the `cache`
   * commands must not create tables in a database they merely inspect); the ownership checks still run.
   */
  migrate?: boolean;
}

/**
 * Open the database `--db` names: a SQLite file (created when missing) or a PostgreSQL URL. Before anything is
 * written it is checked (reachable, password accepted, ours or empty, not from a newer moa-search); a failed check
 * is an InputError naming `--db`, with any password masked. Then the executor's tables are brought up to date.
 */
export async function openStorage(location: string | DbLocation, opts: OpenStorageOptions = {}): Promise<Storage> {
  const loc = typeof location === 'string' ? parseDbLocation(location) : location;
  let storage: Storage;
  if (loc.kind === 'postgres') {
    // Loaded on demand: SQLite users never load the pg driver.
    const { PostgresStorage } = await import('./_postgres-storage.js');
    storage = await PostgresStorage.connect(loc, EXECUTOR_SCHEMA);
  } else {
    const { SqliteStorage, openSqliteHandle } = await import('./_sqlite-storage.js');
    storage = SqliteStorage.over(openSqliteHandle(loc.path, EXECUTOR_SCHEMA), true);
  }
  if (opts.migrate === false) return storage;
  try {
    await storage.migrate(...EXECUTOR_SCHEMA);
  } catch (e) {
    await storage.close();
    throw e;
  }
  return storage;
}
