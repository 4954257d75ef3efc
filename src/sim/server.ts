import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isProviderError } from '../providers/errors.js';
import { completionJson, parseChatBody, wireLogprobs, wireUsage } from './_chat-wire.js';
import { HttpError, readBody, sendError, sendJson } from './_http.js';
import { hashString } from './_hash.js';
import { profileNames, PROFILES, type SimProfile } from './_profiles.js';
import { injectedFailure, simComplete, streamPieces } from './provider.js';
import { simBatchAnswer } from './batch-client.js';
import { handleBatchApi } from './batch-http.js';
import { SimBatchService } from './batch-service.js';

// `moa-search sim serve`: the simulated world behind an OpenAI-compatible HTTP API, so pointing a search
// space at it exercises the same client code (SDK, retries, streaming, usage) as a real provider.

export interface SimServerOptions {
  port?: number;
  host?: string;
  worldSeed?: number;
  latencyMs?: number;
  /** Fraction of requests answered 429 (Retry-After: 0) or 500, decided by a request counter and the seed. */
  failRate?: number;
  profiles?: ReadonlyMap<string, SimProfile>;
  /** How long a batch job stays in progress, ms (default 0). */
  batchDelayMs?: number;
}

export interface SimServer {
  /** Base URL ending in /v1. */
  url: string;
  port: number;
  /** Requests received on /v1/chat/completions (failed ones included). */
  requests(): number;
  /** The Batch API behind `/v1/files` and `/v1/batches` (its counters say how many jobs were created). */
  batch: SimBatchService;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

export async function startSimServer(opts: SimServerOptions = {}): Promise<SimServer> {
  const worldSeed = opts.worldSeed ?? 0;
  const latencyMs = opts.latencyMs ?? 0;
  const failRate = opts.failRate ?? 0;
  let count = 0;
  const batch = new SimBatchService({ answer: simBatchAnswer({ worldSeed, profiles: opts.profiles }), delayMs: opts.batchDelayMs });

  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
      if (req.method === 'GET' && path === '/v1/models') {
        const names = opts.profiles ? [...opts.profiles.keys()] : profileNames();
        return sendJson(res, 200, { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'moa-search-sim' })) });
      }
      if (await handleBatchApi(batch, req, res, path)) return;
      if (path !== '/v1/chat/completions') throw new HttpError(404, `no route for ${req.method} ${path || '/'}`);
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      const n = count++;
      const { req: preq, stream, includeUsage } = parseChatBody(parseJson((await readBody(req)).toString('utf8')));
      if (latencyMs > 0) await sleep(latencyMs);
      const fail = injectedFailure(failRate, worldSeed, n);
      if (fail === 429) return sendError(res, 429, 'simulated rate limit', 'rate_limit_exceeded', { 'retry-after': '0' });
      if (fail === 500) return sendError(res, 500, 'simulated server error');
      const c = simComplete(preq, { worldSeed, profiles: opts.profiles ?? PROFILES, provider: 'sim-server' });
      const id = `chatcmpl-sim-${hashString(`${n}:${preq.model}`).toString(16)}`;
      if (!stream) return sendJson(res, 200, completionJson(id, preq, c));
      const created = Math.floor(Date.now() / 1000);
      const usage = wireUsage(c);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: preq.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }] })}\n\n`);
      chunk({ role: 'assistant', content: '' }, null);
      const pieces = streamPieces(c.text);
      pieces.forEach((p, i) => chunk({ content: p }, null, i === 0 && preq.logprobs ? { logprobs: wireLogprobs(c.logprobs) } : {}));
      chunk({}, c.finishReason);
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: preq.model, choices: [], usage })}\n\n`);
      res.write('data: [DONE]\n\n');
      res.end();
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) return sendError(res, e.status, e.message, e.code);
      if (isProviderError(e) && e.status === 404) return sendError(res, 404, e.message, 'model_not_found');
      sendError(res, 500, `sim server failure: ${(e as Error).message}`);
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    port: addr.port,
    requests: () => count,
    batch,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
