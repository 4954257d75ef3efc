import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APIError } from 'openai';
import { postRaw, startServed, until } from './_setup.js';

/**
 * A chat-completions upstream that answers some models at once and leaves others hanging
 * (streaming one chunk first when asked to stream), recording which requests the caller aborted.
 */
async function startHangingUpstream(hang: Set<string>) {
  const aborted: string[] = [];
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      received.push(body.model);
      const text = `${body.model} says hello`;
      if (!hang.has(body.model)) {
        const completion = {
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
        };
        if (!body.stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(completion));
          return;
        }
      }
      res.on('close', () => {
        if (!res.writableFinished) aborted.push(body.model);
      });
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: object, finish: string | null = null) =>
          res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
        chunk({ role: 'assistant', content: '' });
        chunk({ content: 'partial ' });
        if (!hang.has(body.model)) {
          chunk({ content: 'answer' });
          chunk({}, 'stop');
          res.end('data: [DONE]\n\n');
        }
      }
      // Otherwise: never answer. Only the caller giving up ends this request.
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    aborted,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('serve: a client that disconnects', () => {
  const hang = new Set<string>();
  let up: Awaited<ReturnType<typeof startHangingUpstream>>;
  beforeAll(async () => {
    up = await startHangingUpstream(hang);
  });
  afterAll(async () => {
    await up.close();
  });

  it('mid-stream: the pending aggregator call upstream is cancelled', async () => {
    hang.clear();
    hang.add('G');
    const s = await startServed({ upstreamUrl: up.url });
    try {
      const ac = new AbortController();
      const stream = await s.client.chat.completions.create(
        { model: 'moa', messages: [{ role: 'user', content: 'disconnect mid-stream' }], stream: true },
        { signal: ac.signal },
      );
      let got = '';
      // The SDK ends the iteration (or throws, by version) once its signal aborts: either way the socket closes.
      try {
        for await (const chunk of stream) {
          got += chunk.choices[0]?.delta?.content ?? '';
          if (got) ac.abort();
        }
      } catch {
        // aborted
      }
      expect(got).toBe('partial ');
      await until(() => up.aborted.includes('G'), 'the upstream aggregator request to be aborted');
      await until(() => s.server.stats().recent.length === 1, 'the request to be recorded');
      expect(s.server.stats().recent[0]).toMatchObject({ model: 'moa', status: 499 });
      expect(s.server.stats().inFlight).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('during the proposer layer: the pending proposer calls are cancelled and the aggregator never runs', async () => {
    hang.clear();
    hang.add('A');
    up.received.length = 0;
    up.aborted.length = 0;
    const s = await startServed({ upstreamUrl: up.url });
    try {
      const ac = new AbortController();
      const pending = s.client.chat.completions.create({ model: 'moa', messages: [{ role: 'user', content: 'disconnect early' }] }, { signal: ac.signal });
      await until(() => up.received.filter((m) => m === 'A').length === 2, 'both A samples to reach the upstream');
      ac.abort();
      await expect(pending).rejects.toThrow();
      await until(() => up.aborted.filter((m) => m === 'A').length === 2, 'both A calls to be aborted');
      await until(() => s.server.stats().recent.length === 1, 'the request to be recorded');
      expect(up.received).not.toContain('G');
    } finally {
      await s.close();
    }
  });
});

describe('serve: concurrency limit and shutdown', () => {
  /** An upstream whose answers wait until released, counting how many are held at once. */
  function heldHandler() {
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const state = {
      held: 0,
      maxHeld: 0,
      release: () => {
        release();
        gate = new Promise<void>((r) => (release = r));
      },
      handler: async () => {
        state.held++;
        state.maxHeld = Math.max(state.maxHeld, state.held);
        await gate;
        state.held--;
        return {};
      },
    };
    return state;
  }

  it('runs at most --max-concurrency mixtures, queues the next, and answers 429 when the queue is full', async () => {
    const h = heldHandler();
    const s = await startServed({ handler: h.handler, mixtures: { solo: '{"layers": 1, "aggregator": "A"}' }, server: { maxConcurrency: 2, maxQueue: 1 } });
    try {
      const ask = (i: number) => s.client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: `concurrent ${i}` }] });
      const first = [ask(1), ask(2)];
      await until(() => h.held === 2, 'two requests upstream');
      const third = ask(3);
      await until(() => s.server.stats().queued === 1, 'the third request to queue');
      expect(s.server.stats().inFlight).toBe(2);
      const e = await ask(4).catch((e) => e);
      expect(e).toBeInstanceOf(APIError);
      expect(e.status).toBe(429);
      expect(e.error.code).toBe('server_overloaded');
      expect(h.held).toBe(2);
      h.release();
      await until(() => h.held === 1, 'the queued request to go upstream');
      h.release();
      const answers = await Promise.all([...first, third]);
      expect(answers.map((a) => a.choices[0]!.message.content)).toEqual([1, 2, 3].map((i) => expect.stringContaining(`concurrent ${i}`)));
      expect(h.maxHeld).toBe(2);
      expect(s.server.stats().rejected.overloaded).toBe(1);
    } finally {
      h.release();
      await s.close();
    }
  });

  it('a queued client that disconnects leaves the queue and never reaches the upstream', async () => {
    const h = heldHandler();
    const s = await startServed({ handler: h.handler, mixtures: { solo: '{"layers": 1, "aggregator": "A"}' }, server: { maxConcurrency: 1, maxQueue: 2 } });
    try {
      const first = s.client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'running' }] });
      await until(() => h.held === 1, 'the first request upstream');
      const ac = new AbortController();
      const queued = s.client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'queued' }] }, { signal: ac.signal });
      await until(() => s.server.stats().queued === 1, 'the second request to queue');
      ac.abort();
      await expect(queued).rejects.toThrow();
      await until(() => s.server.stats().queued === 0, 'the queue to empty');
      h.release();
      await first;
      await until(() => s.server.stats().recent.length === 2, 'both requests to be recorded');
      expect(s.server.stats().recent.map((r) => r.status).sort()).toEqual([200, 499]);
      expect(s.upstream.count()).toBe(1);
    } finally {
      h.release();
      await s.close();
    }
  });

  it('close() lets an in-flight request finish and refuses new connections', async () => {
    const h = heldHandler();
    const s = await startServed({ handler: h.handler, mixtures: { solo: '{"layers": 1, "aggregator": "A"}' } });
    try {
      const inflight = s.client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'finish me' }] });
      await until(() => h.held === 1, 'the request upstream');
      const closed = s.server.close();
      await expect(fetch(`${s.server.url}/models`)).rejects.toThrow();
      h.release();
      const r = await inflight;
      expect(r.choices[0]!.message.content).toContain('finish me');
      await closed;
    } finally {
      h.release();
      await s.close();
    }
  });

  it('close() with no grace left cancels in-flight requests with a 503', async () => {
    const h = heldHandler();
    const s = await startServed({ handler: h.handler, mixtures: { solo: '{"layers": 1, "aggregator": "A"}' }, server: { graceMs: 0 } });
    try {
      const inflight = postRaw(s.server.url, JSON.stringify({ model: 'solo', messages: [{ role: 'user', content: 'cancel me' }] }));
      await until(() => h.held === 1, 'the request upstream');
      await s.server.close();
      const r = await inflight;
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('shutting_down');
    } finally {
      h.release();
      await s.close();
    }
  });
});
