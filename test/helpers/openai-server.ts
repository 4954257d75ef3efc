import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { handleBatchApi, SimBatchService, type BatchAnswer, type FinishedJob } from '../../src/sim/index.js';

/** One request the server received (chat completions only; `GET /v1/models` is not recorded). */
export interface FakeCall {
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeLogprob {
  token: string;
  logprob: number;
  top_logprobs?: Array<{ token: string; logprob: number }>;
}

/** What a handler answers. Everything is optional: missing fields fall back to the default answer. */
export interface FakeReply {
  /** HTTP status; >= 400 sends `body` (or a default OpenAI-style error body) instead of a completion. */
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body to send as is (error bodies, malformed completions, ...). */
  body?: any;
  /** Raw bytes to send as the body, labelled JSON (broken answers); wins over `body`. */
  raw?: string;
  text?: string;
  finishReason?: string;
  /** `null` omits usage from the response (as some endpoints do). */
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  delayMs?: number;
  /** Per-token logprobs, sent when the request asked for `logprobs: true`. */
  logprobs?: FakeLogprob[];
}

export type FakeHandler = (body: any, call: FakeCall, n: number) => FakeReply | Promise<FakeReply>;

export interface FakeBatchOptions {
  /** How long each job stays in progress, ms (default 0). */
  delayMs?: number;
  /** Change a job as it finishes: expire it, drop or corrupt output lines. */
  finish?: (job: FinishedJob) => FinishedJob | void;
}

export interface FakeServer {
  /** Base URL ending in `/v1`, ready for `baseURL`. */
  url: string;
  calls: FakeCall[];
  /** The Batch API (`/v1/files`, `/v1/batches`): its `counts` say how many uploads, jobs, polls were made; `hold` keeps jobs pending. */
  batch: SimBatchService;
  /** Request lines the batch jobs answered (through the same handler as online calls, not counted in `calls`). */
  batchLines: FakeCall[];
  /** Chat-completion calls received, optionally only those for one model. */
  count(model?: string): number;
  reset(): void;
  close(): Promise<void>;
}

/** Rough token count for the default usage: about 4 characters per token, at least 1. */
function roughTokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

function contentOf(m: any): string {
  if (typeof m?.content === 'string') return m.content;
  if (Array.isArray(m?.content)) return m.content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

/**
 * The default answer: a pure function of (model, messages, seed, temperature), so equal
 * requests get equal answers and different samples (seeds) get different ones.
 */
export function defaultAnswer(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const hash = createHash('sha256')
    .update(JSON.stringify([body?.model ?? null, msgs, body?.seed ?? null, body?.temperature ?? null]))
    .digest('hex')
    .slice(0, 8);
  const lastUser = [...msgs].reverse().find((m) => m?.role === 'user');
  return `[${body?.model}] answer #${hash}: ${contentOf(lastUser)}`;
}

function promptText(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return msgs.map(contentOf).join('\n');
}

/** Split text into small pieces (words with their following spaces) for SSE chunks. */
function pieces(text: string): string[] {
  const out = text.match(/\S+\s*|\s+/g) ?? [];
  return out.length ? out : [''];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function logprobsContent(reply: FakeReply, body: any): { content: FakeLogprob[] } | null {
  if (!body?.logprobs || !reply.logprobs) return null;
  const k = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
  return {
    content: reply.logprobs.map((lp) => ({
      token: lp.token,
      logprob: lp.logprob,
      bytes: null,
      top_logprobs: (lp.top_logprobs ?? []).slice(0, k).map((t) => ({ ...t, bytes: null })),
    })) as any,
  };
}

function usageOf(body: any, reply: FakeReply, text: string) {
  const usage = reply.usage === null ? null : (reply.usage ?? { prompt_tokens: roughTokens(promptText(body)), completion_tokens: roughTokens(text) });
  return usage && { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
}

/** A non-streamed chat completion for a request and the handler's reply. */
function completion(body: any, reply: FakeReply, id: string): Record<string, unknown> {
  const text = reply.text ?? defaultAnswer(body);
  const c: Record<string, unknown> = {
    id,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: reply.finishReason ?? 'stop', logprobs: logprobsContent(reply, body) }],
  };
  const usage = usageOf(body, reply, text);
  if (usage) c.usage = usage;
  return c;
}

/**
 * A real loopback HTTP server speaking the OpenAI chat-completions protocol, for tests.
 * It counts calls, answers deterministically by default, and lets a handler script
 * errors, delays, missing usage, logprobs and Retry-After headers.
 */
export async function startOpenAIServer(
  opts: { handler?: FakeHandler; latencyMs?: number; batch?: FakeBatchOptions } = {},
): Promise<FakeServer> {
  const calls: FakeCall[] = [];
  const batchLines: FakeCall[] = [];
  let seq = 0;
  // Batch lines get the handler's answer for the same body, as a completion or an error body.
  const answerLine = async (body: any): Promise<BatchAnswer> => {
    const call: FakeCall = { body, headers: {} };
    batchLines.push(call);
    const reply: FakeReply = opts.handler ? await opts.handler(body, call, seq++) : {};
    const status = reply.status ?? 200;
    if (status >= 400 || reply.raw !== undefined) return { status: status >= 400 ? status : 500, body: reply.body ?? { error: { message: `fake error ${status}`, type: 'fake_error', code: null } } };
    return { status, body: reply.body ?? completion(body, reply, `chatcmpl-fake-b${batchLines.length}`) };
  };
  const batch = new SimBatchService({ answer: answerLine, delayMs: opts.batch?.delayMs, finish: opts.batch?.finish });

  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '').split('?')[0]!;
      if (await handleBatchApi(batch, req, res, path.replace(/\/+$/, ''))) return;
      if (req.method === 'GET' && /\/v1\/models\/?$/.test(path)) {
        sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'test' }] });
        return;
      }
      if (req.method !== 'POST' || !/\/v1\/chat\/completions\/?$/.test(path)) {
        sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', code: null } });
        return;
      }
      const raw = await readBody(req);
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error', code: null } });
        return;
      }
      const call: FakeCall = { body, headers: { ...req.headers } };
      calls.push(call);
      const n = seq++;
      const reply: FakeReply = opts.handler ? await opts.handler(body, call, n) : {};
      const delay = (reply.delayMs ?? 0) + (opts.latencyMs ?? 0);
      if (delay > 0) await sleep(delay);
      if (res.destroyed) return;

      const status = reply.status ?? 200;
      if (reply.raw !== undefined) {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply.raw), ...reply.headers });
        res.end(reply.raw);
        return;
      }
      if (status >= 400) {
        sendJson(res, status, reply.body ?? { error: { message: `fake error ${status}`, type: 'fake_error', code: null } }, reply.headers);
        return;
      }
      if (reply.body !== undefined) {
        sendJson(res, status, reply.body, reply.headers);
        return;
      }

      const text = reply.text ?? defaultAnswer(body);
      const finish = reply.finishReason ?? 'stop';
      const usageObj = usageOf(body, reply, text);
      const id = `chatcmpl-fake-${n}`;
      const created = 1_700_000_000;
      const model = body.model;
      const lp = logprobsContent(reply, body);

      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...reply.headers });
        const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
          res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`);
        chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
        const parts = pieces(text);
        // Logprobs go one entry per chunk while they last, the rest with the final text chunk.
        const lpEntries = lp?.content ?? [];
        parts.forEach((p, i) => {
          const last = i === parts.length - 1;
          const mine = last ? lpEntries.slice(i) : lpEntries.slice(i, i + 1);
          chunk([{ index: 0, delta: { content: p }, finish_reason: null, logprobs: lp ? { content: mine } : null }]);
        });
        chunk([{ index: 0, delta: {}, finish_reason: finish }]);
        if (usageObj && body.stream_options?.include_usage) chunk([], { usage: usageObj });
        res.write('data: [DONE]\n\n');
        res.end();
        return;
      }

      sendJson(res, 200, completion(body, reply, id), reply.headers);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (!res.headersSent && status) sendJson(res, status, { error: { message: (e as Error).message, type: 'invalid_request_error', code: null } });
      else if (!res.headersSent) sendJson(res, 500, { error: { message: `fake server failure: ${(e as Error).message}`, type: 'server_error', code: null } });
      else res.destroy();
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    batch,
    batchLines,
    count(model?: string) {
      return model === undefined ? calls.length : calls.filter((c) => c.body?.model === model).length;
    },
    reset() {
      calls.length = 0;
      seq = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
