import type { Migrations } from './storage.js';

// The executor's tables, per component, for both back ends. Append steps only: never edit a shipped one.
// Types are portable where both dialects read them alike (DOUBLE PRECISION and BIGINT are REAL and INTEGER to
// SQLite); the cache's first step predates PostgreSQL, so it keeps its SQLite text and gets a PostgreSQL twin.

/** The database clock (`moa_now_ms()`): SQLite's is registered on each connection, PostgreSQL's is a function. */
export const STORAGE_SCHEMA: Migrations = {
  component: 'storage',
  steps: [
    {
      sqlite: 'SELECT 1',
      postgres: `CREATE OR REPLACE FUNCTION moa_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE
        AS $$ SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT $$`,
    },
  ],
};

/** Generations (see cache-store.ts). */
export const CACHE_SCHEMA: Migrations = {
  component: 'cache',
  steps: [
    {
      sqlite: `
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
        CREATE INDEX IF NOT EXISTS generations_by_model ON generations(model);`,
      postgres: `
        CREATE TABLE IF NOT EXISTS generations (
          key TEXT PRIMARY KEY,
          model TEXT NOT NULL,
          request TEXT NOT NULL,
          response TEXT NOT NULL,
          finish_reason TEXT NOT NULL,
          prompt_tokens BIGINT NOT NULL,
          completion_tokens BIGINT NOT NULL,
          estimated INTEGER NOT NULL DEFAULT 0,
          cost_usd DOUBLE PRECISION NOT NULL,
          latency_ms DOUBLE PRECISION NOT NULL,
          logprobs TEXT,
          created_at TEXT NOT NULL,
          hits BIGINT NOT NULL DEFAULT 0,
          last_hit_at TEXT
        );
        CREATE INDEX IF NOT EXISTS generations_by_model ON generations(model);`,
    },
  ],
};

/**
 * The shared spend ledger (see spend-ledger.ts): one row per budget scope holding spent and reserved USD, so that
 * a single conditional UPDATE admits or refuses a reservation; reservations as rows with an owner and an expiry;
 * spend per account.
 */
export const LEDGER_SCHEMA: Migrations = {
  component: 'ledger',
  steps: [
    `
    CREATE TABLE ledger_scopes (
      scope TEXT PRIMARY KEY,
      budget_usd DOUBLE PRECISION,
      spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
      reserved_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
      calls BIGINT NOT NULL DEFAULT 0,
      ephemeral INTEGER NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
    CREATE TABLE ledger_reservations (
      id TEXT PRIMARY KEY,
      scope TEXT NOT NULL REFERENCES ledger_scopes(scope) ON DELETE CASCADE,
      owner TEXT NOT NULL,
      model TEXT NOT NULL,
      usd DOUBLE PRECISION NOT NULL,
      expires_at BIGINT NOT NULL,
      created_at BIGINT NOT NULL
    );
    CREATE INDEX ledger_reservations_by_scope ON ledger_reservations(scope, expires_at);
    CREATE INDEX ledger_reservations_by_owner ON ledger_reservations(owner);
    CREATE TABLE ledger_accounts (
      scope TEXT NOT NULL REFERENCES ledger_scopes(scope) ON DELETE CASCADE,
      account TEXT NOT NULL,
      spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
      calls BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY (scope, account)
    );`,
  ],
};

/** Leases (see leases.ts): study claims, trials, and the cache's in-flight markers. */
export const LEASE_SCHEMA: Migrations = {
  component: 'leases',
  steps: [
    `
    CREATE TABLE leases (
      name TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      token TEXT NOT NULL,
      ttl_ms BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      acquired_at BIGINT NOT NULL,
      renewed_at BIGINT NOT NULL
    );
    CREATE INDEX leases_by_owner ON leases(owner);`,
  ],
};

/** Every component the executor needs, in the order they are created. */
export const EXECUTOR_SCHEMA: readonly Migrations[] = [STORAGE_SCHEMA, CACHE_SCHEMA, LEDGER_SCHEMA, LEASE_SCHEMA];
