import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { InputError, parseSpace, uniformMixture } from '../../src/config/index.js';
import {
  BatchJobStore,
  BudgetExceeded,
  canonicalJson,
  checkBatchProviders,
  keyedRequest,
  openExecutor,
  withBatching,
  type BatchEvent,
  type GenerationRequest,
} from '../../src/executor/index.js';
import { runMixture } from '../../src/moa/index.js';
import { batchInputLine, createOpenAIBatchClient, ProviderError } from '../../src/providers/index.js';
import { defaultAnswer, startOpenAIServer, type FakeBatchOptions, type FakeHandler, type FakeServer } from '../helpers/openai-server.js';
import { KEY, KEY_ENV, tempDir, user } from './_space.js';
import { backends } from '../helpers/backends.js';

const env = { [KEY_ENV]: KEY };
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** `remote` has a Batch API (half price); `local` (model C) does not. Prices: A $1/$2 per 1M tokens, B $10/$30. */
function batchSpace(url: string, maxRequests = 50_000) {
  return parseSpace(
    `
providers:
  remote: { baseURL: "${url}", apiKeyEnv: ${KEY_ENV}, maxRetries: 1, batch: { discount: 0.5, pollSeconds: 0.02, maxRequests: ${maxRequests} } }
  local: { baseURL: "${url}", keyless: true, maxRetries: 0 }
models:
  - { id: A, provider: remote, upstream: up/model-a, price: { input: 1, output: 2 }, maxCopies: 4 }
  - { id: B, provider: remote, price: { input: 10, output: 30 } }
  - { id: C, provider: local, price: { input: 1, output: 1 } }
generation: { temperature: 0.7, maxTokens: 64 }
`,
    'batch-space.yaml',
  );
}

const USAGE = { prompt_tokens: 1000, completion_tokens: 500 };
const PRICE_A = (1000 * 1 + 500 * 2) / 1e6;

async function setup(
  o: { handler?: FakeHandler; batch?: FakeBatchOptions; maxRequests?: number; budgetUsd?: number; ledgerScope?: string; dbPath?: string; server?: FakeServer } = {},
) {
  const server = o.server ?? (await startOpenAIServer({ handler: o.handler ?? (() => ({ usage: USAGE })), batch: o.batch }));
  if (!o.server) open.push(server);
  const space = batchSpace(server.url, o.maxRequests);
  const events: BatchEvent[] = [];
  const dbPath = o.dbPath ?? join(tempDir('moa-batch-'), 'db.sqlite');
  const inner = await openExecutor({ space, dbPath, env, budgetUsd: o.budgetUsd, ledgerScope: o.ledgerScope });
  const bx = await withBatching(inner, { onEvent: (e) => events.push(e) });
  open.push(bx);
  return { server, bx, events, space, dbPath };
}

