import { describe, expect, it } from 'vitest';
import { loadSpace, uniformMixture } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openDatabase } from '../../src/executor/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { createSimProvider } from '../../src/sim/index.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { runSearch, type SearchOptions } from '../../src/search/run-search.js';
import { StudyStore } from '../../src/search/study-store.js';
import { planPromptCount, projectTrialCost, stratifiedSubset } from '../../src/search/budget-plan.js';
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

const run = (o: Partial<SearchOptions> & Pick<SearchOptions, 'db' | 'studyName'>) => runSearch({ space, items, config: config(), ...o });

describe('runSearch', () => {
  it('evaluates the aggregator alone first and MoA-Lite last, as references', async () => {
    const out = await run({ db: openDatabase(':memory:'), studyName: 'r' });
    expect(out.stopped).toBe('max-evals');
    const kinds = out.trials.map((t) => t.kind);
    expect(kinds[0]).toBe('reference');
    const agg = space.search.aggregators![0]!;
    expect(out.trials[0]!.mixture).toMatchObject({ layers: 1, aggregator: agg });
    expect(kinds.filter((k) => k === 'search')).toHaveLength(5);
    expect(out.trials.at(-1)).toMatchObject({ kind: 'reference', mixture: { aggregator: 'Qwen/Qwen1.5-72B-Chat' } });
    // The answer is a searched mixture, compared with the best single model.
    expect(out.best!.trial.kind).toBe('search');
    expect(out.best!.vsBestSingle!.againstLabel).toBe(space.models.find((m) => m.id === agg)!.label);
    expect(out.best!.vsRunnerUp).toBeDefined();
    expect(out.study).toMatchObject({ state: 'COMPLETE', stopped: 'max-evals' });
    // The answer is stored on the study, so the report recommends the same mixture.
    expect(out.study.best).toEqual({ trial: out.best!.trial.number, posteriorMean: out.best!.posteriorMean });
    // Every trial's projection was above what it really cost: the plan is on the safe side.
    for (const t of out.trials) expect(t.projectedUsd!).toBeGreaterThanOrEqual(t.spent!);
  });

  it('stops cleanly on interrupt and resumes to the uninterrupted result without repeating calls', async () => {
    const ref = countingSim();
    const whole = await run({ db: openDatabase(':memory:'), studyName: 'w', providers: new Map([['sim', ref.provider]]) });

    const db = openDatabase(':memory:');
    const first = countingSim();
    const ctl = new AbortController();
    const part = await run({
      db, studyName: 'i', signal: ctl.signal, providers: new Map([['sim', first.provider]]),
      onEvent: (e) => { if (e.type === 'prompt' && e.trial.number === 2 && e.done === 3) ctl.abort(); },
    });
    expect(part.stopped).toBe('interrupted');
    const store = new StudyStore(db);
    expect(store.getStudy('i')).toMatchObject({ state: 'RUNNING', stopped: 'interrupted' });
    expect(store.listTrials('i').map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'RUNNING']);

    const second = countingSim();
    const resumed = await run({ db, studyName: 'i', resume: true, providers: new Map([['sim', second.provider]]) });
    expect(resumed.stopped).toBe('max-evals');
    expect(resumed.trials.map((t) => [t.mixtureKey, t.score])).toEqual(whole.trials.map((t) => [t.mixtureKey, t.score]));
    expect(resumed.best!.mixture).toEqual(whole.best!.mixture);
    expect(resumed.spent).toBeCloseTo(whole.spent, 9);
    // Calls cut short by the interrupt are the only ones made twice.
    expect(first.n + second.n).toBeGreaterThanOrEqual(ref.n);
    expect(first.n + second.n).toBeLessThanOrEqual(ref.n + 40);
  });

  it('refuses to create a study twice or resume a missing one', async () => {
    const db = openDatabase(':memory:');
    await run({ db, studyName: 'x', config: config({ maxEvals: 1 }), references: false });
    await expect(run({ db, studyName: 'x' })).rejects.toThrow(/exists already/);
    await expect(run({ db, studyName: 'nope', resume: true })).rejects.toThrow(/no study named/);
  });
});

describe('budget planning', () => {
  it('projects more than a trial really costs and sizes a prompt subset to the budget', () => {
    const m = uniformMixture({ 'Qwen/Qwen1.5-110B-Chat': 1, 'microsoft/WizardLM-2-8x22B': 2 }, 'Qwen/Qwen1.5-110B-Chat');
    const full = projectTrialCost(m, space, all, undefined, { margin: false });
    expect(projectTrialCost(m, space, all, undefined)).toBeGreaterThan(full);
    expect(planPromptCount(m, space, all, 1000)).toBeUndefined();
    const n = planPromptCount(m, space, all, full * 2)!;
    expect(n).toBeGreaterThanOrEqual(12);
    expect(n).toBeLessThan(all.length);
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
