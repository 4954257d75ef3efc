import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpace } from '../../src/config/index.js';
import { BatchApiError, batchInputLine, createBatchClient, parseBatchOutput, type BatchClient } from '../../src/providers/index.js';
import { defaultAnswer, startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';

const KEY = 'sk-batch-test-0123456789abcdef';
let server: FakeServer;
let client: BatchClient;

beforeAll(async () => {
  server = await startOpenAIServer({ batch: { delayMs: 50 } });
  const space = parseSpace(
    `providers: { p: { baseURL: "${server.url}", apiKeyEnv: BATCH_KEY, maxRetries: 0, batch: { discount: 0.5 } } }\nmodels: [{ id: M, provider: p, price: { input: 1, output: 1 } }]`,
    'space.yaml',
  );
  client = createBatchClient('p', space.providers.p!, { env: { BATCH_KEY: KEY } });
});
afterAll(async () => {
  await server.close();
});

const line = (customId: string, content: string) => batchInputLine(customId, { model: 'up/m', messages: [{ role: 'user', content }], temperature: 0, seed: 1 });

describe('Batch API client (OpenAI protocol, through the SDK)', () => {
  it('uploads, creates, polls and downloads a job; the output parses back to the answers', async () => {
    const fileId = await client.upload([line('k1', 'hello'), line('k2', 'world')].join('\n') + '\n');
    expect(server.batch.fileInfo(fileId)).toMatchObject({ purpose: 'batch', filename: 'moa-search-batch.jsonl' });
    const job = await client.create(fileId, { source: 'test' });
    expect(job).toMatchObject({ status: 'in_progress', inputFileId: fileId, counts: { total: 2, completed: 0, failed: 0 } });
    expect(await client.findByInputFile(fileId, job.createdAt)).toMatchObject({ id: job.id });
    let r = await client.retrieve(job.id);
    while (r.status !== 'completed') {
      await new Promise((res) => setTimeout(res, 20));
      r = await client.retrieve(job.id);
    }
    expect(r).toMatchObject({ counts: { total: 2, completed: 2, failed: 0 } });
    expect(r.errorFileId).toBeUndefined();
    const { results, malformed } = parseBatchOutput(await client.download(r.outputFileId!));
    expect(malformed).toEqual([]);
    expect(results.map((x) => x.customId)).toEqual(['k1', 'k2']);
    const body = server.batch.jobInput(job.id)[0]!.body;
    expect(body).toEqual({ model: 'up/m', messages: [{ role: 'user', content: 'hello' }], temperature: 0, seed: 1 });
    expect(results[0]).toMatchObject({ response: { text: defaultAnswer(body), finishReason: 'stop' } });
    // The key went in the Authorization header only.
    expect(JSON.stringify(server.batch.jobInput(job.id))).not.toContain(KEY);
  });

  it('reports an unknown job as BatchApiError 404, naming provider and operation', async () => {
    const e = await client.retrieve('batch_nope').catch((x) => x);
    expect(e).toBeInstanceOf(BatchApiError);
    expect(e).toMatchObject({ status: 404, provider: 'p' });
    expect(e.message).toMatch(/^provider "p" batch API, retrieve batch_nope: HTTP 404/);
  });

  it('refuses a provider without batch settings (InputError naming it)', () => {
    const spec = parseSpace(`providers: { q: { baseURL: "${server.url}", keyless: true } }\nmodels: [{ id: M, provider: q, price: { input: 1, output: 1 } }]`).providers.q!;
    expect(() => createBatchClient('q', spec)).toThrow(/provider "q" has no Batch API/);
  });
});

describe('parseBatchOutput', () => {
  const ok = (id: string, content: unknown) =>
    JSON.stringify({ id: 'r', custom_id: id, response: { status_code: 200, body: { choices: [{ message: { content }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 } } }, error: null });
  it('separates results, per-request errors and malformed lines', () => {
    const text = [
      ok('a', 'fine'),
      '',
      JSON.stringify({ custom_id: 'b', response: { status_code: 429, body: { error: { message: 'slow down' } } } }),
      JSON.stringify({ custom_id: 'c', response: null, error: { code: 'batch_expired', message: 'expired' } }),
      '{"custom_id": "d", "response": {"status_code": 200, "bo',
      JSON.stringify({ response: {} }),
      JSON.stringify({ custom_id: 'e' }),
      ok('f', 42),
      JSON.stringify({ custom_id: 'g', response: { status_code: 200, body: { choices: [] } } }),
    ].join('\n');
    const { results, malformed } = parseBatchOutput(text);
    expect(results).toEqual([
      { customId: 'a', response: { text: 'fine', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 2 }, logprobs: undefined, latencyMs: 0 } },
      { customId: 'b', error: 'HTTP 429: slow down' },
      { customId: 'c', error: 'batch_expired: expired' },
    ]);
    expect(malformed).toEqual([
      { line: 5, customId: 'd', reason: 'not valid JSON' },
      { line: 6, reason: 'no custom_id' },
      { line: 7, customId: 'e', reason: 'no response' },
      { line: 8, customId: 'f', reason: 'the message content is not text' },
      { line: 9, customId: 'g', reason: 'the answer has no choices' },
    ]);
  });
});
