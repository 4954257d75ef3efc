import { InputError } from '../config/input-error.js';
import type { Dialect, MigrationStep, Migrations } from './storage.js';

// What both back ends share about schema versions: the table, the rules for "ours", "too new" and "what to run".

export const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_versions (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  updated_at TEXT NOT NULL
)`;

export const READ_VERSIONS = 'SELECT component, version FROM schema_versions';

export const WRITE_VERSION = `INSERT INTO schema_versions (component, version, updated_at) VALUES (?, ?, ?)
  ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`;

/** Components whose presence in schema_versions marks a database as moa-search's. */
const OUR_COMPONENTS = new Set(['storage', 'cache', 'ledger', 'leases']);

export function stepText(step: MigrationStep, dialect: Dialect): string {
  return typeof step === 'string' ? step : step[dialect];
}

/** The statements that bring `m` from `current` to its latest version; too new a version is bad input. */
export function pendingSteps(m: Migrations, current: number, dialect: Dialect, display: string): string[] {
  if (current > m.steps.length) throw tooNew(display, m.component, current, m.steps.length);
  return m.steps.slice(current).map((s) => stepText(s, dialect));
}

function tooNew(display: string, component: string, found: number, known: number): InputError {
  return new InputError(
    `${display}: its ${component} tables are at schema version ${found}, newer than this moa-search knows (${known}); upgrade moa-search to use this database`,
    { field: '--db' },
  );
}

/**
 * Refuse a database that belongs to another application (tables but no moa-search schema_versions) or that a
 * newer moa-search has migrated past what this one knows. Called before anything is written.
 * `versions` is undefined when the table exists but cannot be read as ours.
 */
export function checkOwnership(opts: {
  display: string;
  tables: readonly string[];
  versions: ReadonlyMap<string, number> | undefined;
  known: readonly Migrations[];
  hint?: string;
}): void {
  const { display, tables, versions, known } = opts;
  if (tables.length === 0) return;
  const ours = versions !== undefined && [...versions.keys()].some((c) => OUR_COMPONENTS.has(c));
  if (!ours) {
    const shown = [...tables].sort().slice(0, 4).join(', ') + (tables.length > 4 ? ', …' : '');
    throw new InputError(`${display}: holds tables of another application (${shown}), not a moa-search database; give an empty database${opts.hint ?? ''}`, {
      field: '--db',
    });
  }
  for (const m of known) {
    const v = versions.get(m.component) ?? 0;
    if (v > m.steps.length) throw tooNew(display, m.component, v, m.steps.length);
  }
}

/** True when every component is at its latest version already (the common case: nothing to lock). */
export function upToDate(versions: ReadonlyMap<string, number>, components: readonly Migrations[]): boolean {
  return components.every((m) => (versions.get(m.component) ?? 0) === m.steps.length);
}
