import { describe, expect, it } from 'vitest';
import { loadSpace, parseMixtureObject, type SearchSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openExecutor, openStorage, SAMPLE_STRIDE } from '../../src/executor/index.js';
import { scoreJudgeAgreement } from '../../src/eval/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { simPreferenceSet } from '../../src/sim/index.js';
import { judgeCostModel, judgeObjective, judgeSearchDims, judgeSettingsFor, replicateOf, searchItemsOf } from '../../src/search/judge-objective.js';
import { runSearch } from '../../src/search/run-search.js';
import type { StudyConfig } from '../../src/search/types.js';
import { errorOf } from '../helpers/input-error.js';

const space = loadSpace(SIM_SPACE_FILE);
const prompts = loadValidationSet(SIM_VALIDATION_FILE);
const pairs = simPreferenceSet({ space, prompts, pairs: 50, seed: 3 });
const config = (over: Partial<StudyConfig> = {}): StudyConfig => ({
  spaceFile: SIM_SPACE_FILE, validationFile: 'prefs.jsonl', strategy: 'bfgs', seed: 1, budget: 100, maxEvals: 4, layers: 2, aggregators: [], simulated: true, objective: 'judge', ...over,
});
const judges = space.models.filter((m) => m.roles.includes('judge')).map((m) => m.id);

describe('search --objective judge (in process)', () => {
  it('searches judging mixtures of judge-role models, every judge alone as a reference, scored by agreement', async () => {
    const storage = await openStorage(':memory:');
    const out = await runSearch({ space, items: searchItemsOf(pairs), objective: judgeObjective(space, pairs), storage, studyName: 'j', config: config() });
    expect(out.stopped).toBe('max-evals');
    const refs = out.trials.filter((t) => t.kind === 'reference');
    expect(refs.map((t) => t.mixture.aggregator).sort()).toEqual([...judges].sort());
    // No paper mixture (MoA-Lite answers prompts, it does not judge).
    expect(refs.every((t) => t.mixture.layers === 1)).toBe(true);
    for (const t of out.trials) {
      for (const id of Object.keys(t.mixture.proposers ?? {})) expect(judges).toContain(id);
      expect(t.projectedUsd!).toBeGreaterThanOrEqual(t.spent!);
    }
    const best = out.best!;
    expect(best.estimate.ci[0]).toBeLessThan(best.estimate.mean);
    expect(best.estimate.mean).toBeGreaterThan(50);
    expect(best.vsBestSingle ?? best.trial.mixture.layers === 1).toBeTruthy();
    const obs = await (await import('../../src/search/study-store.js')).StudyStore.open(storage).then((s) => s.listObservations('j'));
    for (const o of obs) {
      expect(o.sampleOffset % SAMPLE_STRIDE).toBe(0);
      for (const p of o.perPrompt!) expect(p.preference).toBeGreaterThanOrEqual(0), expect(p.preference).toBeLessThanOrEqual(1);
    }
    expect(out.study.config.objective).toBe('judge');
    // A study that optimizes agreement cannot be resumed as a quality search.
    await expect(runSearch({ space, items: searchItemsOf(pairs), storage, studyName: 'j', resume: true, config: config() })).rejects.toMatchObject({ location: { field: '--objective' } });
  });

  it('needs two judge models; replicates map to the executor\'s sample offsets', () => {
    const one: SearchSpace = { ...space, models: space.models.map((m) => ({ ...m, roles: m.roles.filter((r) => r !== 'judge' || m.id === judges[0]) })) };
    expect(errorOf(() => judgeSearchDims(one)).location.field).toBe('--objective');
    expect(judgeSearchDims(space).aggregators).toEqual(judges);
    expect(replicateOf(2 * SAMPLE_STRIDE)).toBe(2);
    expect(() => replicateOf(5)).toThrow(RangeError);
  });

  it('projects a judging mixture above a lone judge, and learns completion sizes from measured calls', () => {
    const ids = pairs.slice(0, 10).map((p) => p.id);
    const prior = judgeCostModel(space, pairs, undefined);
    const alone = parseMixtureObject({ layers: 1, aggregator: judges[0] }, space, 'm', 'judge');
    const moa = parseMixtureObject({ layers: 2, proposers: { [judges[0]!]: 2, [judges[1]!]: 1 }, aggregator: judges[1] }, space, 'm', 'judge');
    expect(prior.measurement(moa, ids, 0)).toBeGreaterThan(prior.measurement(alone, ids, 0));
    const terse = judgeCostModel(space, pairs, { models: { [judges[0]!]: { proposer: { n: 4, prompt: 900, completion: 10 } } }, userPrompt: { n: 0, mean: 0 }, templateOverhead: { n: 0, mean: 0 } });
    expect(terse.measurement(moa, ids, 0)).toBeLessThan(prior.measurement(moa, ids, 0));
  });
  it('measures replicate r at the search offset r × SAMPLE_STRIDE exactly as scoreJudgeAgreement\'s replicate r', async () => {
    const executor = await openExecutor({ space, dbPath: ':memory:' });
    const mixture = parseMixtureObject({ layers: 2, proposers: { [judges[0]!]: 2, [judges[3]!]: 1 }, aggregator: judges[5] }, space, 'm', 'judge');
    const few = pairs.slice(0, 6);
    const objective = judgeObjective(space, pairs);
    const viaSearch = await objective.measure({ mixture, promptIds: few.map((p) => p.id), executor, concurrency: 2, sampleOffset: 2 * SAMPLE_STRIDE });
    const made = executor.spend().calls.made;
    const direct = await scoreJudgeAgreement({ space, executor, judge: judgeSettingsFor(space, mixture), items: few, replicate: 2 });
    // The same calls: all served from the cache, the same per-pair outcomes.
    expect(executor.spend().calls.made).toBe(made);
    expect(direct.perItem.map((o) => o.judgePreference)).toEqual((viaSearch.perPrompt as typeof direct.perItem).map((o) => o.judgePreference));
    expect(viaSearch.tokenStats!.models[judges[0]!]!.proposer!.n).toBeGreaterThan(0);
    await executor.close();
  });
});
