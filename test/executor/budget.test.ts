import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/config/index.js';
import { BudgetExceeded, openExecutor, promptTokenCeiling } from '../../src/executor/index.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { backends } from '../helpers/backends.js';
import { KEY, KEY_ENV, testSpace, user } from './_space.js';

const env = { [KEY_ENV]: KEY };
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe.each(backends())('budget on $name', (backend) => {
  it('is never exceeded by 32 concurrent calls; the rest are refused with BudgetExceeded', async () => {
    // Real usage varies per call (and sometimes uses all of max_tokens), as endpoints do.
    const server: FakeServer = await startOpenAIServer({
      latencyMs: 5,
      handler: (body) => ({ usage: { prompt_tokens: 20 + (body.seed % 7), completion_tokens: body.seed % 3 === 0 ? body.max_tokens : 10 + body.seed } }),
    });
    open.push(server);
    const space = testSpace(server.url);
    const probe = await openExecutor({ space, env });
    open.push(probe);
    const reqs = Array.from({ length: 32 }, (_, i) => ({ model: 'B', messages: user(`question number ${i}`), sample: i }));
    const worst = probe.worstCaseUsd(reqs[0]!);
    const budget = worst * 10.5;
    const ex = await openExecutor({ space, env, budgetUsd: budget, dbPath: backend.fresh('budget') });
    open.push(ex);

    const settled = await Promise.allSettled(reqs.map((r) => ex.generate(r)));
    const ok = settled.filter((s): s is PromiseFulfilledResult<Awaited<ReturnType<typeof ex.generate>>> => s.status === 'fulfilled');
    const refused = settled.filter((s) => s.status === 'rejected');
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BudgetExceeded);
    const paid = ok.reduce((a, s) => a + s.value.costUsd, 0);
    expect(paid).toBeLessThanOrEqual(budget);
    expect(server.count()).toBe(ok.length);
    const snap = ex.spend();
    expect(snap.total).toBeCloseTo(paid, 12);
    expect(snap.total).toBeLessThanOrEqual(budget);
    expect(snap.reserved).toBe(0);
    expect(snap.budget).toBe(budget);

    // Cache hits cost nothing and are never refused, even with the budget spent.
    const done = reqs.find((r) => ex.keyOf(r) === ok[0]!.value.key)!;
    const again = await ex.generate(done);
    expect(again.cached).toBe(true);
    expect(ex.spend().total).toBeCloseTo(paid, 12);
  });

  it('refuses a call whose worst case does not fit before sending anything', async () => {
    const server = await startOpenAIServer();
    open.push(server);
    const ex = await openExecutor({ space: testSpace(server.url), env, budgetUsd: 0.0001, dbPath: backend.fresh('refuse') });
    open.push(ex);
    const err = await ex.generate({ model: 'B', messages: user('too expensive'), maxTokens: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(BudgetExceeded);
    expect(err.message).toContain('B');
    expect(server.count()).toBe(0);
    expect(ex.spend().calls).toEqual({ made: 0, cached: 0, failed: 0 });
    // The reservation uses the request's maxTokens (or the space's default) at the output price.
    const w = ex.worstCaseUsd({ model: 'B', messages: user('too expensive'), maxTokens: 1000 });
    expect(w).toBeCloseTo((promptTokenCeiling(user('too expensive')) * 10 + 1000 * 30) / 1e6, 12);
    expect(ex.worstCaseUsd({ model: 'B', messages: user('x') })).toBeCloseTo((promptTokenCeiling(user('x')) * 10 + 64 * 30) / 1e6, 12);
  });

  it('rejects a negative budget as bad input', async () => {
    await expect(openExecutor({ space: testSpace('http://127.0.0.1:9/v1'), budgetUsd: -1 })).rejects.toThrow(InputError);
  });
});
