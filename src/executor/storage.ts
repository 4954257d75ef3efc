/**
 * The async SQL storage every store (cache, ledger, leases, later the study store) is written against once.
 *
 * Portable SQL, the contract between the stores and the back ends:
 * - placeholders are `?` (PostgreSQL's back end numbers them);
 * - upserts are `INSERT … ON CONFLICT (…) DO …`, results of writes come back with `RETURNING`;
 * - JSON is TEXT, money and latencies DOUBLE PRECISION, epoch milliseconds and counters BIGINT, flags INTEGER 0/1;
 * - `moa_now_ms()` is the database clock in epoch milliseconds (leases and reservations expire by it, so the
 *   machines of a team need not agree on the time);
 * - column aliases are snake_case (PostgreSQL folds unquoted names to lower case).
 * Dialect differences stay inside the back ends (`_sqlite-storage.ts`, `_postgres-storage.ts`) and the migrations.
 */

/** A value bound to a placeholder. No booleans (SQLite has none): use 0/1. */
export type SqlValue = string | number | bigint | null;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** What can run a statement: the storage itself (autocommit) or an open transaction. */
export interface SqlRunner {
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

/** One schema step: portable DDL, or one text per dialect. Append only: never edit a shipped step. */
export type MigrationStep = string | { sqlite: string; postgres: string };

export interface Migrations {
  /** The component's name in `schema_versions` (`cache`, `ledger`, `study`, …). */
  component: string;
  /** `steps[i]` moves the component from version i to i + 1. */
  steps: readonly MigrationStep[];
}

export type Dialect = 'sqlite' | 'postgres';

export interface Storage extends SqlRunner {
  readonly dialect: Dialect;
  /** The file path, or the URL with its password masked: safe to print. */
  readonly display: string;
  /** Whether `notify` reaches other processes (PostgreSQL's LISTEN/NOTIFY); if not, waiters poll. */
  readonly notifiesAcrossProcesses: boolean;

  /**
   * Run `fn` in a transaction that commits when it resolves and rolls back when it throws. Statements of other
   * tasks never slip into it. Writers serialize on SQLite (BEGIN IMMEDIATE); on PostgreSQL, transactions that must
   * serialize do so through the rows they update (READ COMMITTED: an UPDATE's WHERE is re-checked on the newest
   * row version, and later statements see everything committed before the row lock was granted).
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;

  /** Bring components' tables up to date, safely when several processes do it at once. */
  migrate(...components: Migrations[]): Promise<void>;

  /** The version each component's tables are at (empty when the database has none of ours yet). */
  schemaVersions(): Promise<Map<string, number>>;

  /** Deliver `payload` to `subscribe`rs of `channel` (other processes too where `notifiesAcrossProcesses`). */
  notify(channel: string, payload: string): Promise<void>;
  /** Call `fn` for every payload notified on `channel` until the returned function is called. */
  subscribe(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;

  /** Give space freed by a large delete back to the file system (SQLite's WAL); a no-op where the server does it. */
  reclaimSpace(): Promise<void>;

  close(): Promise<void>;
}
