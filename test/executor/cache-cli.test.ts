import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/config/index.js';
import { openExecutor } from '../../src/executor/index.js';
import { clearCache, formatCacheStats, readCacheStats } from '../../src/executor/cache-admin.js';
import { runCli } from '../helpers/cli.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { backends, pgQuery } from '../helpers/backends.js';
import { KEY, KEY_ENV, tempDir, testSpace, user } from './_space.js';

// CLI subprocesses are slow on a loaded machine: the command's wiring is tested through the CLI,
// the logic behind it in-process.
describe.each(backends())('moa-search cache on $name', (backend) => {
  let server: FakeServer;
  let dir: string;
  let db: string;
  let costA = 0;
  let costB = 0;

  beforeAll(async () => {
    server = await startOpenAIServer({ handler: (b) => ({ usage: { prompt_tokens: 100, completion_tokens: b.model === 'B' ? 50 : 10 } }) });
    dir = tempDir('moa-cache-cli-');
    db = backend.name === 'sqlite' ? join(dir, 'runs', 'moa.sqlite') : backend.fresh('cache_cli');
    const ex = await openExecutor({ space: testSpace(server.url), dbPath: db, env: { [KEY_ENV]: KEY } });
    costA = (await ex.generate({ model: 'A', messages: user('a0') })).costUsd;
    await ex.generate({ model: 'A', messages: user('a1') });
    costB = (await ex.generate({ model: 'B', messages: user('b0') })).costUsd;
    // Hits: a0 three times, b0 once.
    for (let i = 0; i < 3; i++) await ex.generate({ model: 'A', messages: user('a0') });
    await ex.generate({ model: 'B', messages: user('b0') });
    await ex.close();
  });
  afterAll(() => server.close());

  it('stats --json (database from MOA_SEARCH_DB) reports entries, hits and USD saved, per model', async () => {
    const r = await runCli(['cache', 'stats', '--json'], { env: { MOA_SEARCH_DB: db } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ db: db.replace(/:[^:@/]*@/, ':***@'), entries: 3, hits: 4 });
    expect(s.savedUsd).toBeCloseTo(3 * costA + costB, 12);
    expect(s.costUsd).toBeCloseTo(2 * costA + costB, 12);
    expect(s.byModel.map((m: any) => [m.model, m.entries, m.hits])).toEqual([
      ['A', 2, 3],
      ['B', 1, 1],
    ]);
  });

  it('formats stats as a summary line and a per-model table', async () => {
    const text = formatCacheStats(db, await readCacheStats(db));
    expect(text).toContain('3 entries, 4 hits');
    expect(text).toMatch(/^A\s+2\s+3\s/m);
    expect(text).toMatch(/^B\s+1\s+1\s/m);
  });

  if (backend.name === 'sqlite') {
    it('a missing file is an empty cache and is not created; a non-database is bad input', async () => {
      const missing = join(dir, 'none', 'x.sqlite');
      expect(await readCacheStats(missing)).toMatchObject({ entries: 0, hits: 0, byModel: [] });
      expect(await clearCache(missing)).toBe(0);
      expect(existsSync(missing)).toBe(false);
      const junk = join(dir, 'junk.sqlite');
      writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough '.repeat(10));
      await expect(readCacheStats(junk)).rejects.toThrow(InputError);
      await expect(readCacheStats(junk)).rejects.toThrow(/junk\.sqlite/);
    });
  }

  if (backend.name === 'postgres') {
    it('an empty database is an empty cache, and stats create no tables in it', async () => {
      const empty = backend.fresh('empty');
      expect(await readCacheStats(empty)).toMatchObject({ entries: 0, hits: 0, byModel: [] });
      expect(await clearCache(empty)).toBe(0);
      expect(await pgQuery(empty, 'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()')).toEqual([]);
    });
  }

  it('clear refuses without --yes when not interactive, then clears one model, then all', async () => {
    const no = await runCli(['cache', 'clear', '--db', db]);
    expect(no.code).toBe(2);
    expect(no.stderr).toContain('--yes');
    expect((await readCacheStats(db)).entries).toBe(3);

    const one = await runCli(['cache', 'clear', '--db', db, '--model', 'A', '--yes']);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('deleted 2 cached generations');
    // The database password is never printed.
    if (backend.name === 'postgres') expect(one.stdout).not.toContain(new URL(db).password);
    expect(one.stdout).toContain(backend.name === 'postgres' ? ':***@' : db);
    expect((await readCacheStats(db)).byModel.map((m) => m.model)).toEqual(['B']);

    expect(await clearCache(db)).toBe(1);
    expect((await readCacheStats(db)).entries).toBe(0);
  });
});
