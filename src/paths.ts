import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { isDbUrl } from './executor/db-location.js';

/** The installed package's root (works from src/ under tsx and from dist/ after tsc). */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export const SIM_SPACE_FILE = resolve(PACKAGE_ROOT, 'search-spaces/sim.yaml');
export const SIM_VALIDATION_FILE = resolve(PACKAGE_ROOT, 'validation-sets/sim-100.jsonl');

/**
 * The database: `--db`, else MOA_SEARCH_DB, else runs/moa.sqlite under the working directory. A URL
 * (`postgres://…`) is returned as given — never taken for a file path; a file path is made absolute.
 */
export function resolveDbPath(flag?: string): string {
  const value = flag ?? process.env.MOA_SEARCH_DB ?? 'runs/moa.sqlite';
  return isDbUrl(value) ? value : resolve(value);
}
