import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startOpenAIServer, defaultAnswer, type FakeServer } from '../helpers/openai-server.js';

// The shared test server, exercised through the real openai SDK.
describe('test helper: loopback OpenAI server', () => {
  let srv: FakeServer;
  let client: OpenAI;
  beforeAll(async () => {
    srv = await startOpenAIServer({
      handler: (body) => (body.model === 'lp' ? { text: 'm', logprobs: [{ token: 'm', logprob: -0.1, top_logprobs: [{ token: 'm', logprob: -0.1 }, { token: 'M', logprob: -2.4 }] }] } : {}),
    });
    client = new OpenAI({ baseURL: srv.url, apiKey: 'none', maxRetries: 0 });
  });
  afterAll(() => srv.close());

  it('answers deterministically with usage and counts calls per model', async () => {
    const req = { model: 'a', messages: [{ role: 'user' as const, content: 'hi' }], seed: 1, temperature: 0.7 };
    const r1 = await client.chat.completions.create(req);
    const r2 = await client.chat.completions.create(req);
    const r3 = await client.chat.completions.create({ ...req, seed: 2 });
    expect(r1.choices[0]!.message.content).toBe(r2.choices[0]!.message.content);
    expect(r1.choices[0]!.message.content).not.toBe(r3.choices[0]!.message.content);
    expect(r1.choices[0]!.message.content).toBe(defaultAnswer(req));
    expect(r1.choices[0]!.message.content).toMatch(/^\[a\] answer #[0-9a-f]{8}: hi$/);
    expect(r1.choices[0]!.finish_reason).toBe('stop');
    expect(r1.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(srv.count('a')).toBe(3);
    expect(srv.count('b')).toBe(0);
  });

  it('streams chunks, a usage chunk on request, then [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'a',
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    let finish: string | null = null;
    let n = 0;
    for await (const c of stream) {
      n++;
      text += c.choices[0]?.delta?.content ?? '';
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    expect(n).toBeGreaterThan(3);
    expect(text).toMatch(/: stream me please$/);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
  });

  it('passes logprobs through, lists models, and sends scripted errors', async () => {
    const r = await client.chat.completions.create({ model: 'lp', messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 5 });
    expect(r.choices[0]!.logprobs!.content![0]!.top_logprobs.map((t) => t.token)).toEqual(['m', 'M']);
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const errSrv = await startOpenAIServer({ handler: () => ({ status: 429, headers: { 'retry-after': '0' } }) });
    try {
      const c2 = new OpenAI({ baseURL: errSrv.url, apiKey: 'none', maxRetries: 0 });
      await expect(c2.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 429 });
      expect(errSrv.count()).toBe(1);
      errSrv.reset();
      expect(errSrv.count()).toBe(0);
    } finally {
      await errSrv.close();
    }
  });
});
