import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/config/index.js';
import { EXECUTOR_SCHEMA, openStorage, type Migrations, type Storage } from '../../src/executor/index.js';
import { numberPlaceholders } from '../../src/executor/_sql-placeholders.js';
import { backends, listTables } from '../helpers/backends.js';

const open: Storage[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

async function storageAt(location: string): Promise<Storage> {
  const s = await openStorage(location);
  open.push(s);
  return s;
}

const THINGS: Migrations = {
  component: 'things',
  steps: [
    'CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, x DOUBLE PRECISION, note TEXT)',
    { sqlite: 'ALTER TABLE things ADD COLUMN flag INTEGER NOT NULL DEFAULT 0', postgres: 'ALTER TABLE things ADD COLUMN flag INTEGER NOT NULL DEFAULT 1' },
  ],
};

it('numbers placeholders outside literals, quoted names and comments', () => {
  expect(numberPlaceholders(`SELECT '?', "a?b", x FROM t WHERE a = ? AND b = 'it''s ?' -- why?\n AND c = ?`)).toBe(
    `SELECT '?', "a?b", x FROM t WHERE a = $1 AND b = 'it''s ?' -- why?\n AND c = $2`,
  );
});

describe.each(backends())('storage on $name', (backend) => {
  it('runs portable SQL: placeholders, upserts, RETURNING, numbers as numbers, the database clock', async () => {
    const s = await storageAt(backend.fresh('sql'));
    await s.migrate(THINGS);
    expect(await s.run('INSERT INTO things (id, n, x, note) VALUES (?, ?, ?, ?)', ['a', 2 ** 40, 0.1 + 0.2, 'why?'])).toEqual({ changes: 1 });
    const up = `INSERT INTO things (id, n) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET n = things.n + excluded.n RETURNING n`;
    expect(await s.all(up, ['a', 1])).toEqual([{ n: 2 ** 40 + 1 }]);
    expect(await s.get<{ x: number; note: string; flag: number }>("SELECT x, note, flag FROM things WHERE id = ? AND note LIKE '%?'", ['a'])).toEqual({
      x: 0.1 + 0.2, // DOUBLE PRECISION: no 4-byte rounding
      note: 'why?',
      flag: backend.name === 'sqlite' ? 0 : 1, // each dialect ran its own second step
    });
    expect(await s.get('SELECT COUNT(*) AS n, SUM(n) AS total FROM things')).toEqual({ n: 1, total: 2 ** 40 + 1 });
    expect(await s.get('SELECT id FROM things WHERE id = ?', ['zzz'])).toBeUndefined();
    const { now } = (await s.get<{ now: number }>('SELECT moa_now_ms() AS now'))!;
    expect(Math.abs(now - Date.now())).toBeLessThan(5_000);
    expect(s.display).not.toMatch(/:[0-9a-f]{8,}@/); // never the password
  });

  it('commits a transaction as a whole, rolls it back on error, and keeps other tasks\' statements out of it', async () => {
    const s = await storageAt(backend.fresh('tx'));
    await s.migrate(THINGS);
    let seenInside: Promise<Array<{ id: string }>> | undefined;
    const tx = s.transaction(async (t) => {
      await t.run('INSERT INTO things (id, n) VALUES (?, ?)', ['t1', 1]);
      // Another task writes and reads meanwhile: its statements wait (SQLite) or run beside it (PostgreSQL), never inside.
      seenInside = s.all<{ id: string }>('SELECT id FROM things');
      await new Promise((r) => setTimeout(r, 30));
      await t.run('INSERT INTO things (id, n) VALUES (?, ?)', ['t2', 2]);
      return 'done';
    });
    const outside = s.run('INSERT INTO things (id, n) VALUES (?, ?)', ['other', 3]);
    expect(await tx).toBe('done');
    await outside;
    // It saw the transaction whole or not at all: never t1 without t2.
    const seen = (await seenInside!).map((r) => r.id);
    expect(seen.includes('t1')).toBe(seen.includes('t2'));
    await expect(
      s.transaction(async (t) => {
        await t.run('INSERT INTO things (id, n) VALUES (?, ?)', ['gone', 9]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await s.all<{ id: string }>('SELECT id FROM things ORDER BY id')).map((r) => r.id)).toEqual(['other', 't1', 't2']);
  });

  it('migrates once per component even when several connections open a fresh database at the same moment', async () => {
    const location = backend.fresh('race');
    const all = await Promise.all(Array.from({ length: 4 }, () => storageAt(location)));
    await Promise.all(all.map((s) => s.migrate(THINGS)));
    const versions = await all[0]!.schemaVersions();
    expect(Object.fromEntries(versions)).toEqual({ ...Object.fromEntries(EXECUTOR_SCHEMA.map((m) => [m.component, m.steps.length])), things: 2 });
  });

  it('refuses a database migrated by a newer moa-search, before writing anything', async () => {
    const location = backend.fresh('future');
    const s = await storageAt(location);
    await s.run("UPDATE schema_versions SET version = 99 WHERE component = 'ledger'");
    const err = await openStorage(location).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^--db: .*ledger tables are at schema version 99, newer than this moa-search knows \(1\)/);
    // A component a newer version added is not ours to judge; our own components still migrate.
    await s.run("UPDATE schema_versions SET version = 1 WHERE component = 'ledger'");
    await s.run("INSERT INTO schema_versions (component, version, updated_at) VALUES ('from_the_future', 7, 'x')");
    await storageAt(location);
  });

  it('refuses a database holding another application\'s tables, and writes nothing to it', async () => {
    const location = backend.fresh('foreign');
    // Another application's database: its own tables, and even its own schema_versions table.
    const other = await openStorage(location, { migrate: false });
    await other.run('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    await other.run('CREATE TABLE schema_versions (version INTEGER)');
    await other.close();
    const err = await openStorage(location).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/--db.*holds tables of another application \(customers, schema_versions\)/);
    const look = await openStorage(location, { migrate: false }).catch((e) => e);
    expect(look).toBeInstanceOf(InputError);
    // Nothing of ours was created.
    expect(await listTables(location)).toEqual(['customers', 'schema_versions']);
  });

  it('delivers notifications to subscribers until they unsubscribe', async () => {
    const location = backend.fresh('notify');
    const [a, b] = [await storageAt(location), await storageAt(location)];
    const got: string[] = [];
    const off = await a.subscribe('moa_test', (p) => got.push(p));
    // Across connections on PostgreSQL; within one connection on SQLite, whose other processes poll instead.
    const sender = backend.name === 'postgres' ? b : a;
    expect(a.notifiesAcrossProcesses).toBe(backend.name === 'postgres');
    await sender.notify('moa_test', 'k1');
    for (let i = 0; i < 100 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await off();
    await sender.notify('moa_test', 'k2');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual(['k1']);
  });
});
