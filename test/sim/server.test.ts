import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { createSimProvider, startSimServer, type SimServer } from '../../src/sim/index.js';
import { createOpenAIProvider } from '../../src/providers/openai-provider.js';
import { ProviderSchema } from '../../src/config/space.js';
import { alpacaJudgePrompt } from './_mc.js';

const Q = 'Write a haiku about autumn rain.';
const MODEL = 'sim-llama-3-70b-instruct';
let server: SimServer;
let client: OpenAI;
const local = createSimProvider({});

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
  client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});

describe('sim serve over HTTP (OpenAI-compatible)', () => {
  it('listens on loopback and lists the models', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(MODEL);
  });

  it('returns byte-identical text and the same usage as the in-process provider', async () => {
    for (const [temperature, seed] of [[0.7, 2], [0, 0]] as const) {
      const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature, seed });
      const l = await local.complete({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature, seed });
      expect(r.choices[0]!.message.content).toBe(l.text);
      expect(r.choices[0]!.finish_reason).toBe('stop');
      expect(r.usage).toMatchObject({ prompt_tokens: l.usage!.promptTokens, completion_tokens: l.usage!.completionTokens });
    }
  });

  it('streams SSE chunks that join to the same text, with a usage chunk and [DONE]', async () => {
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 5, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const raw = await res.text();
    const events = raw.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const l = await local.complete({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 5 });
    expect(text).toBe(l.text);
    expect(chunks.at(-1).usage.completion_tokens).toBe(l.usage!.completionTokens);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    // And through the SDK's stream reader.
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 5, stream: true });
    let sdkText = '';
    for await (const c of stream) sdkText += c.choices[0]?.delta?.content ?? '';
    expect(sdkText).toBe(l.text);
  });

  it('honours logprobs/top_logprobs (the AlpacaEval judge)', async () => {
    const r = await client.chat.completions.create({
      model: 'sim-gpt-4o-mini-2024-07-18',
      messages: [{ role: 'user', content: alpacaJudgePrompt(Q, 'One answer.', 'Another answer.') }],
      temperature: 0,
      max_tokens: 1,
      logprobs: true,
      top_logprobs: 5,
    });
    const lp = r.choices[0]!.logprobs!.content![0]!;
    expect(['m', 'M']).toContain(lp.token);
    expect(lp.top_logprobs.map((t) => t.token)).toEqual(expect.arrayContaining(['m', 'M']));
  });

  it('answers an unknown model with 404 and a bad body with 400', async () => {
    const e = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: Q }] }).catch((x) => x);
    expect(e.status).toBe(404);
    const bad = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
  });
});

describe('sim serve with --fail-rate', () => {
  it('answers 429 (Retry-After: 0) and 500 at the rate, and the project client retries through them', async () => {
    const flaky = await startSimServer({ port: 0, failRate: 0.4 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await fetch(`${flaky.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: Q }] }) });
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('retry-after')).toBe('0');
        await r.arrayBuffer();
      }
      expect(statuses).toContain(429);
      expect(statuses).toContain(500);
      expect(statuses).toContain(200);
      const spec = ProviderSchema.parse({ baseURL: flaky.url, keyless: true, maxRetries: 10 });
      const p = createOpenAIProvider('flaky', spec, { retryBaseMs: 1, retryCapMs: 5 });
      const before = flaky.requests();
      const texts: string[] = [];
      for (let s = 0; s < 6; s++) texts.push((await p.complete({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: s })).text);
      expect(flaky.requests() - before).toBeGreaterThan(6); // some attempts failed and were retried
      for (let s = 0; s < 6; s++) expect(texts[s]).toBe((await local.complete({ model: MODEL, messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: s })).text);
    } finally {
      await flaky.close();
    }
  });
});
