import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStorage } from '../../src/executor/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { freshPgUrl, listTables, PG_URL, pgQuery } from '../helpers/backends.js';
import { tempDir } from './_space.js';

// A --db that cannot be used is bad input: exit 2, one line naming --db and the cause, never the password,
// nothing written. `eval` on the simulated world is the command that would otherwise spend.
const EVAL = ['eval', '--baseline', 'meta-llama/Llama-3-70b-chat-hf'];

function expectDbError(r: CliResult, cause: RegExp, secret?: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^moa-search: --db: /);
  expect(lines.at(-1)).toMatch(cause);
  if (secret) expect(r.stderr).not.toContain(secret);
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('unusable --db', () => {
  it('an unreachable server (for eval and for search), or another URL scheme', async () => {
    const url = `postgres://moa:Unreach4ble-pw@127.0.0.1:${await closedPort()}/moa`;
    const [down, mysql, search] = await Promise.all([
      runCli([...EVAL, '--db', url]),
      runCli(['cache', 'stats', '--db', 'mysql://root:Mysql-pw@127.0.0.1/x']),
      runCli(['--budget', '1', '--db', url, '--no-report']),
    ]);
    expectDbError(down, /postgres:\/\/moa:\*\*\*@127\.0\.0\.1:\d+\/moa: cannot connect: connection refused/, 'Unreach4ble-pw');
    expectDbError(mysql, /unsupported database URL/, 'Mysql-pw');
    expectDbError(search, /postgres:\/\/moa:\*\*\*@127\.0\.0\.1:\d+\/moa: cannot connect: connection refused/, 'Unreach4ble-pw');
  });

  it.runIf(existsSync('/proc/self'))('a SQLite folder that cannot be created is refused at once (no recursive mkdir spinning under /proc)', async () => {
    await expect(openStorage('/proc/nope/x.sqlite')).rejects.toThrow(/cannot create \/proc\/nope \(ENOENT\)/);
  });

  it('a SQLite file of another application is refused and left byte for byte as it was', async () => {
    const file = join(tempDir(), 'crm.sqlite');
    const db = new Database(file);
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES (\'Ada\')');
    db.close();
    const before = sha(file);
    expectDbError(await runCli([...EVAL, '--db', file]), /crm\.sqlite: holds tables of another application \(customers\)/);
    expect(sha(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  const pgUrl = PG_URL;
  if (pgUrl) {
    it('PostgreSQL: a wrong password, a database of another application, and one from a newer moa-search', async () => {
      const good = new URL(pgUrl);
      const wrong = new URL(pgUrl);
      wrong.password = 'Wr0ng-password';
      const foreign = freshPgUrl('foreign');
      await pgQuery(foreign, 'CREATE TABLE orders (id BIGINT PRIMARY KEY, total NUMERIC)');
      const future = freshPgUrl('future');
      const s = await openStorage(future);
      await s.run("UPDATE schema_versions SET version = 42 WHERE component = 'cache'");
      await s.close();

      const [pw, other, newer] = await Promise.all([runCli([...EVAL, '--db', wrong.toString()]), runCli([...EVAL, '--db', foreign]), runCli(['cache', 'stats', '--db', future])]);
      expectDbError(pw, /:\*\*\*@.*cannot connect: password authentication failed for user "postgres"/, 'Wr0ng-password');
      expectDbError(other, /holds tables of another application \(orders\).*\?schema=/, good.password);
      expectDbError(newer, /cache tables are at schema version 42, newer than this moa-search knows \(1\)/, good.password);
      // Nothing was written: the other application's database still holds only its own table.
      expect(await listTables(foreign)).toEqual(['orders']);
    });
  }
});
