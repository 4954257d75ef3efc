import pg from 'pg';
import { InputError } from '../config/input-error.js';
import { scrubSecrets, type DbLocation } from './db-location.js';
import { checkOwnership, pendingSteps, READ_VERSIONS, upToDate, VERSIONS_TABLE, WRITE_VERSION } from './_schema.js';
import { numberPlaceholders } from './_sql-placeholders.js';
import type { Migrations, RunResult, SqlRunner, SqlValue, Storage } from './storage.js';

type PgLocation = Extract<DbLocation, { kind: 'postgres' }>;

/** Advisory-lock key that serializes migrations across every process using the database. */
const MIGRATION_LOCK = 0x6d6f6173; // "moas"
const CONNECT_TIMEOUT_MS = 10_000;
/** Deadlock and serialization failures: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

// BIGINT and NUMERIC (COUNT, SUM of BIGINT) as JS numbers: our counters and epoch milliseconds fit in 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

const CHANNEL = /^[a-z_][a-z0-9_]{0,40}$/;

/** Why a connection failed, in words, without the password. */
function connectReason(e: unknown, secrets: readonly string[]): string {
  const err = e as { code?: string; message?: string; errors?: Array<{ message?: string }> };
  const code = err.code ?? '';
  const msg = scrubSecrets(err.message || err.errors?.[0]?.message || code || String(e), secrets);
  if (code === 'ECONNREFUSED') return `connection refused (${msg.replace(/^connect ECONNREFUSED\s*/, '') || 'no server listening'})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `unknown host (${msg})`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(msg)) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  return msg;
}

function runnerOf(q: (sql: string, params?: readonly SqlValue[]) => Promise<pg.QueryResult>): SqlRunner {
  return {
    all: async <T>(sql: string, params?: readonly SqlValue[]) => (await q(sql, params)).rows as T[],
    get: async <T>(sql: string, params?: readonly SqlValue[]) => (await q(sql, params)).rows[0] as T | undefined,
    run: async (sql: string, params?: readonly SqlValue[]): Promise<RunResult> => ({ changes: (await q(sql, params)).rowCount ?? 0 }),
  };
}

/** PostgreSQL through a `pg` Pool. */
export class PostgresStorage implements Storage {
  readonly dialect = 'postgres' as const;
  readonly notifiesAcrossProcesses = true;
  readonly display: string;
  private readonly direct: SqlRunner;
  private listener: Promise<pg.Client> | undefined;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  /** Channels LISTENed to on the current listener connection. */
  private readonly listening = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly loc: PgLocation,
  ) {
    this.display = loc.display;
    this.direct = runnerOf((sql, params) => this.query(pool, sql, params));
  }

  /**
   * Connect and check the database before writing anything: reachable, password accepted, ours (or empty), not
   * migrated by a newer moa-search. Failures are bad input naming `--db`, with the password masked.
   */
  static async connect(loc: PgLocation, known: readonly Migrations[]): Promise<PostgresStorage> {
    const pool = new pg.Pool({
      connectionString: loc.connectionString,
      ...(loc.schema ? { options: `-c search_path=${loc.schema}` } : {}),
      max: 8,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      application_name: 'moa-search',
      types,
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    const s = new PostgresStorage(pool, loc);
    try {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw new InputError(`${loc.display}: cannot connect: ${connectReason(e, loc.secrets)}`, { field: '--db' });
      }
      try {
        await s.inspect(client, known);
      } finally {
        client.release();
      }
      return s;
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
  }

  private async inspect(client: pg.PoolClient, known: readonly Migrations[]): Promise<void> {
    const { rows } = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
    );
    const tables = rows.map((r) => r.table_name);
    let versions: Map<string, number> | undefined;
    if (tables.includes('schema_versions')) {
      try {
        const v = await client.query<{ component: string; version: number }>(READ_VERSIONS);
        versions = new Map(v.rows.map((r) => [r.component, Number(r.version)]));
      } catch {
        versions = undefined;
      }
    }
    checkOwnership({ display: this.display, tables, versions, known, hint: ' (or a schema of your own: add ?schema=moa_search to the URL)' });
    if (this.loc.schema) {
      // Two processes creating it at once: the loser's unique violation means it exists, which is all we need.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.loc.schema}`).catch((e: { code?: string }) => {
        if (e.code !== '23505' && e.code !== '42P06') throw e;
      });
    }
  }

  private async query(on: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult> {
    try {
      return params?.length ? await on.query(numberPlaceholders(sql), params as unknown[]) : await on.query(sql);
    } catch (e) {
      // Driver messages never carry the password, but a URL echoed back might: scrub before anyone sees it.
      if (e instanceof Error) e.message = scrubSecrets(e.message, this.loc.secrets);
      throw e;
    }
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const out = await fn(runnerOf((sql, params) => this.query(client, sql, params)));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch((re: Error) => (broken = re));
        if (attempt < 5 && RETRYABLE.has((e as { code?: string }).code ?? '')) continue;
        throw e;
      } finally {
        client.release(broken);
      }
    }
  }

  async schemaVersions(): Promise<Map<string, number>> {
    try {
      const rows = await this.all<{ component: string; version: number }>(READ_VERSIONS);
      return new Map(rows.map((r) => [r.component, Number(r.version)]));
    } catch (e) {
      if ((e as { code?: string }).code === '42P01') return new Map(); // no table yet
      throw e;
    }
  }

  async migrate(...components: Migrations[]): Promise<void> {
    if (upToDate(await this.schemaVersions(), components)) return;
    await this.transaction(async (tx) => {
      // Two processes migrating at once: the second waits here, then finds the work done.
      await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      await tx.run(VERSIONS_TABLE);
      const rows = await tx.all<{ component: string; version: number }>(READ_VERSIONS);
      const current = new Map(rows.map((r) => [r.component, Number(r.version)]));
      for (const m of components) {
        const steps = pendingSteps(m, current.get(m.component) ?? 0, 'postgres', this.display);
        for (const s of steps) await tx.run(s);
        if (steps.length || !current.has(m.component)) await tx.run(WRITE_VERSION, [m.component, m.steps.length, new Date().toISOString()]);
      }
    });
  }

  private channel(name: string): string {
    if (!CHANNEL.test(name)) throw new Error(`bad notification channel "${name}"`);
    // Notifications are per database: keep schemas sharing one database from waking each other.
    return this.loc.schema ? `${this.loc.schema}__${name}` : name;
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.all('SELECT pg_notify(?, ?)', [this.channel(channel), payload]);
  }

  async subscribe(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    const name = this.channel(channel);
    const client = await this.listenClient();
    let started = this.listening.get(name);
    if (!started) {
      started = client.query(`LISTEN ${name}`).then(() => {});
      this.listening.set(name, started);
      started.catch(() => this.listening.delete(name));
    }
    await started;
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn);
    return async () => void set.delete(fn);
  }

  /** One dedicated connection per storage receives notifications (a pooled one would be handed to others). */
  private listenClient(): Promise<pg.Client> {
    if (!this.listener) {
      const client = new pg.Client({
        connectionString: this.loc.connectionString,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        application_name: 'moa-search listener',
      });
      // A lost listener only slows waiters down to their polling interval.
      client.on('error', () => {
        this.listener = undefined;
        this.listening.clear();
      });
      client.on('notification', (n) => {
        for (const fn of this.listeners.get(n.channel) ?? []) fn(n.payload ?? '');
      });
      this.listener = client.connect().then(() => client);
      this.listener.catch(() => (this.listener = undefined));
    }
    return this.listener;
  }

  async reclaimSpace(): Promise<void> {
    // autovacuum returns the space.
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    if (l) await l.then((c) => c.end()).catch(() => {});
    await this.pool.end();
  }
}
