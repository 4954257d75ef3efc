// A request too long for the served mixture's models is refused before any upstream call, with the answer OpenAI
// gives: 400 context_length_exceeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadMixture, parseSpace } from '../../src/config/index.js';
import { openExecutor, type CachingExecutor } from '../../src/executor/index.js';
import { startMixtureServer, type MixtureServer } from '../../src/server/index.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { postRaw, tempDir } from './_setup.js';

describe('serve: context windows', () => {
  let upstream: FakeServer;
  let executor: CachingExecutor;
  let server: MixtureServer;
  beforeAll(async () => {
    upstream = await startOpenAIServer();
    const space = parseSpace(
      `providers:\n  local: { baseURL: "${upstream.url}", keyless: true, maxRetries: 0 }\nmodels:\n` +
        '  - { id: A, provider: local, price: { input: 1, output: 2 }, maxCopies: 2, contextWindow: 4096 }\n' +
        '  - { id: G, provider: local, price: { input: 1, output: 2 }, contextWindow: 8192 }\n' +
        'generation: { temperature: 0.7, maxTokens: 256 }\n',
      'space.yaml',
    );
    executor = await openExecutor({ space, dbPath: join(tempDir(), 'serve.sqlite') });
    server = await startMixtureServer({ space, mixtures: [{ name: 'moa', mixture: loadMixture('{"layers": 2, "proposers": {"A": 2}, "aggregator": "G"}', space) }], executor, port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await executor.close();
    await upstream.close();
  });

  it('answers 400 context_length_exceeded and calls no model', async () => {
    const long = 'word '.repeat(8000); // 40 000 bytes: at least 6 667 tokens, over A's 4 096
    const r = await postRaw(server.url, JSON.stringify({ model: 'moa', messages: [{ role: 'user', content: long }] }));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' });
    expect(r.json.error.message).toMatch(/cannot fit the context window of A/);
    expect(upstream.count()).toBe(0);
  });

  it('a long prompt that fits is served', async () => {
    const r = await postRaw(server.url, JSON.stringify({ model: 'moa', messages: [{ role: 'user', content: 'word '.repeat(3000) }] }));
    expect(r.status).toBe(200);
    expect(upstream.count()).toBe(3);
  });
});
