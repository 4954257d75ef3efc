import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStorage, SpendLedger, promptTokenCeiling } from '../../src/executor/index.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { backends } from '../helpers/backends.js';
import { user } from './_space.js';
import type { WorkerOpts } from './_multi-worker.js';

// Real child processes sharing one database: the shared budget and the in-flight markers across processes.
const WORKER = resolve(import.meta.dirname, '_multi-worker.ts');
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

interface Outcome {
  made: number;
  cached: number;
  refused: number;
}

function startWorker(o: WorkerOpts): { child: ChildProcess; done: Promise<Outcome> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Outcome>((res, rej) =>
    child.on('close', (code, signal) => (code === 0 ? res(JSON.parse(stdout) as Outcome) : rej(new Error(`worker ${o.prefix}: ${signal ?? code}\n${stderr}`)))),
  );
  return { child, done };
}

// Model C costs $1 per 1M tokens in and out; usage varies per call, and some calls use all of max_tokens (64).
const usageFor = (body: { messages: Array<{ content: string }>; max_tokens: number; seed: number }) => {
  const n = Number(/(\d+)$/.exec(body.messages.at(-1)!.content)?.[1] ?? 0);
  return { prompt_tokens: 10 + (n % 5), completion_tokens: n % 4 === 0 ? body.max_tokens : 5 + n };
};
const costOf = (u: { prompt_tokens: number; completion_tokens: number }) => (u.prompt_tokens + u.completion_tokens) / 1e6;

describe.each(backends())('several processes on one $name database', (backend) => {
  it('share one budget: three workers and one killed mid-call never spend past it together', { timeout: 180_000 }, async () => {
    let hang = true;
    const completed: number[] = [];
    const server = await startOpenAIServer({
      handler: (body) => {
        const usage = usageFor(body);
        if (body.messages.at(-1).content.startsWith('victim')) return hang ? { delayMs: 60_000, usage } : { usage };
        return { delayMs: 20, usage };
      },
    });
    open.push(server);
    const location = backend.fresh('budget');
    // About 30 worst-case calls' worth for 3 × 20 prompts: the budget runs out mid-run.
    const worst = (promptTokenCeiling(user('worker-0 10')) + 64) / 1e6;
    const victimWorst = (promptTokenCeiling(user('victim 0')) + 64) / 1e6;
    const budget = 30 * worst;
    const common = { location, url: server.url, concurrency: 4, budget, scope: 'study:shared', leaseMs: 400 };

    // The victim reserves for four calls, which hang at the provider; then it is killed with -9.
    const victim = startWorker({ ...common, prefix: 'victim', count: 4 });
    while (server.count() < 4) await sleep(10);
    victim.child.kill('SIGKILL');
    await expect(victim.done).rejects.toThrow(/SIGKILL/);
    hang = false;

    const workers = Array.from({ length: 3 }, (_, w) => startWorker({ ...common, prefix: `worker-${w}`, count: 20 }));
    const outcomes = await Promise.all(workers.map((w) => w.done));
    for (const c of server.calls) if (!c.body.messages.at(-1).content.startsWith('victim')) completed.push(costOf(usageFor(c.body)));

    const made = outcomes.reduce((a, o) => a + o.made, 0);
    const refused = outcomes.reduce((a, o) => a + o.refused, 0);
    expect(made).toBe(completed.length);
    expect(refused).toBeGreaterThan(0); // the budget ran out mid-run
    expect(made).toBeGreaterThan(15);
    // What the provider billed for completed calls, plus the victim's four calls at their worst case, fits the budget.
    const billed = completed.reduce((a, b) => a + b, 0);
    expect(billed + 4 * victimWorst).toBeLessThanOrEqual(budget + 1e-12);

    const storage = await openStorage(location);
    open.push(storage);
    const ledger = await SpendLedger.open({ storage, scope: 'study:shared' });
    open.push(ledger);
    await ledger.sweepExpired();
    const s = await ledger.scopeSpend();
    expect(s.openReservations).toBe(0);
    expect(s.reserved).toBe(0);
    expect(s.spent).toBeLessThanOrEqual(budget + 1e-12);
    // The victim's holds were closed at their worst case, not handed back as if nothing had been sent.
    expect(s.byAccount.unsettled).toBeCloseTo(4 * victimWorst, 12);
    expect(s.byAccount.mixture).toBeCloseTo(billed, 12);
  });

  it('pay once for a generation several processes need at the same moment, even when one holding it is killed', { timeout: 180_000 }, async () => {
    let hang = true;
    const server = await startOpenAIServer({ handler: () => (hang ? { delayMs: 60_000 } : { delayMs: 60 }) });
    open.push(server);
    const location = backend.fresh('markers');
    const common = { location, url: server.url, prefix: 'shared', concurrency: 8, leaseMs: 2000 };

    // The victim claims the first 8 generations and dies with their calls in flight.
    const victim = startWorker({ ...common, count: 8 });
    while (server.count() < 8) await sleep(10);
    victim.child.kill('SIGKILL');
    await expect(victim.done).rejects.toThrow(/SIGKILL/);
    hang = false;

    // Three workers want the same 30 generations at once; the victim's 8 are taken over when its leases expire.
    const outcomes = await Promise.all(Array.from({ length: 3 }, () => startWorker({ ...common, count: 30 }).done));
    expect(server.count()).toBe(8 + 30); // every generation paid once, plus the calls in flight at the kill
    expect(outcomes.reduce((a, o) => a + o.made, 0)).toBe(30);
    expect(outcomes.reduce((a, o) => a + o.cached, 0)).toBe(60);
    const prompts = server.calls.slice(8).map((c) => c.body.messages.at(-1).content);
    expect(new Set(prompts).size).toBe(30);
  });
});
