import { describe, expect, it } from 'vitest';
import { loadSpace, uniformMixture } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openStorage } from '../../src/executor/index.js';
import { backends } from '../helpers/backends.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { createSimProvider } from '../../src/sim/index.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { runSearch, type SearchOptions } from '../../src/search/run-search.js';
import { StudyStore } from '../../src/search/study-store.js';
import { costModel, paidSamples, projectTrialCost, stratifiedSubset } from '../../src/search/budget-plan.js';
import type { StudyConfig } from '../../src/search/types.js';

const space = loadSpace(SIM_SPACE_FILE);
const all = loadValidationSet(SIM_VALIDATION_FILE);
const items = stratifiedSubset(all, 6, 0);
const config = (over: Partial<StudyConfig> = {}): StudyConfig => ({
  spaceFile: SIM_SPACE_FILE, validationFile: SIM_VALIDATION_FILE, strategy: 'bfgs', seed: 4, budget: 100, maxEvals: 5, layers: 2, aggregators: [], simulated: true, ...over,
});

function countingSim(): { n: number; provider: ChatProvider } {
  const sim = createSimProvider();
  const c: { n: number; provider: ChatProvider } = { n: 0, provider: { name: 'sim', complete: (req, o) => (c.n++, sim.complete(req, o)) } };
  return c;
}

const run = (o: Partial<SearchOptions> & Pick<SearchOptions, 'storage' | 'studyName'>) => runSearch({ space, items, config: config(), ...o });

describe('runSearch', () => {
  it('measures each aggregator alone first and MoA-Lite last, as references, and stores the answer', async () => {
    const out = await run({ storage: await openStorage(':memory:'), studyName: 'r' });
    expect(out.stopped).toBe('max-evals');
    const aggs = space.search.aggregators!;
    expect(out.trials.slice(0, aggs.length).map((t) => [t.kind, t.mixture.layers, t.mixture.aggregator])).toEqual(aggs.map((a) => ['reference', 1, a]));
    expect(out.trials.at(-1)).toMatchObject({ kind: 'reference', mixture: { aggregator: 'Qwen/Qwen1.5-72B-Chat' } });
    expect(out.measurements).toBe(aggs.length + 5 + 1);
    // The answer: a searched mixture with a model estimate, compared with the best single model.
    expect(out.best!.trial.kind).toBe('search');
    expect(out.best!.estimate.prompts).toBeGreaterThan(0);
    expect(out.best!.estimate.ci[0]).toBeLessThan(out.best!.estimate.mean);
    expect(out.best!.vsBestSingle).toBeDefined();
    expect(out.study).toMatchObject({ state: 'COMPLETE', stopped: 'max-evals' });
    // The answer is stored on the study, and every trial carries its estimate: report and pareto use the same rule.
    expect(out.study.best).toMatchObject({ trial: out.best!.trial.number, score: out.best!.estimate.mean, prompts: out.best!.estimate.prompts });
    expect(out.trials.filter((t) => t.state === 'COMPLETE').every((t) => t.estimate)).toBe(true);
    expect(out.trials.find((t) => t.estimate?.rank === 1)!.number).toBe(out.best!.trial.number);
    // Every trial's projection was above what it really cost: the plan is on the safe side.
    for (const t of out.trials) expect(t.projectedUsd!).toBeGreaterThanOrEqual(t.spent!);
  });

  it('stops as interrupted when another process takes its lease over (it missed its heartbeats)', async () => {
    const storage = await openStorage(':memory:');
    const sim = createSimProvider();
    // Slow calls, so that heartbeats tick during the search.
    const slow: ChatProvider = { name: 'sim', complete: async (req, o) => (await new Promise((r) => setTimeout(r, 5)), sim.complete(req, o)) };
    let stolen = false;
    let detail = '';
    const out = await run({
      storage, studyName: 'l', leaseMs: 90, providers: new Map([['sim', slow]]),
      onEvent: (e) => {
        if (e.type === 'stop') detail = e.detail;
        if (e.type !== 'prompt' || stolen) return;
        stolen = true;
        void storage.run("UPDATE leases SET owner = 'elsewhere:7:1.beef', token = 'theirs', expires_at = moa_now_ms() + 60000 WHERE name = 'study:l'");
      },
    });
    expect(out.stopped).toBe('interrupted');
    expect(detail).toBe('another process took study l over after this one missed its heartbeats');
    // It writes nothing more to the study, and its own release leaves the new holder's lease alone.
    expect((await (await StudyStore.open(storage)).getStudy('l'))!.stopped).toBeUndefined();
    expect(await storage.get("SELECT owner FROM leases WHERE name = 'study:l'")).toEqual({ owner: 'elsewhere:7:1.beef' });
    await storage.close();
  });

  it('refuses to create a study twice or resume a missing one', async () => {
    const storage = await openStorage(':memory:');
    await run({ storage, studyName: 'x', config: config({ maxEvals: 1 }), references: false });
    await expect(run({ storage, studyName: 'x' })).rejects.toThrow(/exists already/);
    await expect(run({ storage, studyName: 'nope', resume: true })).rejects.toThrow(/no study named/);
  });
});

