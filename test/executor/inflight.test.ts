import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Leases, openExecutor, openStorage } from '../../src/executor/index.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { backends } from '../helpers/backends.js';
import { testSpace, user } from './_space.js';

// Two processes are simulated by two executors on separate connections (their own pools/handles); the real
// multi-process checks are in multi-process.test.ts.
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe.each(backends())('in-flight markers on $name', (backend) => {
  async function setup(latencyMs: number) {
    const server = await startOpenAIServer({ latencyMs });
    open.push(server);
    const location = backend.fresh('inflight');
    const space = testSpace(server.url);
    const [a, b] = [await openExecutor({ space, dbPath: location }), await openExecutor({ space, dbPath: location })];
    open.push(a, b);
    const storage = await openStorage(location);
    open.push(storage);
    return { server, a, b, storage };
  }
  const req = { model: 'C', messages: user('one generation, wanted twice') };

  it('a second process waits for the first one\'s call and serves its result: one provider call', async () => {
    const { server, a, b } = await setup(150);
    const first = a.generate(req);
    while (server.count() === 0) await sleep(5);
    const second = await b.generate(req);
    expect(second.cached).toBe(true);
    expect(second.text).toBe((await first).text);
    expect(server.count()).toBe(1);
    expect(b.spend().calls).toEqual({ made: 0, cached: 1, failed: 0 });
  });

  it('takes the call over when the holder dies (its lease expires unrenewed)', async () => {
    const { server, b, storage } = await setup(0);
    await new Leases(storage, 'lost-host:4242:dead').acquire(`generation:${b.keyOf(req)}`, 250);
    const t0 = performance.now();
    const r = await b.generate(req);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    expect(r.cached).toBe(false);
    expect(server.count()).toBe(1);
  });

  it('takes the call over at once when the holder gives up without a result (its call failed)', async () => {
    const { server, b, storage } = await setup(0);
    const lease = (await new Leases(storage, 'other:1:beef').acquire(`generation:${b.keyOf(req)}`, 60_000))!;
    setTimeout(() => void lease.release(), 80);
    const t0 = performance.now();
    const r = await b.generate(req);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(r.cached).toBe(false);
    expect(server.count()).toBe(1);
  });

  it('a waiter that aborts stops waiting, and nothing is called', async () => {
    const { server, b, storage } = await setup(0);
    await new Leases(storage, 'other:1:beef').acquire(`generation:${b.keyOf(req)}`, 60_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user left')), 50);
    await expect(b.generate(req, { signal: ac.signal })).rejects.toThrow('user left');
    expect(server.count()).toBe(0);
  });
});
