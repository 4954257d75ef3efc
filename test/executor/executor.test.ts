import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/config/index.js';
import { openExecutor } from '../../src/executor/index.js';
import { createOpenAIProvider, ProviderError } from '../../src/providers/index.js';
import { defaultAnswer, startOpenAIServer, type FakeHandler } from '../helpers/openai-server.js';
import { backends } from '../helpers/backends.js';
import { KEY, KEY_ENV, testSpace, user } from './_space.js';

const env = { [KEY_ENV]: KEY };
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe.each(backends())('caching executor on $name', (backend) => {
  async function setup(handler?: FakeHandler, opts: { latencyMs?: number; maxRetries?: number } = {}) {
    const server = await startOpenAIServer({ handler, latencyMs: opts.latencyMs });
    open.push(server);
    const ex = await openExecutor({ space: testSpace(server.url, { maxRetries: opts.maxRetries }), dbPath: backend.fresh('executor'), env, providerOptions: { retryBaseMs: 1 } });
    open.push(ex);
    return { server, ex };
  }

  it('misses once, then serves the same request from the cache with zero provider calls', async () => {
    const { server, ex } = await setup(() => ({ usage: { prompt_tokens: 1000, completion_tokens: 500 } }));
    const req = { model: 'A', messages: user('hello there') };
    const first = await ex.generate(req);
    expect(server.count()).toBe(1);
    expect(first).toMatchObject({ model: 'A', cached: false, promptTokens: 1000, completionTokens: 500, estimated: false, finishReason: 'stop' });
    expect(first.costUsd).toBeCloseTo((1000 * 1 + 500 * 2) / 1e6, 12);
    // The upstream name goes out, with the space's generation defaults and the sample as seed.
    expect(server.calls[0]!.body).toMatchObject({ model: 'up/model-a', temperature: 0.7, max_tokens: 64, seed: 0 });
    expect(first.text).toBe(defaultAnswer(server.calls[0]!.body));

    const second = await ex.generate(req);
    expect(server.count()).toBe(1);
    expect(second).toEqual({ ...first, cached: true });
    // Defaults filled in explicitly hit the same entry.
    expect((await ex.generate({ ...req, temperature: 0.7, maxTokens: 64, sample: 0 })).cached).toBe(true);
    expect(server.count()).toBe(1);
    const s = ex.spend();
    expect(s.calls).toEqual({ made: 1, cached: 2, failed: 0 });
    expect(s.total).toBeCloseTo(first.costUsd, 12);
    expect(s.byAccount).toEqual({ mixture: first.costUsd });
  });

  it('keys on every sampling field: a different temperature, max tokens or message is a new call', async () => {
    const { server, ex } = await setup();
    const base = { model: 'A', messages: user('q') };
    await ex.generate(base);
    await ex.generate({ ...base, temperature: 0.2 });
    await ex.generate({ ...base, maxTokens: 10 });
    await ex.generate({ ...base, topP: 0.5 });
    await ex.generate({ ...base, messages: [{ role: 'system', content: 's' }, ...user('q')] });
    await ex.generate({ ...base, model: 'B' });
    expect(server.count()).toBe(6);
    expect(ex.keyOf(base)).not.toBe(ex.keyOf({ ...base, sample: 1 }));
  });

  it('coalesces concurrent identical requests into one provider call', async () => {
    const { server, ex } = await setup(undefined, { latencyMs: 40 });
    const req = { model: 'A', messages: user('same question') };
    const results = await Promise.all(Array.from({ length: 6 }, () => ex.generate(req)));
    expect(server.count()).toBe(1);
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(ex.spend().calls).toEqual({ made: 1, cached: 5, failed: 0 });
  });

  it('reuses samples: samples 0,1 then 0,1,2 make exactly one new call, with seed 2', async () => {
    const { server, ex } = await setup();
    const gen = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => ex.generate({ model: 'A', messages: user('p'), sample: i })));
    const two = await gen(2);
    expect(server.count()).toBe(2);
    expect(two[0]!.text).not.toBe(two[1]!.text);
    const three = await gen(3);
    expect(server.count()).toBe(3);
    expect(server.calls[2]!.body.seed).toBe(2);
    expect(three.map((r) => r.cached)).toEqual([true, true, false]);
    expect(three.slice(0, 2).map((r) => r.text)).toEqual(two.map((r) => r.text));
  });

  it('estimates and marks usage when the endpoint omits it', async () => {
    const { ex } = await setup(() => ({ usage: null, text: 'x'.repeat(40) }));
    const r = await ex.generate({ model: 'A', messages: user('y'.repeat(80)) });
    expect(r.estimated).toBe(true);
    expect(r.completionTokens).toBe(10);
    expect(r.promptTokens).toBeGreaterThanOrEqual(20);
    expect(r.costUsd).toBeCloseTo((r.promptTokens + 2 * r.completionTokens) / 1e6, 12);
    const again = await ex.generate({ model: 'A', messages: user('y'.repeat(80)) });
    expect(again).toMatchObject({ cached: true, estimated: true, promptTokens: r.promptTokens });
  });

  it('streams tokens through onToken, caches the whole text, and replays it from the cache', async () => {
    const { server, ex } = await setup(() => ({ text: 'alpha beta gamma delta' }));
    const deltas: string[] = [];
    const r = await ex.generate({ model: 'A', messages: user('s') }, { onToken: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('alpha beta gamma delta');
    expect(r.text).toBe('alpha beta gamma delta');
    expect(server.calls[0]!.body.stream).toBe(true);
    expect((await ex.cache.get(r.key))!.text).toBe('alpha beta gamma delta');
    const replay: string[] = [];
    const hit = await ex.generate({ model: 'A', messages: user('s') }, { onToken: (d) => replay.push(d) });
    expect(hit.cached).toBe(true);
    expect(replay.join('')).toBe('alpha beta gamma delta');
    expect(server.count()).toBe(1);
  });

  it('gives a streaming joiner of a coalesced call the whole text exactly once', async () => {
    const { server, ex } = await setup(() => ({ text: 'one two three', delayMs: 30 }));
    const a: string[] = [];
    const b: string[] = [];
    const [ra, rb] = await Promise.all([
      ex.generate({ model: 'A', messages: user('t') }, { onToken: (d) => a.push(d) }),
      ex.generate({ model: 'A', messages: user('t') }, { onToken: (d) => b.push(d) }),
    ]);
    expect(server.count()).toBe(1);
    expect(a.join('')).toBe('one two three');
    expect(b.join('')).toBe('one two three');
    expect([ra.cached, rb.cached]).toEqual([false, true]);
  });

  it('passes logprobs through and keeps them in the cache', async () => {
    const lp = [{ token: 'M', logprob: -0.05, top_logprobs: [{ token: 'M', logprob: -0.05 }, { token: 'm', logprob: -3 }] }];
    const { server, ex } = await setup(() => ({ text: 'M', logprobs: lp }));
    const req = { model: 'B', messages: user('judge this'), temperature: 0, maxTokens: 1, logprobs: true, topLogprobs: 5 };
    const r = await ex.generate(req, { account: 'judge' });
    expect(r.logprobs).toEqual([{ token: 'M', logprob: -0.05, top: [{ token: 'M', logprob: -0.05 }, { token: 'm', logprob: -3 }] }]);
    expect((await ex.generate(req, { account: 'judge' })).logprobs).toEqual(r.logprobs);
    expect(server.count()).toBe(1);
    expect(Object.keys(ex.spend().byAccount)).toEqual(['judge']);
  });

  it('does not cache errors and counts failed calls', async () => {
    const { server, ex } = await setup((_b, _c, n) => (n === 0 ? { status: 400, body: { error: { message: 'context too long' } } } : {}));
    const req = { model: 'A', messages: user('fails first') };
    const err = await ex.generate(req).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('remote');
    expect(err.message).toContain('up/model-a');
    const ok = await ex.generate(req);
    expect(ok.cached).toBe(false);
    expect(server.count()).toBe(2);
    expect(ex.spend().calls).toEqual({ made: 1, cached: 0, failed: 1 });
    expect(ex.spend().reserved).toBe(0);
  });

  it('retries 429 with Retry-After and 500 through the executor', async () => {
    const { server, ex } = await setup((_b, _c, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '0.02' } } : n === 1 ? { status: 500 } : { text: 'finally' },
    );
    expect((await ex.generate({ model: 'A', messages: user('r') })).text).toBe('finally');
    expect(server.count()).toBe(3);
  });

  it('fails a 401 at once with a message naming model and provider, not the key', async () => {
    const { server, ex } = await setup((_b, call) => ({ status: 401, body: { error: { message: `invalid key ${String(call.headers.authorization)}` } } }));
    const err = await ex.generate({ model: 'B', messages: user('who am i') }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/"remote".*"B"|"B".*"remote"/);
    expect(err.message).not.toContain(KEY);
    expect(server.count()).toBe(1);
  });

  it('rejects unknown models and missing API keys with InputError before any call', async () => {
    const server = await startOpenAIServer();
    open.push(server);
    const ex = await openExecutor({ space: testSpace(server.url), dbPath: backend.fresh('keys'), env: {} });
    open.push(ex);
    await expect(ex.generate({ model: 'nope', messages: user('x') })).rejects.toThrow(InputError);
    const err = await ex.generate({ model: 'A', messages: user('x') }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('remote');
    expect(err.message).toContain(KEY_ENV);
    expect(err.message).toMatch(/^test-space\.yaml \(providers\.remote\.apiKeyEnv\): /);
    expect(server.count()).toBe(0);
    // The keyless provider of the same space still works.
    await ex.generate({ model: 'C', messages: user('x') });
    expect(server.count()).toBe(1);
    expect(server.calls[0]!.headers.authorization).toBeUndefined();
  });

  it('noCache skips lookup, store and coalescing but still records spend', async () => {
    const { server, ex } = await setup();
    const req = { model: 'A', messages: user('fresh') };
    await ex.generate(req);
    const [a, b] = await Promise.all([ex.generate(req, { noCache: true }), ex.generate(req, { noCache: true })]);
    expect(server.count()).toBe(3);
    expect([a.cached, b.cached]).toEqual([false, false]);
    expect(await ex.cache.count()).toBe(1);
    expect(ex.spend().calls.made).toBe(3);
  });

  it('lets one coalesced waiter abort without cancelling the call for the others', async () => {
    const { server, ex } = await setup(() => ({ delayMs: 60 }));
    const ac = new AbortController();
    const req = { model: 'A', messages: user('abortable') };
    const first = ex.generate(req, { signal: ac.signal });
    const second = ex.generate(req);
    setTimeout(() => ac.abort(new Error('caller left')), 10);
    await expect(first).rejects.toThrow('caller left');
    expect((await second).text).toMatch(/abortable$/);
    expect(server.count()).toBe(1);

    // When every waiter leaves, the call itself is aborted and nothing is stored or billed.
    const ac2 = new AbortController();
    const only = ex.generate({ model: 'A', messages: user('nobody waits') }, { signal: ac2.signal });
    setTimeout(() => ac2.abort(new Error('gone')), 10);
    await expect(only).rejects.toThrow('gone');
    await new Promise((r) => setTimeout(r, 5));
    expect(await ex.cache.get(ex.keyOf({ model: 'A', messages: user('nobody waits') }))).toBeUndefined();
    expect(ex.spend().reserved).toBe(0);
  });

  it('uses provider overrides by provider name', async () => {
    const server = await startOpenAIServer({ handler: () => ({ text: 'from override' }) });
    open.push(server);
    const other = await startOpenAIServer();
    open.push(other);
    const override = createOpenAIProvider('remote', { kind: 'openai', baseURL: server.url, keyless: true, maxConcurrency: 4, timeoutMs: 5000, maxRetries: 0, sendSeed: false });
    const ex = await openExecutor({ space: testSpace(other.url), dbPath: backend.fresh('override'), env: {}, providers: new Map([['remote', override]]) });
    open.push(ex);
    expect((await ex.generate({ model: 'A', messages: user('o') })).text).toBe('from override');
    expect(server.count()).toBe(1);
    expect(other.count()).toBe(0);
  });

  it('prices calls from the catalog', async () => {
    const { ex } = await setup();
    expect(ex.priceOf('B', 1_000_000, 1_000_000)).toBeCloseTo(40, 10);
    expect(ex.priceOf('A', 500, 250)).toBeCloseTo(0.001, 12);
    expect(() => ex.priceOf('zzz', 1, 1)).toThrow(InputError);
  });
});
