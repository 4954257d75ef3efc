import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadMixture, parseSpace, type SearchSpace } from '../../src/config/index.js';
import { openExecutor, type CachingExecutor } from '../../src/executor/index.js';
import { startMixtureServer, type MixtureServer, type MixtureServerOptions } from '../../src/server/index.js';
import { startOpenAIServer, type FakeHandler, type FakeServer } from '../helpers/openai-server.js';

export function spaceYaml(url: string): string {
  const model = (id: string) => `  - { id: ${id}, provider: local, price: { input: 1, output: 2 }, maxCopies: 3 }\n`;
  return (
    `providers:\n  local: { baseURL: "${url}", keyless: true, maxRetries: 0, maxConcurrency: 64 }\n` +
    `models:\n${['A', 'B', 'G'].map(model).join('')}generation: { temperature: 0.7, maxTokens: 256 }\n`
  );
}

export const tempDir = () => mkdtempSync(join(tmpdir(), 'moa-serve-'));

/** Fixed usage per model, so a response's summed usage is known exactly. */
export const USAGE: Record<string, { prompt_tokens: number; completion_tokens: number }> = {
  A: { prompt_tokens: 11, completion_tokens: 7 },
  B: { prompt_tokens: 13, completion_tokens: 5 },
  G: { prompt_tokens: 17, completion_tokens: 3 },
};

export interface Served {
  upstream: FakeServer;
  space: SearchSpace;
  executor: CachingExecutor;
  server: MixtureServer;
  client: OpenAI;
  close(): Promise<void>;
}

/** A loopback upstream, the real executor on a temp database, and the mixture server in front. */
export async function startServed(
  opts: { handler?: FakeHandler; upstreamUrl?: string; server?: Partial<MixtureServerOptions>; mixtures?: Record<string, string>; apiKey?: string } = {},
): Promise<Served> {
  const upstream = await startOpenAIServer({ handler: opts.handler });
  const dir = tempDir();
  const spaceFile = join(dir, 'space.yaml');
  const yaml = spaceYaml(opts.upstreamUrl ?? upstream.url);
  writeFileSync(spaceFile, yaml);
  const space = parseSpace(yaml, spaceFile);
  const executor = await openExecutor({ space, dbPath: join(dir, 'serve.sqlite') });
  const mixtures = Object.entries(opts.mixtures ?? { moa: '{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}' }).map(([name, m]) => ({
    name,
    mixture: loadMixture(m, space),
  }));
  const server = await startMixtureServer({ space, mixtures, executor, port: 0, apiKey: opts.apiKey, ...opts.server });
  const client = new OpenAI({ baseURL: server.url, apiKey: opts.apiKey ?? 'unused', maxRetries: 0 });
  return {
    upstream,
    space,
    executor,
    server,
    client,
    async close() {
      await server.close();
      await executor.close();
      await upstream.close();
    },
  };
}

/** POST a raw body (for malformed requests the SDK would refuse to send). */
export async function postRaw(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Resolves once `check` holds, checking on each turn of the event loop (no timed assertions). */
export async function until(check: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 5_000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`gave up waiting for ${what}`);
}
