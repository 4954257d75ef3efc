import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/config/index.js';
import type { ProviderSpec } from '../../src/config/index.js';
import { createOpenAIProvider, createProvider, ProviderError, estimateTokens, Limiter } from '../../src/providers/index.js';
import { backoffMs, retryAfterMs } from '../../src/providers/_retry.js';
import { startOpenAIServer, type FakeHandler, type FakeReply, type FakeServer } from '../helpers/openai-server.js';

const KEY = 'test-key-12345-secret';
const env = { TEST_API_KEY: KEY };
const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handler?: FakeHandler, latencyMs?: number) {
  const s = await startOpenAIServer({ handler, latencyMs });
  servers.push(s);
  return s;
}

function spec(url: string, extra: Partial<ProviderSpec> = {}): ProviderSpec {
  return { kind: 'openai', baseURL: url, apiKeyEnv: 'TEST_API_KEY', maxConcurrency: 8, timeoutMs: 10_000, maxRetries: 3, sendSeed: true, ...extra };
}
const ask = { model: 'up/model-x', messages: [{ role: 'user' as const, content: 'What is 2+2?' }] };

describe('OpenAI-compatible provider', () => {
  it('sends the request fields, the key as a bearer token, and reads text, finish_reason, usage and latency', async () => {
    const s = await server(() => ({ text: 'four', finishReason: 'length', usage: { prompt_tokens: 11, completion_tokens: 1 } }));
    const p = createOpenAIProvider('acme', spec(s.url), { env });
    const r = await p.complete({ ...ask, temperature: 0.3, maxTokens: 7, topP: 0.9, seed: 2 });
    expect(r).toMatchObject({ text: 'four', finishReason: 'length', usage: { promptTokens: 11, completionTokens: 1 } });
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(s.calls[0]!.body).toMatchObject({ model: 'up/model-x', temperature: 0.3, max_tokens: 7, top_p: 0.9, seed: 2 });
    expect(s.calls[0]!.body.stream).toBeUndefined();
    expect(s.calls[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('leaves usage undefined when the endpoint omits it', async () => {
    const s = await server(() => ({ usage: null }));
    const r = await createOpenAIProvider('acme', spec(s.url), { env }).complete(ask);
    expect(r.usage).toBeUndefined();
    expect(r.text).toMatch(/What is 2\+2\?$/);
  });

  it('keyless providers send no Authorization header', async () => {
    const s = await server();
    await createOpenAIProvider('local', spec(s.url, { apiKeyEnv: undefined, keyless: true }), { env: {} }).complete(ask);
    expect(s.calls[0]!.headers.authorization).toBeUndefined();
  });

  it('a missing API key env var is an InputError naming provider and variable, before any call', async () => {
    const s = await server();
    let err: unknown;
    try {
      createProvider('acme', spec(s.url, { apiKeyEnv: 'MOA_TEST_ABSENT_KEY' }), { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('acme');
    expect((err as Error).message).toContain('MOA_TEST_ABSENT_KEY');
    expect(s.count()).toBe(0);
  });

  it('retries 429 honouring Retry-After (seconds) and retry-after-ms', async () => {
    const s = await server((_b, _c, n): FakeReply =>
      n === 0 ? { status: 429, headers: { 'retry-after': '0.05' } } : n === 1 ? { status: 429, headers: { 'retry-after-ms': '20' } } : { text: 'ok' },
    );
    // A huge base backoff proves the server's hints were used: otherwise the test would time out.
    const p = createOpenAIProvider('acme', spec(s.url), { env, retryBaseMs: 600_000 });
    const r = await p.complete(ask);
    expect(r.text).toBe('ok');
    expect(s.count()).toBe(3);
  });

  it('retries 500, 503, 408 and 409, then gives up with a ProviderError after maxRetries', async () => {
    const codes = [500, 503, 408, 409];
    const s = await server((_b, _c, n) => (n < codes.length ? { status: codes[n] } : { text: 'fine' }));
    const p = createOpenAIProvider('acme', spec(s.url, { maxRetries: 4 }), { env, retryBaseMs: 1 });
    expect((await p.complete(ask)).text).toBe('fine');
    expect(s.count()).toBe(5);

    const bad = await server(() => ({ status: 502, body: { error: { message: 'upstream exploded' } } }));
    const q = createOpenAIProvider('acme', spec(bad.url, { maxRetries: 2 }), { env, retryBaseMs: 1 });
    const err = (await q.complete(ask).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'acme', model: 'up/model-x', status: 502, attempts: 3, reason: 'http' });
    expect(err.message).toContain('upstream exploded');
    expect(bad.count()).toBe(3);
  });

  it.each([400, 401, 403, 404])('fails at once on %i, naming model and provider, never the key', async (status) => {
    // The server echoes the key back, as some real endpoints do in their error text.
    const s = await server((_b, call) => ({ status, body: { error: { message: `bad credentials: ${String(call.headers.authorization)}` } } }));
    const p = createOpenAIProvider('acme', spec(s.url), { env, retryBaseMs: 1 });
    const err = (await p.complete(ask).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.status).toBe(status);
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('acme');
    expect(err.message).toContain('up/model-x');
    expect(err.message).not.toContain(KEY);
    expect(s.count()).toBe(1);
  });

  it('switches to max_completion_tokens for models that refuse max_tokens', async () => {
    const s = await server((b) =>
      b.max_tokens !== undefined
        ? { status: 400, body: { error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: 'max_tokens' } } }
        : { text: `limit ${b.max_completion_tokens}` },
    );
    const p = createOpenAIProvider('acme', spec(s.url, { maxRetries: 0 }), { env });
    expect((await p.complete({ ...ask, maxTokens: 9 })).text).toBe('limit 9');
    expect((await p.complete({ ...ask, maxTokens: 5 })).text).toBe('limit 5');
    expect(s.count()).toBe(3);
  });

  it('fails at once on a 2xx answer that is not a chat completion', async () => {
    const s = await server((_b, _c, n) => (n === 0 ? { raw: '{"choices": [' } : { body: { id: 'x', object: 'chat.completion', choices: [] } }));
    const p = createOpenAIProvider('acme', spec(s.url), { env, retryBaseMs: 1 });
    const broken = (await p.complete(ask).catch((e) => e)) as ProviderError;
    expect(broken).toBeInstanceOf(ProviderError);
    expect(broken).toMatchObject({ reason: 'bad-response', attempts: 1 });
    const empty = (await p.complete(ask).catch((e) => e)) as ProviderError;
    expect(empty).toMatchObject({ reason: 'bad-response', attempts: 1 });
    expect(empty.message).toContain('no choices');
    expect(s.count()).toBe(2);
  });

  it('retries connection errors and reports them after maxRetries', async () => {
    const s = await startOpenAIServer();
    const url = s.url;
    await s.close();
    const p = createOpenAIProvider('acme', spec(url, { maxRetries: 1 }), { env, retryBaseMs: 1 });
    const err = (await p.complete(ask).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ reason: 'connection', attempts: 2 });
  });

  it('turns a timeout into a retryable timeout failure', async () => {
    const s = await server((_b, _c, n) => (n === 0 ? { delayMs: 2000 } : { text: 'second try' }));
    const p = createOpenAIProvider('acme', spec(s.url, { timeoutMs: 100, maxRetries: 1 }), { env, retryBaseMs: 1 });
    expect((await p.complete(ask)).text).toBe('second try');
    const q = createOpenAIProvider('acme', spec(s.url, { timeoutMs: 100, maxRetries: 0 }), { env });
    s.reset();
    const err = (await q.complete(ask).catch((e) => e)) as ProviderError;
    expect(err).toMatchObject({ reason: 'timeout', attempts: 1 });
  });

  it('streams tokens through onToken and asks for the usage chunk', async () => {
    const s = await server(() => ({ text: 'one two three four', usage: { prompt_tokens: 5, completion_tokens: 4 } }));
    const p = createOpenAIProvider('acme', spec(s.url), { env });
    const deltas: string[] = [];
    const r = await p.complete(ask, { onToken: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('one two three four');
    expect(r).toMatchObject({ text: 'one two three four', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 4 } });
    expect(s.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('passes logprobs through, streaming or not', async () => {
    const lp = [{ token: 'm', logprob: -0.2, top_logprobs: [{ token: 'm', logprob: -0.2 }, { token: 'M', logprob: -1.7 }] }];
    const s = await server(() => ({ text: 'm', logprobs: lp }));
    const p = createOpenAIProvider('judge', spec(s.url), { env });
    const want = [{ token: 'm', logprob: -0.2, top: [{ token: 'm', logprob: -0.2 }, { token: 'M', logprob: -1.7 }] }];
    expect((await p.complete({ ...ask, logprobs: true, topLogprobs: 5, maxTokens: 1, temperature: 0 })).logprobs).toEqual(want);
    expect(s.calls[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 5 });
    expect((await p.complete({ ...ask, logprobs: true, topLogprobs: 5 }, { onToken: () => {} })).logprobs).toEqual(want);
    expect((await p.complete(ask)).logprobs).toBeUndefined();
  });

  it('aborts a call in flight or in backoff via the signal', async () => {
    const s = await server(() => ({ delayMs: 5000 }));
    const p = createOpenAIProvider('acme', spec(s.url), { env });
    const ac = new AbortController();
    const pending = p.complete(ask, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop now')), 20);
    await expect(pending).rejects.toThrow('stop now');

    const r = await server(() => ({ status: 429, headers: { 'retry-after': '60' } }));
    const q = createOpenAIProvider('acme', spec(r.url), { env });
    const ac2 = new AbortController();
    const pending2 = q.complete(ask, { signal: ac2.signal });
    while (r.count() === 0) await new Promise((res) => setTimeout(res, 5));
    ac2.abort(new Error('user gave up'));
    await expect(pending2).rejects.toThrow('user gave up');
    expect(r.count()).toBe(1);
  });

  it('keeps at most maxConcurrency requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const s = await server(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Hold each request until a second one arrives (or a while passes), so overlap is certain, not timing luck.
      for (let t = 0; t < 100 && inFlight < 2; t++) await new Promise((res) => setTimeout(res, 2));
      await new Promise((res) => setTimeout(res, 5));
      peak = Math.max(peak, inFlight);
      inFlight--;
      return {};
    });
    const p = createProvider('acme', spec(s.url, { maxConcurrency: 2 }), { env });
    await Promise.all(Array.from({ length: 8 }, (_, i) => p.complete({ ...ask, seed: i })));
    expect(s.count()).toBe(8);
    expect(peak).toBe(2);
  });
});

describe('retry timing helpers', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('parses Retry-After as seconds, HTTP date, and retry-after-ms first', () => {
    expect(retryAfterMs(h({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(h({ 'retry-after': '0.05' }))).toBe(50);
    expect(retryAfterMs(h({ 'retry-after-ms': '30', 'retry-after': '9' }))).toBe(30);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
  });
  it('backs off exponentially with jitter in [half, full] and a cap', () => {
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(400);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(200);
    expect(backoffMs(20, 100, 1000, () => 1)).toBe(1000);
  });
  it('estimates tokens at about four characters each', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abc')).toBe(1);
    expect(estimateTokens('x'.repeat(400))).toBe(100);
  });
  it('limits requests per minute', async () => {
    const l = new Limiter(10, 2);
    await l.run(async () => 1);
    await l.run(async () => 2);
    const ac = new AbortController();
    const third = l.run(async () => 3, ac.signal);
    let done = false;
    void third.then(() => (done = true), () => (done = true));
    await new Promise((res) => setTimeout(res, 30));
    expect(done).toBe(false);
    ac.abort(new Error('cancelled'));
    await expect(third).rejects.toThrow('cancelled');
  });
});
