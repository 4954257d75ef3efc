import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { APIError, AuthenticationError, NotFoundError } from 'openai';
import { defaultAnswer } from '../helpers/openai-server.js';
import { USAGE, postRaw, startServed, type Served } from './_setup.js';

const handler = (body: any) => ({ usage: USAGE[body.model] });
// {A: 2, B: 1} → G: 2×A + B + G.
const EXPECTED_USAGE = {
  prompt_tokens: 2 * 11 + 13 + 17,
  completion_tokens: 2 * 7 + 5 + 3,
  total_tokens: 2 * 18 + 18 + 20,
};

describe('serve: the openai SDK against a served mixture', () => {
  let s: Served;
  beforeAll(async () => {
    s = await startServed({
      handler,
      mixtures: { moa: '{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}', solo: '{"layers": 1, "aggregator": "B"}' },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('answers a chat completion with usage summed over every call of the mixture', async () => {
    s.upstream.reset();
    const r = await s.client.chat.completions.create({
      model: 'moa',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first turn' },
        { role: 'assistant', content: 'first reply' },
        { role: 'user', content: 'second turn' },
      ],
      temperature: 0.2,
      max_tokens: 99,
    });
    expect(s.upstream.count()).toBe(4);
    const agg = s.upstream.calls.find((c) => c.body.model === 'G')!.body;
    expect(r.choices[0]!.message.content).toBe(defaultAnswer(agg));
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.model).toBe('moa');
    expect(r.object).toBe('chat.completion');
    expect(r.usage).toEqual(EXPECTED_USAGE);
    // temperature / max_tokens reach the final aggregator only; proposers use the space's settings.
    expect(agg.temperature).toBe(0.2);
    expect(agg.max_tokens ?? agg.max_completion_tokens).toBe(99);
    for (const c of s.upstream.calls.filter((c) => c.body.model !== 'G')) {
      expect(c.body.temperature).toBe(0.7);
      // Proposers see the whole conversation.
      expect(c.body.messages.map((m: any) => m.content)).toEqual(['be brief', 'first turn', 'first reply', 'second turn']);
    }
    expect(agg.messages[0].content.startsWith('be brief\n\n')).toBe(true);
    expect(agg.messages.at(-1).content).toBe('second turn');
  });

  it('streams the final aggregator over SSE, ending with usage and [DONE]', async () => {
    s.upstream.reset();
    const stream = await s.client.chat.completions.create({
      model: 'moa',
      messages: [{ role: 'user', content: 'please stream a long enough answer to this question' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (c?.delta?.content) deltas.push(c.delta.content);
      if (c?.finish_reason) finish = c.finish_reason;
    }
    const agg = s.upstream.calls.find((c) => c.body.model === 'G')!.body;
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(defaultAnswer(agg));
    expect(finish).toBe('stop');
    expect(usage).toEqual(EXPECTED_USAGE);

    // The same request again comes from the cache: no upstream call, the same text and usage.
    s.upstream.reset();
    const again = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'please stream a long enough answer to this question' }] });
    expect(s.upstream.count()).toBe(0);
    expect(again.choices[0]!.message.content).toBe(deltas.join(''));
    expect(again.usage).toEqual(EXPECTED_USAGE);
  });

  it('lists the served mixtures and serves each under its name', async () => {
    const models = await s.client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['moa', 'solo']);
    expect((await s.client.models.retrieve('solo')).id).toBe('solo');
    await expect(s.client.models.retrieve('nope')).rejects.toBeInstanceOf(NotFoundError);
    s.upstream.reset();
    const r = await s.client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'alone' }] });
    expect(s.upstream.count()).toBe(1);
    expect(r.usage).toEqual({ prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 });
    await expect(s.client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reports spend and per-layer latency at /v1/moa/stats', async () => {
    const stats: any = await (await fetch(`${s.server.url}/moa/stats`)).json();
    expect(stats.object).toBe('moa.stats');
    expect(stats.requests.ok).toBeGreaterThanOrEqual(4);
    expect(stats.calls.made).toBeGreaterThanOrEqual(9);
    expect(stats.calls.cached).toBeGreaterThanOrEqual(4);
    expect(stats.tokens.total).toBeGreaterThan(0);
    expect(stats.usd).toBeGreaterThan(0);
    expect(stats.latency.layers.map((l: any) => l.layer)).toEqual([1, 2]);
    for (const l of stats.latency.layers) {
      expect(l.p50Ms).toBeGreaterThanOrEqual(0);
      expect(l.p95Ms).toBeGreaterThanOrEqual(l.p50Ms);
    }
    expect(stats.models.moa.requests.ok).toBeGreaterThanOrEqual(3);
    expect(stats.recent[0]).toMatchObject({ model: 'solo', status: 200, calls: 1, promptTokens: 13, completionTokens: 5 });
    expect(stats.recent[0].usd).toBeCloseTo((13 * 1 + 5 * 2) / 1e6, 12);
  });

  it('answers malformed requests with 400 naming the field, and other routes with 404/405/413', async () => {
    const cases: Array<[string, number, string | null, string | null]> = [
      ['{not json', 400, null, 'invalid_json'],
      ['[1, 2]', 400, null, 'invalid_json'],
      ['{"messages": [{"role": "user", "content": "x"}]}', 400, 'model', 'invalid_value'],
      ['{"model": "moa"}', 400, 'messages', 'invalid_value'],
      ['{"model": "moa", "messages": []}', 400, 'messages', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "wizard", "content": "x"}]}', 400, 'messages[0].role', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": 5}]}', 400, 'messages[0].content', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}', 400, 'messages[0].content[0]', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "system", "content": "only system"}]}', 400, 'messages', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": "x"}], "temperature": 7}', 400, 'temperature', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": "x"}], "max_tokens": -3}', 400, 'max_tokens', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": "x"}], "n": 3}', 400, 'n', 'invalid_value'],
      ['{"model": "moa", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', 400, 'stream', 'invalid_value'],
      ['{"model": "other", "messages": [{"role": "user", "content": "x"}]}', 404, 'model', 'model_not_found'],
    ];
    s.upstream.reset();
    for (const [body, status, param, code] of cases) {
      const r = await postRaw(s.server.url, body);
      expect(r.status, body).toBe(status);
      expect(r.json.error, body).toMatchObject({ param, code, type: 'invalid_request_error' });
      expect(typeof r.json.error.message).toBe('string');
      if (param) expect(r.json.error.message, body).toContain(param);
    }
    expect(s.upstream.count()).toBe(0);
    const get = await fetch(`${s.server.url}/chat/completions`);
    expect(get.status).toBe(405);
    const nope = await fetch(`${s.server.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(nope.status).toBe(404);
    expect(((await nope.json()) as any).error.code).toBe('not_found');
  });

  it('refuses an oversize body with 413', async () => {
    const small = await startServed({ handler, server: { maxBodyBytes: 2048 } });
    try {
      const big = JSON.stringify({ model: 'moa', messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
      const r = await postRaw(small.server.url, big);
      expect(r.status).toBe(413);
      expect(r.json.error.code).toBe('request_too_large');
      // The SDK gets the same answer as an APIError with status 413.
      const e = await small.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'y'.repeat(5000) }] }).catch((e) => e);
      expect(e).toBeInstanceOf(APIError);
      expect(e.status).toBe(413);
      expect(small.upstream.count()).toBe(0);
      // A body under the limit still works on the same server.
      const ok = await small.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'short' }] });
      expect(ok.choices[0]!.message.content).toMatch(/^\[G\] answer/);
    } finally {
      await small.close();
    }
  });
});

describe('serve: --no-cache', () => {
  it('makes fresh upstream calls for a repeated request', async () => {
    const s = await startServed({ handler, server: { noCache: true } });
    try {
      const ask = () => s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'fresh every time' }] });
      const a = await ask();
      const b = await ask();
      expect(s.upstream.count()).toBe(8);
      expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
      expect((b as any).moa).toMatchObject({ made: 4, cached: 0 });
      expect(s.server.stats().cache).toBe(false);
    } finally {
      await s.close();
    }
  });
});

describe('serve: authentication', () => {
  let s: Served;
  beforeAll(async () => {
    s = await startServed({ handler, apiKey: 'sk-test-serve-0123456789' });
  });
  afterAll(async () => {
    await s.close();
  });

  it('accepts the right bearer key and rejects a wrong or missing one with 401 on every route', async () => {
    const ok = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'authorized' }] });
    expect(ok.choices[0]!.message.content).toMatch(/^\[G\] answer/);
    expect((await s.client.models.list()).data.map((m) => m.id)).toEqual(['moa']);

    const wrong = new OpenAI({ baseURL: s.server.url, apiKey: 'sk-test-serve-0123456788', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(wrong.models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const short = new OpenAI({ baseURL: s.server.url, apiKey: 'sk', maxRetries: 0 });
    await expect(short.models.list()).rejects.toBeInstanceOf(AuthenticationError);

    s.upstream.reset();
    const none = await postRaw(s.server.url, '{"model": "moa", "messages": [{"role": "user", "content": "x"}]}');
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('invalid_api_key');
    expect(JSON.stringify(none.json)).not.toContain('sk-test-serve');
    const statsDenied = await fetch(`${s.server.url}/moa/stats`);
    expect(statsDenied.status).toBe(401);
    expect(s.upstream.count()).toBe(0);
    const stats: any = await (await fetch(`${s.server.url}/moa/stats`, { headers: { authorization: 'Bearer sk-test-serve-0123456789' } })).json();
    expect(stats.rejected.unauthorized).toBe(5);
  });
});

describe('serve: upstream failures', () => {
  it('answers 502 with an error object when the upstream fails (500 and 401), streaming or not', async () => {
    let status = 500;
    const s = await startServed({ handler: () => ({ status }) });
    const logs: string[] = [];
    try {
      const e1 = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'upstream 500' }] }).catch((e) => e);
      expect(e1).toBeInstanceOf(APIError);
      expect(e1.status).toBe(502);
      expect(e1.error).toMatchObject({ type: 'upstream_error', code: 'all-proposers-failed' });
      status = 401;
      const e2 = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'upstream 401' }], stream: true }).catch((e) => e);
      expect(e2).toBeInstanceOf(APIError);
      expect(e2.status).toBe(502);
      expect(String(e2.message)).toMatch(/provider "local"/);
      const stats: any = await (await fetch(`${s.server.url}/moa/stats`)).json();
      expect(stats.requests.failed).toBe(2);
      expect(stats.calls.failed).toBe(6);
      void logs;
    } finally {
      await s.close();
    }
  });

  it('a failing aggregator after good proposers is a 502 too; one failed proposer is not', async () => {
    let failing = 'G';
    const s = await startServed({ handler: (body) => (body.model === failing ? { status: 400 } : {}) });
    try {
      const e = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'agg fails' }] }).catch((e) => e);
      expect(e.status).toBe(502);
      expect(e.error.code).toBe('aggregator-failed');
      failing = 'B';
      const ok = await s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'B fails' }] });
      expect(ok.choices[0]!.message.content).toMatch(/^\[G\] answer/);
      expect((ok as any).moa).toMatchObject({ calls: 4, failed: 1 });
    } finally {
      await s.close();
    }
  });
});
