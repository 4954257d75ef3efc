import { dirname, join, resolve } from 'node:path';
import { isDbUrl } from '../executor/db-location.js';

/**
 * Default report folder: `<folder of the database>/<study>/` (runs/moa.sqlite → runs/<study>/); `runs/<study>/` under
 * the working directory for a PostgreSQL database; the working directory itself for an in-memory one.
 */
export function reportDirFor(db: string | undefined, studyName: string): string {
  const base = db && isDbUrl(db) ? resolve('runs') : db && db !== ':memory:' ? dirname(resolve(db)) : process.cwd();
  return join(base, studyName.replace(/[^A-Za-z0-9._-]+/g, '_'));
}
