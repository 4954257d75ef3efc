import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';

/**
 * The storage back ends a test runs against: SQLite always, PostgreSQL when MOA_TEST_PG_URL names a throwaway
 * cluster (`eval "$(scripts/pg-test-cluster.sh start)"`). `fresh()` gives a new, empty database each call: a
 * temporary file, or a schema of its own (`?schema=…`) dropped when the test file ends.
 */
export interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(label?: string): string;
}

export const PG_URL = process.env.MOA_TEST_PG_URL || undefined;

const schemas: string[] = [];
// Registered while the test file is collected (a hook registered inside a running test is never called).
if (PG_URL) afterAll(dropSchemas);

/** `url` with `?schema=name` added. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export function freshPgUrl(label = 't'): string {
  if (!PG_URL) throw new Error('MOA_TEST_PG_URL is not set');
  const schema = `t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return withSchema(PG_URL, schema);
}

async function dropSchemas(): Promise<void> {
  if (!schemas.length || !PG_URL) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Run SQL on the test cluster outside moa-search (to set up foreign tables, inspect rows, …). */
export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: u.toString(), ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  await client.connect();
  try {
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const sqlite: Backend = {
  name: 'sqlite',
  fresh: (label = 'db') => join(mkdtempSync(join(tmpdir(), 'moa-db-')), `${label}.sqlite`),
};

const postgres: Backend = { name: 'postgres', fresh: (label) => freshPgUrl(label) };

/** SQLite, and PostgreSQL when a test cluster is configured. */
export function backends(): Backend[] {
  return PG_URL ? [sqlite, postgres] : [sqlite];
}

/** The tables in a test database, read without moa-search (so nothing of ours is created by looking). */
export async function listTables(location: string): Promise<string[]> {
  if (location.startsWith('postgres')) {
    const rows = await pgQuery<{ name: string }>(location, 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1');
    return rows.map((r) => r.name);
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(location, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}
