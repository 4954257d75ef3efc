import Database from 'better-sqlite3';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { InputError } from '../config/input-error.js';
import { ensureDir } from '../config/output-path.js';
import { checkOwnership, pendingSteps, READ_VERSIONS, upToDate, VERSIONS_TABLE, WRITE_VERSION } from './_schema.js';
import type { Migrations, RunResult, SqlRunner, SqlValue, Storage } from './storage.js';

export type DB = Database.Database;

/** How long a writer waits for another connection's lock before SQLite reports SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

const UNUSABLE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_IOERR']);

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Run a synchronous database write, retrying when another process holds the lock past busy_timeout (or when
 * SQLite refuses to wait, as it does for some WAL upgrades). better-sqlite3 is synchronous, so the pause blocks.
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

/** The same, pausing without blocking the event loop (for async callers). */
async function withBusyRetryAsync<T>(fn: () => T, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || i >= attempts) throw e;
      await sleep(Math.min(1000, 10 * 2 ** i) * (0.5 + Math.random() / 2));
    }
  }
}

function readVersions(db: DB): Map<string, number> | undefined {
  try {
    const rows = db.prepare(READ_VERSIONS).all() as Array<{ component: string; version: number }>;
    return new Map(rows.map((r) => [r.component, Number(r.version)]));
  } catch {
    return undefined;
  }
}

function tableNames(db: DB): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name);
}

/**
 * Open (or create) a database file, refusing — before anything is written — a file that is not SQLite, belongs to
 * another application, or was migrated by a newer moa-search. WAL lets readers and one writer work at once across
 * processes; synchronous=NORMAL keeps every committed transaction across a process crash (kill -9).
 */
export function openSqliteHandle(path: string, known: readonly Migrations[]): DB {
  const memory = path === ':memory:';
  const file = memory ? path : resolve(path);
  // Folder by folder: a recursive mkdir spins forever where the kernel answers ENOENT for a parent that exists (/proc).
  if (!memory) ensureDir(dirname(file), '--db');
  let db: DB | undefined;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!memory) checkOwnership({ display: file, tables: tableNames(db), versions: readVersions(db), known });
    // Switching to WAL takes a lock; two processes opening a new file at once may collide, so retry.
    withBusyRetry(() => db!.pragma('journal_mode = WAL'));
  } catch (e) {
    db?.close();
    if (e instanceof InputError) throw e;
    // A path that cannot be a database (a directory, a YAML file, ...) is the user's input, not a crash.
    const code = (e as { code?: string }).code ?? '';
    if (UNUSABLE.has(code)) throw new InputError(`cannot be opened as a moa-search database: ${(e as Error).message} (${code})`, { file, field: '--db' });
    throw e;
  }
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return db;
}

/** The database clock, as `moa_now_ms()` in portable SQL. One machine holds a SQLite file, so its clock is the database's. */
function registerClock(db: DB): void {
  db.function('moa_now_ms', { deterministic: false }, () => Date.now());
}

type Stmt = Database.Statement<unknown[], unknown>;

/** better-sqlite3 behind the async interface. Statements run synchronously; the promises only carry the result. */
export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const;
  readonly notifiesAcrossProcesses = false;
  readonly display: string;
  private readonly statements = new Map<string, Stmt>();
  /**
   * Transactions hold it; statements of other tasks queue behind it while one is open. It is shared by every
   * connection this process has to the file: SQLite waits for another connection's lock by blocking the thread,
   * which would deadlock against a transaction of this same process that needs the event loop to commit.
   */
  private readonly lock: LimitFunction;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private readonly direct: SqlRunner;

  private static readonly wrapped = new WeakMap<DB, SqliteStorage>();
  private static readonly fileLocks = new Map<string, LimitFunction>();

  /** The storage over an open handle (one per handle, so they share one transaction lock). */
  static over(db: DB, owned = false): SqliteStorage {
    let s = SqliteStorage.wrapped.get(db);
    if (!s) {
      s = new SqliteStorage(db, owned);
      SqliteStorage.wrapped.set(db, s);
    }
    return s;
  }

  private constructor(
    private readonly handle: DB,
    private readonly owned: boolean,
  ) {
    this.display = handle.name;
    const memory = handle.memory || handle.name === ':memory:';
    let lock = memory ? undefined : SqliteStorage.fileLocks.get(handle.name);
    if (!lock) {
      lock = pLimit(1);
      if (!memory) SqliteStorage.fileLocks.set(handle.name, lock);
    }
    this.lock = lock;
    registerClock(handle);
    const self = this;
    this.direct = {
      all: async <T>(sql: string, params: readonly SqlValue[] = []) => self.stmt(sql).all(...params) as T[],
      get: async <T>(sql: string, params: readonly SqlValue[] = []) => self.stmt(sql).get(...params) as T | undefined,
      run: async (sql: string, params: readonly SqlValue[] = []) => ({ changes: self.stmt(sql).run(...params).changes }),
    };
  }

  private stmt(sql: string): Stmt {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.handle.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private get busy(): boolean {
    return this.lock.activeCount + this.lock.pendingCount > 0;
  }

  // Outside a transaction a statement runs at once; while one is open on this connection, it waits its turn.
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.busy ? this.lock(() => this.direct.all<T>(sql, params)) : this.direct.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.busy ? this.lock(() => this.direct.get<T>(sql, params)) : this.direct.get<T>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.busy ? this.lock(() => this.direct.run(sql, params)) : this.direct.run(sql, params);
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.lock(async () => {
      // IMMEDIATE takes the write lock now, so the transaction cannot fail half-way on a lock upgrade.
      await withBusyRetryAsync(() => this.stmt('BEGIN IMMEDIATE').run());
      try {
        const out = await fn(this.direct);
        this.stmt('COMMIT').run();
        return out;
      } catch (e) {
        if (this.handle.inTransaction) this.stmt('ROLLBACK').run();
        throw e;
      }
    });
  }

  async migrate(...components: Migrations[]): Promise<void> {
    await this.lock(async () => this.migrateSync(components));
  }

  private migrateSync(components: readonly Migrations[]): void {
    const db = this.handle;
    const versions = readVersions(db);
    if (versions && upToDate(versions, components)) return;
    const run = db.transaction(() => {
      db.exec(VERSIONS_TABLE);
      const current = readVersions(db)!;
      for (const m of components) {
        const steps = pendingSteps(m, current.get(m.component) ?? 0, 'sqlite', this.display);
        for (const s of steps) db.exec(s);
        if (steps.length || !current.has(m.component)) db.prepare(WRITE_VERSION).run(m.component, m.steps.length, new Date().toISOString());
      }
    });
    withBusyRetry(() => run.immediate());
  }

  async schemaVersions(): Promise<Map<string, number>> {
    return readVersions(this.handle) ?? new Map();
  }

  // One process per file sees these; other processes poll (see notifiesAcrossProcesses).
  async notify(channel: string, payload: string): Promise<void> {
    for (const fn of this.listeners.get(channel) ?? []) fn(payload);
  }

  async subscribe(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(fn);
    return async () => void set.delete(fn);
  }

  async reclaimSpace(): Promise<void> {
    if (this.handle.open && this.handle.name !== ':memory:') this.handle.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    await this.lock(async () => {});
    SqliteStorage.wrapped.delete(this.handle);
    if (this.owned && this.handle.open) this.handle.close();
  }
}
