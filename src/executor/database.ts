import Database from 'better-sqlite3';
import { dirname, resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { ensureDir } from '../config/output-path.js';

export type DB = Database.Database;

/** How long a writer waits for another connection's lock before SQLite reports SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Open (or create) the project database: the generation cache and the study store share this file.
 * WAL lets readers and one writer work at once across processes; synchronous=NORMAL keeps every
 * committed transaction across a process crash (kill -9) and only risks the last ones on power loss.
 * `:memory:` gives a private in-memory database (tests).
 */
export function openDatabase(path: string): DB {
  const memory = path === ':memory:';
  const file = memory ? path : resolve(path);
  if (!memory) ensureDir(dirname(file), '--db');
  let db: DB | undefined;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Switching to WAL takes a lock; two processes opening a new file at once may collide, so retry.
    withBusyRetry(() => db!.pragma('journal_mode = WAL'));
  } catch (e) {
    db?.close();
    // A path that cannot be a database (a directory, a YAML file, ...) is the user's input, not a crash.
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CANTOPEN')
      throw new InputError(`cannot be opened as a moa-search database: ${(e as Error).message} (${code})`, { file, field: '--db' });
    throw e;
  }
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  ensureCacheSchema(db);
  return db;
}

/** Create (or upgrade) the generation cache's tables; idempotent and cheap once done. */
export function ensureCacheSchema(db: DB): void {
  migrate(db, 'cache', CACHE_MIGRATIONS);
}

/**
 * Bring one component's tables (`cache`, `study`, …) up to date. `steps[i]` moves the schema from
 * version i to i+1; the versions table remembers where each component stands. Each run happens in an
 * IMMEDIATE transaction so two processes opening the same file cannot both apply a step.
 */
export function migrate(db: DB, component: string, steps: ReadonlyArray<(db: DB) => void>): void {
  withBusyRetry(() =>
    db.exec(`CREATE TABLE IF NOT EXISTS schema_versions (
      component TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    )`),
  );
  const current = () =>
    (db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined)?.version ?? 0;
  if (current() >= steps.length) return;
  const run = db.transaction(() => {
    let v = current();
    for (; v < steps.length; v++) steps[v]!(db);
    db.prepare(
      `INSERT INTO schema_versions (component, version, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(component) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
    ).run(component, v, new Date().toISOString());
  });
  withBusyRetry(() => run.immediate());
}

/** Schema steps of the generation cache (see cache-store.ts). Append only: never edit a shipped step. */
const CACHE_MIGRATIONS: ReadonlyArray<(db: DB) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS generations (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        request TEXT NOT NULL,
        response TEXT NOT NULL,
        finish_reason TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        estimated INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL,
        latency_ms REAL NOT NULL,
        logprobs TEXT,
        created_at TEXT NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0,
        last_hit_at TEXT
      );
      CREATE INDEX IF NOT EXISTS generations_by_model ON generations(model);
    `),
];

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Run a synchronous database write, retrying when another process holds the lock past busy_timeout
 * (or when SQLite refuses to wait, as it does for some WAL upgrades). better-sqlite3 is synchronous,
 * so the pause is a blocking one.
 */
export function withBusyRetry<T>(fn: () => T, attempts = 8): T {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || i >= attempts) throw e;
      Atomics.wait(sleeper, 0, 0, Math.min(1000, 10 * 2 ** i) * (0.5 + Math.random() / 2));
    }
  }
}