const req = (content: string, model = 'A'): GenerationRequest => ({ model, messages: user(content) });
const promptOf = (body: any) => body.messages.at(-1).content as string;
/** Wait (polling, not sleeping blindly) until a condition holds. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('batch stage of the executor', () => {
  it('answers uncached requests from one batch job at the discounted price; online runs on the same database then make 0 calls', async () => {
    const { server, bx, dbPath, space } = await setup();
    const reqs = ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => req(p));
    const results = await Promise.all([...reqs, reqs[0]!].map((r) => bx.generate(r)));
    expect(server.count()).toBe(0);
    expect(server.batch.counts).toMatchObject({ uploads: 1, created: 1 });
    const [job] = server.batch.jobIds();
    // Coalesced: the duplicate request is one line; the line body is what an online call sends.
    expect(server.batch.jobInput(job!).map((l) => promptOf(l.body))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(server.batch.jobInput(job!)[0]!.body).toMatchObject({ model: 'up/model-a', temperature: 0.7, max_tokens: 64, seed: 0 });
    results.slice(0, 5).forEach((r, i) => {
      expect(r).toMatchObject({ model: 'A', cached: false, promptTokens: 1000, completionTokens: 500 });
      expect(r.costUsd).toBeCloseTo(0.5 * PRICE_A, 12);
      expect(r.text).toBe(defaultAnswer(server.batch.jobInput(job!)[i]!.body));
    });
    expect(results[5]).toEqual({ ...results[0], cached: true });
    const s = bx.spend();
    expect(s.calls).toEqual({ made: 5, cached: 1, failed: 0 });
    expect(s.total).toBeCloseTo(5 * 0.5 * PRICE_A, 12);
    expect(s.reserved).toBe(0);
    await bx.close();

    const online = await openExecutor({ space, dbPath, env });
    open.push(online);
    const again = await Promise.all(reqs.map((r) => online.generate(r)));
    expect(server.count()).toBe(0);
    expect(again.map((r) => r.text)).toEqual(results.slice(0, 5).map((r) => r.text));
    expect(online.spend().calls).toEqual({ made: 0, cached: 5, failed: 0 });
  });

  it('runs a mixture layer by layer: all prompts\' proposers (one job per model), then all aggregations', async () => {
    const { server, bx, events } = await setup();
    const mixture = uniformMixture({ A: 2, B: 1 }, 'A');
    const generation = { temperature: 0.7, maxTokens: 64 };
    const runs = await Promise.all(['q1', 'q2', 'q3', 'q4'].map((q) => runMixture(mixture, user(q), { executor: bx, generation })));
    expect(runs.every((r) => r.calls.length === 4 && r.text.length > 0)).toBe(true);
    expect(server.count()).toBe(0);
    const stages = events.filter((e) => e.type === 'stage');
    expect(stages).toEqual([
      { type: 'stage', stage: 1, requests: 12, jobs: 2, purposes: { 'layer 1 proposer': 12 } },
      { type: 'stage', stage: 2, requests: 4, jobs: 1, purposes: { 'layer 2 aggregator': 4 } },
    ]);
    // One model per job, as OpenAI requires.
    const models = server.batch.jobIds().map((id) => [...new Set(server.batch.jobInput(id).map((l) => l.body.model))].join());
    expect(models.slice(0, 2).sort()).toEqual(['B', 'up/model-a']);
    expect(models[2]).toBe('up/model-a');
  });

  it('splits a stage into jobs of at most maxRequests; requests to a provider without batch go online', async () => {
    const { server, bx } = await setup({ maxRequests: 2 });
    await Promise.all([...['a', 'b', 'c', 'd', 'e'].map((p) => bx.generate(req(p))), bx.generate(req('online', 'C'))]);
    expect(server.batch.jobIds().map((id) => server.batch.jobInput(id).length)).toEqual([2, 2, 1]);
    expect(server.count()).toBe(1);
    expect(server.calls[0]!.body.model).toBe('C');
  });

  it('retries a malformed output line online and reports it; it is never cached', async () => {
    const handler: FakeHandler = (body, call) => {
      // Online (not batch) calls for "bad-content" fail: then nothing of that request may reach the cache.
      if (call.headers['user-agent'] && promptOf(body) === 'bad-content') return { status: 400 };
      return { usage: USAGE };
    };
    let srv: FakeServer | undefined;
    const finish: FakeBatchOptions['finish'] = (job) => ({
      ...job,
      output: job.output.map((line) => {
        const o = JSON.parse(line);
        const p = promptOf(srv!.batch.jobInput(job.id).find((l) => l.customId === o.custom_id)!.body);
        if (p === 'bad-json') return line.slice(0, -20); // cut short: not JSON
        if (p === 'bad-content') o.response.body.choices[0].message.content = 42;
        return JSON.stringify(o);
      }),
    });
    const { server, bx, events } = await setup({ handler, batch: { finish } });
    srv = server;
    const [good, badJson, badContent] = await Promise.allSettled(['good', 'bad-json', 'bad-content'].map((p) => bx.generate(req(p))));
    expect(good).toMatchObject({ status: 'fulfilled', value: { cached: false } });
    expect((good as PromiseFulfilledResult<any>).value.costUsd).toBeCloseTo(0.5 * PRICE_A, 12);
    // Retried online: the answer and the full price of an online call.
    expect(badJson).toMatchObject({ status: 'fulfilled', value: { cached: false } });
    const retried = (badJson as PromiseFulfilledResult<any>).value;
    expect(retried.costUsd).toBeCloseTo(PRICE_A, 12);
    expect(server.calls.map((c) => promptOf(c.body)).sort()).toEqual(['bad-content', 'bad-json']);
    expect(retried.text).toBe(defaultAnswer(server.calls.find((c) => promptOf(c.body) === 'bad-json')!.body));
    expect(badContent).toMatchObject({ status: 'rejected' });
    expect((badContent as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError);
    // Reported, with the request's key.
    const malformed = events.filter((e) => e.type === 'malformed');
    expect(malformed.map((e) => (e as any).reason).sort()).toEqual(['not valid JSON', 'the message content is not text']);
    expect(malformed.map((e) => (e as any).key).sort()).toEqual([bx.inner.keyOf(req('bad-content')), bx.inner.keyOf(req('bad-json'))].sort());
    expect(bx.batchStats()).toMatchObject({ malformedLines: 2, fallback: 2, fallbackReasons: { malformed: 2 }, results: 1 });
    // Never cached: the failed retry left no entry, the good retry's entry is the online answer.
    expect(await bx.inner.cache.get(bx.inner.keyOf(req('bad-content')))).toBeUndefined();
    expect(await bx.inner.cache.get(bx.inner.keyOf(req('bad-json')))).toMatchObject({ text: retried.text, costUsd: retried.costUsd });
  });

  it('an expired, partly failed job: the missing requests fall back online, said and counted', async () => {
    const finish: FakeBatchOptions['finish'] = (job) => {
      const [first, second] = job.output;
      const failed = JSON.parse(second!);
      failed.response = { status_code: 500, request_id: 'r', body: { error: { message: 'overloaded', type: 'server_error' } } };
      return { ...job, status: 'expired', output: [first!], errors: [JSON.stringify(failed)] };
    };
    const { server, bx, events } = await setup({ batch: { finish } });
    const results = await Promise.all(['r1', 'r2', 'r3'].map((p) => bx.generate(req(p))));
    expect(results.every((r) => !r.cached && r.text.length > 0)).toBe(true);
    expect(server.count()).toBe(2);
    expect(bx.batchStats()).toMatchObject({ results: 1, fallback: 2, fallbackReasons: { expired: 1, 'failed in batch': 1 } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'fallback', requests: 2, reasons: { expired: 1, 'failed in batch': 1 } }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'done', status: 'expired', results: 1, fallback: 2 }));
    expect(bx.spend().total).toBeCloseTo(0.5 * PRICE_A + 2 * PRICE_A, 12);
  });

  it('holds the budget for the whole job before submitting it: requests that do not fit fail alone, before any upload', async () => {
    const probe = await setup();
    const worst = probe.bx.inner.worstCaseUsd(req('w1')) * 0.5;
    // Default usage (the fake server's token estimate) stays within the worst case, as a real endpoint's does.
    const { server, bx } = await setup({ budgetUsd: worst * 2.5, handler: () => ({}) });
    const out = await Promise.allSettled(['w1', 'w2', 'w3', 'w4'].map((p) => bx.generate(req(p))));
    expect(out.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    expect(out.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof BudgetExceeded)).toBe(true);
    expect(server.batch.jobInput(server.batch.jobIds()[0]!).map((l) => promptOf(l.body))).toEqual(['w1', 'w2']);
    expect(bx.spend().total).toBeLessThanOrEqual(worst * 2.5);
    expect(bx.spend().reserved).toBe(0);
  });

  it('a new process re-attaches to a pending job (same job id) instead of submitting it again', async () => {
    const first = await setup();
    first.server.batch.hold = true;
    const pending = first.bx.generate(req('long')).catch((e: Error) => e);
    await until(() => first.server.batch.counts.created === 1);
    await first.bx.close(); // as far as the job is concerned, the same as a kill: it stays in the database
    expect(String(await pending)).toMatch(/executor closed/);
    const [jobId] = first.server.batch.jobIds();

    const second = await setup({ server: first.server, dbPath: first.dbPath });
    const retrieves = first.server.batch.counts.retrieves;
    const result = second.bx.generate(req('long'));
    await until(() => first.server.batch.counts.retrieves > retrieves);
    first.server.batch.hold = false;
    expect((await result).cached).toBe(false);
    expect(first.server.batch.counts.created).toBe(1);
    expect(second.events).toContainEqual(expect.objectContaining({ type: 'attached', job: jobId }));
    expect(second.bx.batchStats()).toMatchObject({ jobsSubmitted: 0, jobsAttached: 1, results: 1 });
    expect((await second.bx.jobs.list())[0]).toMatchObject({ jobId, state: 'done', remoteStatus: 'completed' });
  });

  it('finds a job whose creation was not recorded (killed between create and the database write); abandons one never created', async () => {
    const { server, bx, space, dbPath } = await setup();
    await bx.close();
    // What a process killed right after `create` leaves: a `submitting` row with its file id, and a job at the provider.
    const inner = await openExecutor({ space, dbPath, env });
    open.push(inner);
    const store = await BatchJobStore.open(inner.storage);
    const row = async (content: string, create: boolean) => {
      const r = inner.resolve(req(content));
      const key = inner.keyOf(r);
      const id = await store.begin({ provider: 'remote', model: 'A', discount: 0.5, items: [{ key, account: 'mixture', request: canonicalJson(keyedRequest(r)) }] });
      const client = createOpenAIBatchClient('remote', space.providers.remote!, { env });
      const fileId = await client.upload(batchInputLine(key, inner.providerRequest(r)) + '\n');
      await store.fileUploaded(id, fileId);
      if (create) await client.create(fileId, {});
    };
    await row('created', true);
    await row('never-created', false);
    expect(server.batch.counts.created).toBe(1);

    const again = await setup({ server, dbPath });
    const out = await Promise.all([again.bx.generate(req('created')), again.bx.generate(req('never-created'))]);
    expect(out.every((r) => !r.cached)).toBe(true);
    // The lost-answer job was found and followed; the never-created one was submitted once, now.
    expect(server.batch.counts.created).toBe(2);
    expect(again.bx.batchStats()).toMatchObject({ jobsAttached: 1, jobsSubmitted: 1 });
    expect((await again.bx.jobs.list()).map((j) => j.state).sort()).toEqual(['abandoned', 'done', 'done']);
  });

  it('a job the provider no longer knows (404) falls back online for its requests', async () => {
    const { server, bx, space, dbPath } = await setup();
    await bx.close();
    const inner = await openExecutor({ space, dbPath, env });
    open.push(inner);
    const store = await BatchJobStore.open(inner.storage);
    const r = inner.resolve(req('gone'));
    const id = await store.begin({ provider: 'remote', model: 'A', discount: 0.5, items: [{ key: inner.keyOf(r), account: 'mixture', request: canonicalJson(keyedRequest(r)) }] });
    await store.submitted(id, 'batch_unknown', 'in_progress');
    const again = await setup({ server, dbPath });
    expect((await again.bx.generate(req('gone'))).costUsd).toBeCloseTo(PRICE_A, 12);
    expect(server.count()).toBe(1);
    expect(again.bx.batchStats().fallbackReasons).toEqual({ 'job lost': 1 });
    expect((await again.bx.jobs.get(id))?.state).toBe('abandoned');
  });

  it('a Batch API that refuses the upload for good: its requests and later ones go online, said and counted', async () => {
    const server = await startOpenAIServer({ handler: () => ({ usage: USAGE }) });
    open.push(server);
    // Chat completions answer under any prefix; the Batch API only at /v1: here uploads get 404.
    const space = batchSpace(server.url.replace(/\/v1$/, '/no-batch/v1'));
    const events: BatchEvent[] = [];
    const bx = await withBatching(await openExecutor({ space, env }), { onEvent: (e) => events.push(e) });
    open.push(bx);
    const first = await Promise.all([bx.generate(req('x1')), bx.generate(req('x2'))]);
    expect(first.map((r) => r.costUsd)).toEqual([PRICE_A, PRICE_A]);
    expect(events.filter((e) => e.type === 'submit-failed')).toEqual([expect.objectContaining({ model: 'A', requests: 2, message: expect.stringMatching(/upload: HTTP 404/) })]);
    expect(bx.batchStats()).toMatchObject({ jobsSubmitted: 0, fallback: 2, fallbackReasons: { 'not submitted': 2 } });
    expect((await bx.jobs.list()).map((j) => j.state)).toEqual(['abandoned']);
    await bx.generate(req('x3'));
    expect(server.count()).toBe(3);
    expect(events.filter((e) => e.type === 'submit-failed')).toHaveLength(1);
  });

  it('a caller that aborts before submission sends nothing; one that aborts while its job runs still gets it cached', async () => {
    const { server, bx } = await setup();
    const early = new AbortController();
    const gone = bx.generate(req('early'), { signal: early.signal });
    early.abort();
    await expect(gone).rejects.toThrow(/abort/i);
    await new Promise((r) => setTimeout(r, 30));
    expect(server.batch.counts.uploads).toBe(0);

    server.batch.hold = true;
    const late = new AbortController();
    const leaving = bx.generate(req('late'), { signal: late.signal });
    await until(() => server.batch.counts.created === 1);
    late.abort();
    await expect(leaving).rejects.toThrow(/abort/i);
    server.batch.hold = false;
    await until(() => bx.batchStats().results === 1);
    expect(await bx.generate(req('late'))).toMatchObject({ cached: true });
    expect(server.count()).toBe(0);
  });

  it('checkBatchProviders names the first provider without a Batch API', () => {
    const space = batchSpace('http://127.0.0.1:9/v1');
    expect(() => checkBatchProviders(space, ['A', 'B'])).not.toThrow();
    const e = (() => {
      try {
        checkBatchProviders(space, ['A', 'C']);
      } catch (err) {
        return err as InputError;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect(e!.message).toMatch(/--batch: provider "local" \(used by C\) has no Batch API/);
    expect(e!.location.field).toBe('providers.local.batch');
  });
});

describe.each(backends())('batch jobs on $name storage', (backend) => {
  it('a finished job: results, bookings and the done mark commit together; a failed store leaves nothing; of two finishers one books', async () => {
    const dbPath = backend.fresh('jobs');
    const space = batchSpace('http://127.0.0.1:9/v1');
    const [a, b] = [await openExecutor({ space, dbPath, env, budgetUsd: 1, ledgerScope: 'shared' }), await openExecutor({ space, dbPath, env, ledgerScope: 'shared' })];
    open.push(a, b);
    const [storeA, storeB] = [await BatchJobStore.open(a.storage), await BatchJobStore.open(b.storage)];
    const r = a.resolve(req('q'));
    const key = a.keyOf(r);
    const id = await storeA.begin({ provider: 'remote', model: 'A', discount: 0.5, items: [{ key, account: 'judge', request: canonicalJson(keyedRequest(r)) }] });
    await storeA.submitted(id, 'batch_1', 'in_progress');
    expect(await storeB.activeFor(key)).toMatchObject({ id, jobId: 'batch_1', state: 'submitted', requests: 1, provider: 'remote' });
    expect(await storeB.items(id)).toEqual([{ key, account: 'judge', request: canonicalJson(keyedRequest(r)) }]);

    const gen = { key, model: 'A', request: canonicalJson(keyedRequest(r)), text: 'answer', finishReason: 'stop', promptTokens: 10, completionTokens: 5, estimated: false, costUsd: 0.01, latencyMs: 5 };
    const summary = { remoteStatus: 'completed', results: 1, fallback: 0, malformed: 0 };
    const reservation = await a.reserve('A', 0.02);
    const failing = storeA.complete(id, summary, async (tx) => {
      await a.cache.put(gen, tx);
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(await b.cache.get(key)).toBeUndefined();
    expect((await storeB.get(id))?.state).toBe('submitted');

    // Both processes read the job's output and finish it at once: one stores and books, the other finds it done.
    const finish = (ex: typeof a, store: BatchJobStore, hold?: typeof reservation) => {
      let counted = () => {};
      return store
        .complete(id, summary, async (tx) => {
          await ex.cache.put(gen, tx);
          counted = await ex.settleIn(tx, [{ ...(hold ? { reservation: hold } : {}), account: 'judge', usd: gen.costUsd }]);
          await new Promise((res) => setTimeout(res, 30)); // the other finisher arrives while this one is open
        })
        .then((won) => (won && counted(), won));
    };
    const won = await Promise.all([finish(a, storeA, reservation), finish(b, storeB)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    if (!won[0]) await a.release([reservation]); // the loser gives its hold back, as its job run does
    expect(await storeA.activeFor(key)).toBeUndefined();
    expect(await storeB.get(id)).toMatchObject({ state: 'done', remoteStatus: 'completed' });
    expect(await a.cache.get(key)).toMatchObject({ text: 'answer', costUsd: 0.01 });
    const scope = await a.ledger.scopeSpend();
    expect(scope).toMatchObject({ calls: 1, openReservations: 0, byAccount: { judge: 0.01 } });
    expect(scope.spent).toBeCloseTo(0.01, 12);
    expect(scope.reserved).toBeCloseTo(0, 12);
    expect(a.spend().total + b.spend().total).toBeCloseTo(0.01, 12);
  });

  it('a job pending when its process stopped is re-attached by the next one and booked on the shared budget', async () => {
    const dbPath = backend.fresh('reattach');
    const first = await setup({ dbPath, budgetUsd: 1, ledgerScope: 'team' });
    first.server.batch.hold = true;
    const pending = first.bx.generate(req('long')).catch((e: Error) => e);
    await until(() => first.server.batch.counts.created === 1);
    expect((await first.bx.inner.ledger.scopeSpend()).openReservations).toBe(1);
    await first.bx.close();
    expect(String(await pending)).toMatch(/executor closed/);

    const second = await setup({ server: first.server, dbPath, budgetUsd: 1, ledgerScope: 'team' });
    expect((await second.bx.inner.ledger.scopeSpend()).openReservations).toBe(0); // closing gave the hold back
    const result = second.bx.generate(req('long'));
    await until(() => second.events.some((e) => e.type === 'attached'));
    first.server.batch.hold = false;
    expect(await result).toMatchObject({ cached: false, costUsd: 0.5 * PRICE_A });
    expect(first.server.batch.counts.created).toBe(1);
    expect(first.server.count()).toBe(0);
    expect((await second.bx.jobs.list())[0]).toMatchObject({ state: 'done', requests: 1 });
    const scope = await second.bx.inner.ledger.scopeSpend();
    expect(scope).toMatchObject({ calls: 1, openReservations: 0 });
    expect(scope.spent).toBeCloseTo(0.5 * PRICE_A, 12);
  });
});
