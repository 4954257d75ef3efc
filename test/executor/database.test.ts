import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openExecutor, openStorage, CacheStore } from '../../src/executor/index.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { backends } from '../helpers/backends.js';
import { KEY, KEY_ENV, tempDir, testSpace, user } from './_space.js';

const WORKER = resolve(import.meta.dirname, '_db-worker.ts');
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function runWorker(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

describe('database', () => {
  it('creates the parent folder and sets WAL, synchronous=NORMAL, busy_timeout and schema versions', async () => {
    const file = join(tempDir(), 'deep', 'er', 'moa.sqlite');
    await (await openStorage(file)).close();
    expect(existsSync(file)).toBe(true);
    // Reopening is idempotent.
    const storage = await openStorage(file);
    expect(await storage.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(await storage.get('PRAGMA synchronous')).toEqual({ synchronous: 1 });
    expect(await storage.get('PRAGMA busy_timeout')).toEqual({ timeout: 10_000 });
    expect(await storage.all('SELECT component, version FROM schema_versions ORDER BY component')).toEqual(
      [['cache', 1], ['leases', 1], ['ledger', 1], ['storage', 1]].map(([component, version]) => ({ component, version })),
    );
    await storage.close();
    const mem = await openStorage(':memory:');
    expect(await new CacheStore(mem).count()).toBe(0);
    await mem.close();
  });

  it('never writes the API key to the database file or its WAL', async () => {
    const server = await startOpenAIServer({
      handler: (_b, call, n) => (n === 3 ? { status: 401, body: { error: { message: `bad ${String(call.headers.authorization)}` } } } : {}),
    });
    open.push(server);
    const file = join(tempDir(), 'secret.sqlite');
    const ex = await openExecutor({ space: testSpace(server.url), dbPath: file, env: { [KEY_ENV]: KEY } });
    for (let i = 0; i < 5; i++) await ex.generate({ model: i % 2 ? 'A' : 'B', messages: user(`q${i}`) }).catch(() => undefined);
    await ex.generate({ model: 'A', messages: user('q0') }).catch(() => undefined);
    expect(server.calls[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    const scan = () => {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(KEY)), f).toBe(false);
      }
    };
    scan();
    expect(readFileSync(`${file}-wal`).length).toBeGreaterThan(0);
    await ex.close();
    scan();
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM generations').get() as { n: number }).n).toBe(5);
    db.close();
  });
});

describe.each(backends())('several processes on one $name database', (backend) => {
  it('commits each result as it arrives: a process killed with -9 loses none of them', async () => {
    const server = await startOpenAIServer();
    open.push(server);
    const location = backend.fresh('kill');
    const out = await runWorker([location, server.url, 'killed', '12', 'kill']);
    expect(out.signal).toBe('SIGKILL');
    expect(JSON.parse(out.stdout)).toEqual({ made: 24, cached: 0 });
    // A fresh connection sees every completed generation.
    const storage = await openStorage(location);
    expect(await new CacheStore(storage).count()).toBe(24);
    await storage.close();
  });

  it('three processes create, read and write one database at once without errors, paying for each generation once', async () => {
    const server = await startOpenAIServer({ latencyMs: 2 });
    open.push(server);
    const file = backend.fresh('shared');
    const N = 40;
    // Two children race to create the fresh file; this process joins while they work.
    const child = runWorker([file, server.url, 'child', String(N)]);
    const child2 = runWorker([file, server.url, 'other', String(N)]);
    if (backend.name === 'sqlite') while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
    const ex = await openExecutor({ space: testSpace(server.url), dbPath: file });
    open.push(ex);
    const mine = Promise.all(
      Array.from({ length: N }, async (_, i) => {
        await ex.generate({ model: 'C', messages: user(`parent ${i}`) });
        await ex.generate({ model: 'C', messages: user(`shared ${i}`) });
        await ex.cache.stats();
      }),
    );
    const [out, out2] = await Promise.all([child, child2, mine]);
    for (const o of [out, out2]) {
      expect(o.stderr).toBe('');
      expect(o.code).toBe(0);
      const summary = JSON.parse(o.stdout) as { made: number; cached: number };
      expect(summary.made + summary.cached).toBe(2 * N);
    }
    // Every private and shared prompt is stored exactly once.
    expect(await ex.cache.count()).toBe(4 * N);
    for (const p of ['parent', 'child', 'other', 'shared']) {
      for (let i = 0; i < N; i++) expect(await ex.cache.get(ex.keyOf({ model: 'C', messages: user(`${p} ${i}`) })), `${p} ${i}`).toBeDefined();
    }
    // The in-flight markers: a shared prompt the three processes raced on was paid for once.
    expect(server.count()).toBe(4 * N);
    // Everything the child wrote is now served from the cache here.
    const before = server.count();
    await ex.generate({ model: 'C', messages: user('child 7') });
    expect(server.count()).toBe(before);
  });
});
