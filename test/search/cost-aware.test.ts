import { describe, expect, it } from 'vitest';
import { loadSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openStorage } from '../../src/executor/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { bestTrial } from '../../src/search/answer.js';
import { stratifiedSubset } from '../../src/search/budget-plan.js';
import { checkCaps, deploymentView, studyDims } from '../../src/search/constraints.js';
import { costCoveringDesign } from '../../src/search/cost-design.js';
import { fromMixtureFile, totalCount } from '../../src/search/encoding.js';
import { runSearch } from '../../src/search/run-search.js';
import type { StudyConfig } from '../../src/search/types.js';

const space = loadSpace(SIM_SPACE_FILE);
const items = stratifiedSubset(loadValidationSet(SIM_VALIDATION_FILE), 8, 0);
const config = (over: Partial<StudyConfig>): StudyConfig => ({
  spaceFile: SIM_SPACE_FILE, validationFile: SIM_VALIDATION_FILE, strategy: 'bfgs', seed: 3, budget: 100, layers: 2, aggregators: [], simulated: true, ...over,
});
const sources = { maxCost: { field: '--max-cost' }, maxLatency: { field: '--max-latency' } };

describe('cost-aware search box', () => {
  it('widens the aggregators to every aggregator-capable model when cost matters, not otherwise', () => {
    expect(studyDims(space, {}).aggregators).toEqual(space.search.aggregators);
    const wide = studyDims(space, { objective: 'pareto' }).aggregators;
    expect(wide.slice(0, 2)).toEqual(space.search.aggregators);
    expect(wide.length).toBe(7);
  });

  it('refuses a cap below what any single model costs, naming the flag', () => {
    const dims = studyDims(space, { maxCost: 1 });
    expect(() => checkCaps(space, dims, { maxCost: 0.05 }, sources)).toThrow(/--max-cost.*below every model's cost/);
    expect(() => checkCaps(space, dims, { maxLatency: 1 }, sources)).toThrow(/--max-latency.*below every model's latency/);
    expect(() => checkCaps(space, dims, { maxCost: 1, maxLatency: 100 }, sources)).not.toThrow();
  });

  it('the initial design covers the feasible cost range: the cheapest single model, and no gap wider than 3× in cost', () => {
    const dims = studyDims(space, { objective: 'pareto' });
    const deploy = deploymentView(dims, space, {}, undefined, new Map());
    const design = costCoveringDesign(dims, 0, deploy, 11);
    const costs = design.map((p) => deploy.cost(p).usd).sort((a, b) => a - b);
    const singles = dims.aggregators.map((_, agg) => deploy.cost({ counts: dims.proposers.map(() => 0), agg }).usd);
    expect(costs[0]).toBeCloseTo(Math.min(...singles), 12);
    for (let i = 1; i < costs.length; i++) expect(costs[i]! / costs[i - 1]!).toBeLessThan(3);
    expect(costs.at(-1)! / costs[0]!).toBeGreaterThan(20);
    // Under a cap, only likely-feasible points.
    const capped = deploymentView(dims, space, { maxCost: 2 }, undefined, new Map());
    expect(costCoveringDesign(dims, 0, capped, 11).every((p) => capped.cost(p).usd * 1000 <= 2)).toBe(true);
  });
});

describe('runSearch under a cost cap and for the front', () => {
  it('--max-cost: the answer is the best mixture whose measured cost meets the cap, the same pick as bestTrial', async () => {
    const storage = await openStorage(':memory:');
    const out = await runSearch({ space, items, storage, studyName: 'cap', config: config({ maxCost: 2, maxEvals: 8 }), concurrency: 8 });
    await storage.close();
    const b = out.best!;
    expect(b.trial.costPerQuery! * 1000).toBeLessThanOrEqual(2);
    expect(out.capped!.unconstrained.estimate.mean).toBeGreaterThanOrEqual(b.estimate.mean);
    expect(bestTrial(out.trials, 2 / 1000)!.number).toBe(b.trial.number);
    expect(out.study.best!.trial).toBe(b.trial.number);
    // The acquisition proposed likely-feasible mixtures only: every searched one measured close to or under the cap.
    const searched = out.trials.filter((t) => t.kind === 'search' && t.costPerQuery !== undefined);
    expect(searched.length).toBeGreaterThan(3);
    for (const t of searched) expect(t.costPerQuery! * 1000).toBeLessThan(2 * 1.25);
    if (out.capped!.unconstrained.trial.number !== b.trial.number) expect(b.vsUnconstrained).toBeDefined();
  });

  it('--objective pareto: the evaluated mixtures span single models to large MoAs with no gap wider than 3× in cost', async () => {
    const storage = await openStorage(':memory:');
    const out = await runSearch({ space, items, storage, studyName: 'front', config: config({ objective: 'pareto', maxEvals: 24 }), concurrency: 8 });
    await storage.close();
    const dims = studyDims(space, { objective: 'pareto' });
    const inBox = out.trials.filter((t) => t.costPerQuery !== undefined && fromMixtureFile(dims, t.mixture));
    const costs = inBox.map((t) => t.costPerQuery!).sort((a, b) => a - b);
    expect(inBox.some((t) => totalCount(fromMixtureFile(dims, t.mixture)!) === 0)).toBe(true);
    expect(inBox.some((t) => totalCount(fromMixtureFile(dims, t.mixture)!) >= 4)).toBe(true);
    for (let i = 1; i < costs.length; i++) expect(costs[i]! / costs[i - 1]!).toBeLessThan(3);
    expect(out.trials.some((t) => t.strategy === 'pareto')).toBe(true);
  });
});
