import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { ProviderSchema } from '../../src/config/space.js';
import { batchInputLine, createOpenAIBatchClient, parseBatchOutput, type BatchClient, type ProviderRequest } from '../../src/providers/index.js';
import { createSimBatchClient, createSimProvider, startSimServer, type SimServer } from '../../src/sim/index.js';

const MODEL = 'sim-llama-3-70b-instruct';
const requests: ProviderRequest[] = [
  { model: MODEL, messages: [{ role: 'user', content: 'Write a haiku about autumn rain.' }], temperature: 0.7, seed: 3, maxTokens: 256 },
  { model: 'sim-gpt-4o-mini-2024-07-18', messages: [{ role: 'user', content: 'Which is better? Answer m or M.' }], temperature: 0, maxTokens: 1, logprobs: true, topLogprobs: 5 },
];
let server: SimServer;
let http: BatchClient;

beforeAll(async () => {
  server = await startSimServer({ port: 0, batchDelayMs: 150 });
  http = createOpenAIBatchClient('simhttp', ProviderSchema.parse({ baseURL: server.url, keyless: true, maxRetries: 0, batch: {} }));
});
afterAll(async () => {
  await server.close();
});

async function runJob(client: BatchClient, lines: string[]) {
  const job = await client.create(await client.upload(lines.join('\n') + '\n'), {});
  let r = await client.retrieve(job.id);
  const seen = [r.status];
  while (r.status === 'in_progress') {
    await new Promise((res) => setTimeout(res, 25));
    r = await client.retrieve(job.id);
    seen.push(r.status);
  }
  return { r, seen, output: r.outputFileId ? parseBatchOutput(await client.download(r.outputFileId)) : undefined };
}

describe('the simulated world\'s Batch API', () => {
  it('sim serve: a job stays in progress for the batch delay, then answers exactly as the chat endpoint does', async () => {
    const t0 = Date.now();
    const { r, seen, output } = await runJob(http, requests.map((q, i) => batchInputLine(`k${i}`, q)));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(seen[0]).toBe('in_progress');
    expect(r.status).toBe('completed');
    expect(server.batch.counts).toMatchObject({ uploads: 1, created: 1 });
    const chat = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
    const local = createSimProvider({});
    for (const [i, q] of requests.entries()) {
      const res = output!.results.find((x) => x.customId === `k${i}`)!;
      if (!('response' in res)) throw new Error(res.error);
      const online = await chat.chat.completions.create({ model: q.model, messages: q.messages, temperature: q.temperature, seed: q.seed, max_tokens: q.maxTokens, logprobs: q.logprobs, top_logprobs: q.topLogprobs });
      expect(res.response.text).toBe(online.choices[0]!.message.content);
      expect(res.response.usage).toEqual({ promptTokens: online.usage!.prompt_tokens, completionTokens: online.usage!.completion_tokens });
      const l = await local.complete(q);
      expect(res.response.logprobs?.[0]?.top?.map((t) => t.token)).toEqual(l.logprobs?.[0]?.top?.map((t) => t.token));
    }
  });

  it('sim serve: an input file with a broken line fails the whole job, with the line named', async () => {
    const { r, output } = await runJob(http, [batchInputLine('a', requests[0]!), '{"custom_id": "b"', batchInputLine('a', requests[1]!)]);
    expect(r.status).toBe('failed');
    expect(r.errors).toMatch(/line 2: line is not valid JSON; line 3: duplicate custom_id a/);
    expect(output).toBeUndefined();
  });

  it('in process: the sim provider\'s Batch API gives the in-process provider\'s answers; unknown jobs are 404', async () => {
    const client = createSimBatchClient({ delayMs: 0 });
    const { r, output } = await runJob(client, [batchInputLine('x', requests[0]!)]);
    expect(r.status).toBe('completed');
    const res = output!.results[0]!;
    expect('response' in res && res.response.text).toBe((await createSimProvider({}).complete(requests[0]!)).text);
    await expect(client.retrieve('batch_from_a_dead_process')).rejects.toMatchObject({ name: 'BatchApiError', status: 404 });
  });
});
