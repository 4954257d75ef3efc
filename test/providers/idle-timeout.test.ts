// A provider that stalls after its response headers (mid-body, mid-stream) is cut off by the idle timeout and
// retried like any transient failure, instead of hanging the search. Real loopback HTTP, no mocks.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderSpec } from '../../src/config/index.js';
import { createOpenAIProvider, ProviderError } from '../../src/providers/index.js';

/** What the server does on the n-th chat-completion call (0-based); the response is left open when it returns. */
type Script = (res: ServerResponse, stream: boolean, n: number) => void;

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function stallingServer(script: Script): Promise<{ url: string; calls: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => script(res, !!JSON.parse(raw).stream, n++));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls: () => n };
}

const COMPLETION = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  created: 0,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'four' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

function sendWhole(res: ServerResponse, stream: boolean): void {
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
    res.end(COMPLETION);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'four' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
}

const IDLE = 300;
const spec = (url: string): ProviderSpec => ({ kind: 'openai', baseURL: url, keyless: true, maxConcurrency: 4, timeoutMs: 10_000, idleTimeoutMs: IDLE, maxRetries: 2, sendSeed: true });
const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'What is 2+2?' }] };
const provider = (url: string) => createOpenAIProvider('stally', spec(url), { retryBaseMs: 1, retryCapMs: 5 });

describe('idle timeout on response bodies and streams', () => {
  it('a plain answer whose body stalls halfway is cut off and retried', async () => {
    const s = await stallingServer((res, stream, n) => {
      if (n > 0) return sendWhole(res, stream);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
      res.write(COMPLETION.slice(0, 40)); // headers and half the body, then silence
    });
    const r = await provider(s.url).complete(ask);
    expect(r.text).toBe('four');
    expect(s.calls()).toBe(2);
  });

  it('a stream that stalls before any text is retried, and the text reaches the caller once', async () => {
    const s = await stallingServer((res, stream, n) => {
      if (n > 0) return sendWhole(res, stream);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: '' }));
    });
    const seen: string[] = [];
    const r = await provider(s.url).complete(ask, { onToken: (d) => seen.push(d) });
    expect(r.text).toBe('four');
    expect(seen.join('')).toBe('four');
    expect(s.calls()).toBe(2);
  });

  it('a stream that stalls after text reached the caller fails at once as a broken stream, naming the stall', async () => {
    const s = await stallingServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: 'fo' }));
    });
    const e = await provider(s.url)
      .complete(ask, { onToken: () => {} })
      .then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).reason).toBe('stream-broken');
    expect((e as ProviderError).message).toMatch(/stalled: no data for 300 ms/);
    expect(s.calls()).toBe(1); // retrying would stream the answer twice
  });

  it('every attempt stalling ends in a timeout error after the retries, not a hang', async () => {
    const s = await stallingServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
      res.write(COMPLETION.slice(0, 10));
    });
    const e = await provider(s.url)
      .complete(ask)
      .then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).reason).toBe('timeout');
    expect((e as ProviderError).attempts).toBe(3);
    expect(s.calls()).toBe(3);
  });

  it('keep-alive comments count as data: a slow stream that keeps talking is not cut off', async () => {
    const s = await stallingServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let pings = 0;
      const t = setInterval(() => {
        if (++pings <= 5) return void res.write(': keep-alive\n\n'); // 5 × 120 ms of silence-but-alive > IDLE
        clearInterval(t);
        res.end(chunk({ role: 'assistant', content: 'four' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
      }, IDLE * 0.4);
    });
    const r = await provider(s.url).complete(ask, { onToken: () => {} });
    expect(r.text).toBe('four');
    expect(s.calls()).toBe(1);
  });
});
