import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpace } from '../../src/config/index.js';
import { InputError } from '../../src/config/input-error.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openStorage, type Storage } from '../../src/executor/index.js';
import { PACKAGE_ROOT, SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { stratifiedSubset } from '../../src/search/budget-plan.js';
import { runSearch, type SearchOptions } from '../../src/search/run-search.js';
import { studyCompat } from '../../src/search/study-compat.js';
import { diffStudies } from '../../src/search/study-diff.js';
import { StudyStore } from '../../src/search/study-store.js';
import type { StudyConfig } from '../../src/search/types.js';
import { applyWarmStart, completeWarmStart, planWarmStart } from '../../src/search/warm-start.js';
import { warmStartOffer } from '../../src/cli/warm-start-notes.js';

const RELEASE = resolve(PACKAGE_ROOT, 'search-spaces/sim-release.yaml');
const NEW_MODEL = 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo';
const oldSpace = loadSpace(SIM_SPACE_FILE);
const newSpace = loadSpace(RELEASE);
const items = stratifiedSubset(loadValidationSet(SIM_VALIDATION_FILE), 24, 0);

const config = (spaceFile: string, over: Partial<StudyConfig> = {}): StudyConfig => ({
  spaceFile, validationFile: SIM_VALIDATION_FILE, strategy: 'bfgs', seed: 1, budget: 100, maxEvals: 4, layers: 2, aggregators: [], simulated: true, ...over,
});
const search = (storage: Storage, studyName: string, space = oldSpace, over: Partial<SearchOptions> = {}, c: Partial<StudyConfig> = {}) =>
  runSearch({ space, items, storage, studyName, config: config(space.file, c), ...over });

describe('warm start', () => {
  it('imports every compatible observation at no cost, on the old prompt order, and a resume does not import twice', async () => {
    const storage = await openStorage(':memory:');
    const old = await search(storage, 'old', oldSpace, {}, { seed: 7 });
    const store = await StudyStore.open(storage);
    const oldObs = (await store.listObservations('old')).filter((o) => o.state === 'COMPLETE');
    const warm = await search(storage, 'new', newSpace, { warmStart: ['old'] }, { maxEvals: 2 });
    const study = (await store.getStudy('new'))!;
    expect(study.config.warmStart).toMatchObject({ from: ['old'], imported: oldObs.length, skipped: [] });
    // The new study took the old one's prompt order (its seed was 1, the old one's 7): observations stay paired.
    expect(study.config.fidelity).toEqual(old.study.config.fidelity);
    const obs = await store.listObservations('new');
    const imported = obs.filter((o) => o.strategy === 'warm-start');
    expect(imported).toHaveLength(oldObs.length);
    expect(imported.every((o) => o.spent === 0 && o.note?.startsWith('warm start: old #'))).toBe(true);
    expect(imported.map((o) => o.perPrompt)).toEqual(oldObs.map((o) => o.perPrompt));
    // The aggregator-alone reference of the old aggregator was imported, not paid again; the new one's was measured.
    const refs = warm.trials.filter((t) => t.kind === 'reference' && t.mixture.layers === 1).map((t) => [t.mixture.aggregator, t.strategy]);
    expect(refs).toContainEqual([NEW_MODEL, 'reference']);
    expect(refs.filter(([, s]) => s === 'reference').map(([a]) => a)).toEqual([NEW_MODEL]);
    // What the new study paid: only its own measurements.
    const own = obs.filter((o) => o.strategy !== 'warm-start').reduce((a, o) => a + (o.spent ?? 0), 0);
    expect(warm.spent).toBeCloseTo(own, 9);
    // The first search screens try the new model where the imported leaders are: as their aggregator or a proposer.
    const firstOwn = obs.find((o) => o.strategy === 'bfgs')!;
    expect(firstOwn.note).toBe('warm design');
    expect(JSON.stringify(warm.trials.find((t) => t.number === firstOwn.trial)!.mixture)).toContain(NEW_MODEL);
    // A later search on the same prompts and judge is offered the finished studies.
    expect(await warmStartOffer(storage, { studyName: 'next', space: newSpace, items })).toEqual([
      '2 earlier studies on this validation set and judge could warm-start this one: add --warm-start old,new',
    ]);
    // Resume: nothing is imported again.
    await search(storage, 'new', newSpace, { resume: true }, { maxEvals: 3 });
    expect((await store.listObservations('new')).filter((o) => o.strategy === 'warm-start')).toHaveLength(oldObs.length);
    await storage.close();
  });

  it('an import a killed process left half done is finished on resume, each observation once', async () => {
    const storage = await openStorage(':memory:');
    await search(storage, 'old', oldSpace, {}, { maxEvals: 3 });
    const store = await StudyStore.open(storage);
    const compat = studyCompat(newSpace, items);
    const wp = await planWarmStart(store, ['old'], { name: 'half', space: newSpace, compat });
    const study = await store.createStudy('half', { ...config(newSpace.file), compat, fidelity: wp.plan!, warmStart: { from: ['old'] } });
    await applyWarmStart(store, 'half', { ...wp, imports: wp.imports.slice(0, 2) }, newSpace);
    const done = await completeWarmStart(store, study, newSpace);
    expect(done.config.warmStart).toMatchObject({ imported: wp.count, skipped: [] });
    const notes = (await store.listObservations('half')).map((o) => o.note);
    expect(new Set(notes).size).toBe(wp.count);
    await storage.close();
  });

  it('skips incompatible studies and mixtures with a count and a reason; an unknown study is an input error', async () => {
    const storage = await openStorage(':memory:');
    await search(storage, 'rel', newSpace, {}, { maxEvals: 4 });
    const store = await StudyStore.open(storage);
    const relObs = (await store.listObservations('rel')).filter((o) => o.state === 'COMPLETE');
    // Into the old space: mixtures with the new model do not carry over, the rest do.
    const back = await planWarmStart(store, ['rel'], { name: 'x', space: oldSpace, compat: studyCompat(oldSpace, items) });
    const lacking = back.skipped.filter((s) => s.reason.includes(NEW_MODEL));
    expect(lacking.length).toBeGreaterThan(0);
    expect(back.count + lacking.reduce((a, s) => a + s.count, 0) + back.skipped.filter((s) => !s.reason.includes(NEW_MODEL)).reduce((a, s) => a + s.count, 0)).toBe(relObs.length);
    // Another judge: the whole study is skipped, named with its reason.
    const judged = { ...newSpace, judge: { ...newSpace.judge!, temperature: 0.5 } };
    const other = await planWarmStart(store, ['rel'], { name: 'x', space: judged, compat: studyCompat(judged, items) });
    expect(other).toMatchObject({ count: 0, skipped: [{ study: 'rel', count: relObs.length, reason: 'another judge or judge protocol' }] });
    // Other prompts.
    const fewer = items.slice(0, 20);
    const subset = await planWarmStart(store, ['rel'], { name: 'x', space: newSpace, compat: studyCompat(newSpace, fewer) });
    expect(subset.skipped[0]!.reason).toMatch(/another validation set/);
    await expect(planWarmStart(store, ['nope'], { name: 'x', space: newSpace, compat: studyCompat(newSpace, items) })).rejects.toThrow(InputError);
    await expect(planWarmStart(store, ['nope'], { name: 'x', space: newSpace, compat: studyCompat(newSpace, items) })).rejects.toThrow(/no study named "nope"/);
    await storage.close();
  });

  it('diff: old best vs new best, paired on shared prompts, cost delta and the new model\'s role; too few prompts are said', async () => {
    const storage = await openStorage(':memory:');
    await search(storage, 'a', oldSpace, {}, { seed: 3 });
    await search(storage, 'b', newSpace, { warmStart: ['a'] }, { maxEvals: 3 });
    const store = await StudyStore.open(storage);
    const d = await diffStudies(store, 'a', 'b');
    expect(d.newModels.map((m) => m.model)).toEqual([NEW_MODEL]);
    const best = d.new.mixture;
    const role = d.newModels[0]!.role;
    expect(role).toBe(best.aggregator === NEW_MODEL ? ((best.proposers?.[NEW_MODEL] ?? 0) > 0 ? 'proposer and aggregator' : 'aggregator') : (best.proposers?.[NEW_MODEL] ?? 0) > 0 ? 'proposer' : 'not in the new best');
    if (d.sameMixture) expect(d.pairedNote).toMatch(/same mixture/);
    else if (d.paired) {
      expect(d.paired.n).toBeGreaterThanOrEqual(20);
      expect(d.paired.ci[0]).toBeLessThanOrEqual(d.paired.diff);
    } else expect(d.pairedNote).toMatch(/share only \d+ judged prompt/);
    const aBest = (await store.getStudy('a'))!.best!.trial;
    const key = (await store.listTrials('a')).find((x) => x.number === aBest)!.mixtureKey;
    const oldInB = (await store.listTrials('b')).find((t) => t.mixtureKey === key)!;
    expect(d.costDelta).toBeCloseTo(d.new.costPerQuery! - oldInB.costPerQuery!, 9);
    await expect(diffStudies(store, 'a', 'zzz')).rejects.toThrow(/no study named "zzz"/);
    await storage.close();
  });
});
