import { dirname, join, resolve } from 'node:path';

/** Default report folder: `<folder of the database>/<study>/` (runs/moa.sqlite → runs/<study>/); the cwd for an in-memory database. */
export function reportDirFor(dbFile: string | undefined, studyName: string): string {
  const base = dbFile && dbFile !== ':memory:' ? dirname(resolve(dbFile)) : process.cwd();
  return join(base, studyName.replace(/[^A-Za-z0-9._-]+/g, '_'));
}