describe.each(backends())('runSearch on $name', (backend) => {
  it('stops cleanly on interrupt and resumes to the uninterrupted result without repeating calls', async () => {
    const ref = countingSim();
    const whole = await run({ storage: await openStorage(':memory:'), studyName: 'w', providers: new Map([['sim', ref.provider]]) });

    const storage = await openStorage(backend.fresh('resume'));
    const first = countingSim();
    const ctl = new AbortController();
    const part = await run({
      storage, studyName: 'i', signal: ctl.signal, providers: new Map([['sim', first.provider]]),
      onEvent: (e) => { if (e.type === 'prompt' && e.trial.number === 3 && e.done === 3) ctl.abort(); },
    });
    expect(part.stopped).toBe('interrupted');
    const store = await StudyStore.open(storage);
    expect(await store.getStudy('i')).toMatchObject({ state: 'RUNNING', stopped: 'interrupted' });
    expect((await store.listObservations('i')).at(-1)!.state).toBe('RUNNING');

    const second = countingSim();
    const resumed = await run({ storage, studyName: 'i', resume: true, providers: new Map([['sim', second.provider]]) });
    expect(resumed.stopped).toBe('max-evals');
    expect(resumed.trials.map((t) => [t.mixtureKey, t.score, t.measurements])).toEqual(whole.trials.map((t) => [t.mixtureKey, t.score, t.measurements]));
    expect(resumed.best!.mixture).toEqual(whole.best!.mixture);
    expect(resumed.best!.estimate.mean).toBeCloseTo(whole.best!.estimate.mean, 9);
    expect(resumed.spent).toBeCloseTo(whole.spent, 9);
    // Calls cut short by the interrupt are the only ones made twice.
    expect(first.n + second.n).toBeGreaterThanOrEqual(ref.n);
    expect(first.n + second.n).toBeLessThanOrEqual(ref.n + 40);
    await storage.close();
  });
});

describe('budget planning', () => {
  it('projects more than a measurement really costs, and less once the study paid for shared proposer answers', () => {
    const m = uniformMixture({ 'Qwen/Qwen1.5-110B-Chat': 1, 'microsoft/WizardLM-2-8x22B': 2 }, 'Qwen/Qwen1.5-110B-Chat');
    const full = projectTrialCost(m, space, all, undefined, { margin: false });
    expect(projectTrialCost(m, space, all, undefined)).toBeGreaterThan(full);
    const ids = all.slice(0, 10).map((it) => it.id);
    const fresh = costModel(space, all, undefined).measurement(m, ids, 0);
    const trial = { number: 0, mixture: { layers: 2, proposers: { 'microsoft/WizardLM-2-8x22B': 2 }, aggregator: 'Qwen/Qwen1.5-72B-Chat', mode: 'synthesize' as const } };
    const obs = [{ trial: 0, state: 'COMPLETE' as const, sampleOffset: 0, promptIds: ids }];
    const paid = paidSamples([trial] as never, obs as never);
    expect(paid.size).toBe(20);
    const cached = costModel(space, all, undefined, paid).measurement(m, ids, 0);
    expect(cached).toBeLessThan(fresh);
    // Another sample offset (a replicate, SAMPLE_STRIDE on) shares nothing with offset 0.
    expect(costModel(space, all, undefined, paid).measurement(m, ids, 64)).toBeCloseTo(fresh, 12);
  });

  it('takes a deterministic subset balanced across sources, in file order', () => {
    const a = stratifiedSubset(all, 10, 3);
    expect(a).toHaveLength(10);
    expect(a.filter((x) => x.source === 'alpaca_eval')).toHaveLength(5);
    expect(stratifiedSubset(all, 10, 3)).toEqual(a);
    expect(stratifiedSubset(all, 10, 4)).not.toEqual(a);
    expect(a.map((x) => all.indexOf(x))).toEqual([...a.map((x) => all.indexOf(x))].sort((p, q) => p - q));
  });
});

describe('paper mixtures', () => {
  it('offers MoA-Lite and MoA as references when the space has their models', async () => {
    const { referenceMixtures } = await import('../../src/search/run-search.js');
    const both = referenceMixtures(space, ['moa-lite', 'moa']);
    expect(both.map((m) => [m.proposerLayers.length + 1, m.aggregator])).toEqual([[2, 'Qwen/Qwen1.5-72B-Chat'], [3, 'Qwen/Qwen1.5-110B-Chat']]);
    const other = loadSpace(SIM_SPACE_FILE);
    other.models = other.models.filter((m) => m.id !== 'databricks/dbrx-instruct');
    expect(referenceMixtures(other, ['moa-lite', 'moa'])).toEqual([]);
  });
});
