import { afterEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../../src/executor/index.js';
import { StudyError, StudyStore, studyScope } from '../../src/search/study-store.js';
import { backends } from '../helpers/backends.js';
import type { PromptOutcome } from '../../src/eval/types.js';
import type { StudyConfig } from '../../src/search/types.js';

const config: StudyConfig = {
  spaceFile: 'space.yaml',
  validationFile: 'val.jsonl',
  strategy: 'bfgs',
  seed: 3,
  budget: 2,
  maxEvals: 10,
  layers: 2,
  aggregators: ['A'],
  simulated: true,
  fidelity: { order: ['p1', 'p2', 'p3', 'p4'], levels: [2, 4], stride: 3 },
};
const mixture = { layers: 2, proposers: { A: 2, B: 1 }, aggregator: 'A', mode: 'synthesize' as const };

const outcome = (id: string, preference: number, source = id < 'p3' ? 'alpaca_eval' : 'arena_hard'): PromptOutcome => ({
  id, source, preference, candidateChars: 100, referenceChars: 100, costUsd: 0.001, tflops: 1, latencyProxyTflops: 1, promptTokens: 10, completionTokens: 20,
});

describe.each(backends())('StudyStore on $name', (backend) => {
  const opened: Storage[] = [];
  const open = async (location: string) => {
    const storage = await openStorage(location);
    opened.push(storage);
    return { storage, store: await StudyStore.open(storage) };
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('keeps several observations per mixture and aggregates them on the trial, across connections', async () => {
    const location = backend.fresh('study');
    const { storage, store } = await open(location);
    const s = await store.createStudy('s1', config);
    expect(s).toMatchObject({ name: 's1', state: 'RUNNING', spent: 0, config });
    await expect(store.createStudy('s1', config)).rejects.toThrow(StudyError);

    const t0 = await store.ensureTrial('s1', { kind: 'reference', strategy: 'reference', mixture: { layers: 1, aggregator: 'A', mode: 'synthesize' }, mixtureKey: 'k0', label: 'A' });
    expect(t0).toMatchObject({ number: 0, state: 'RUNNING', kind: 'reference' });
    const o0 = await store.startObservation('s1', 0, { purpose: 'reference', strategy: 'reference', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'], projectedUsd: 0.2 });
    await store.completeObservation('s1', o0.number, { score: 40, ci: [35, 45], spent: 0.1, spentCumulative: 0.1, calls: { made: 4, cached: 0 }, perPrompt: [outcome('p1', 0.4), outcome('p2', 0.4)] });

    // A mixture screened on level 2, promoted to level 4 (only its new prompts), then replicated at offset 3 on level 2.
    const t1 = await store.ensureTrial('s1', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k1', label: '2×A+B → A', posteriorMean: 50 });
    expect(t1.number).toBe(1);
    expect((await store.ensureTrial('s1', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k1', label: '2×A+B → A' })).number).toBe(1);
    const screen = await store.startObservation('s1', 1, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'] });
    await store.completeObservation('s1', screen.number, { score: 50, spent: 0.2, spentCumulative: 0.3, calls: { made: 6, cached: 0 }, perPrompt: [outcome('p1', 1), outcome('p2', 0)] });
    const promote = await store.startObservation('s1', 1, { purpose: 'promote', strategy: 'bfgs', fidelity: 4, sampleOffset: 0, promptIds: ['p3', 'p4'] });
    await store.completeObservation('s1', promote.number, { score: 75, spent: 0.2, spentCumulative: 0.5, calls: { made: 5, cached: 1 }, perPrompt: [outcome('p3', 1), outcome('p4', 0.5)] });
    const rep = await store.startObservation('s1', 1, { purpose: 'replicate', strategy: 'bfgs', fidelity: 2, sampleOffset: 3, promptIds: ['p1', 'p2'], note: 'KG 0.1' });
    expect(rep).toMatchObject({ number: 3, state: 'RUNNING', sampleOffset: 3, note: 'KG 0.1' });
    await store.completeObservation('s1', rep.number, { score: 50, spent: 0.1, spentCumulative: 0.6, calls: { made: 6, cached: 0 }, perPrompt: [outcome('p1', 0), outcome('p2', 1)] });
    // A failed measurement still books what it paid.
    const t2 = await store.ensureTrial('s1', { kind: 'search', strategy: 'bfgs', mixture: { ...mixture, proposers: { B: 3 } }, mixtureKey: 'k2', label: '3×B → A' });
    const bad = await store.startObservation('s1', t2.number, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'] });
    await store.failObservation('s1', bad.number, 'budget exceeded', { spent: 0.05 });
    await store.updateStudy('s1', { stopped: 'budget', state: 'COMPLETE' });
    // The study's spend is its ledger scope's.
    await storage.run("INSERT INTO ledger_scopes (scope, spent_usd, created_at, updated_at) VALUES (?, 0.65, moa_now_ms(), moa_now_ms())", [studyScope('s1')]);
    await storage.close();

    const { store: store2 } = await open(location);
    expect(await store2.getStudy('s1')).toMatchObject({ spent: 0.65, stopped: 'budget', state: 'COMPLETE' });
    const trials = await store2.listTrials('s1');
    expect(trials.map((t) => [t.number, t.state, t.measurements, t.prompts])).toEqual([[0, 'COMPLETE', 1, 2], [1, 'COMPLETE', 3, 4], [2, 'FAIL', 0, 0]]);
    const t = trials[1]!;
    // p1 and p2 were judged twice: their outcomes are averaged (0.5 each), p3 and p4 once.
    expect(t.perPrompt!.map((o) => [o.id, o.preference, o.replicates])).toEqual([['p1', 0.5, 2], ['p2', 0.5, 2], ['p3', 1, undefined], ['p4', 0.5, undefined]]);
    // Score: mean over sources of per-source means: alpaca (p1, p2) 50, arena (p3, p4) 75.
    expect(t.score).toBeCloseTo(62.5, 9);
    expect(t).toMatchObject({ spent: 0.5, spentCumulative: 0.6, calls: { made: 17, cached: 1 }, posteriorMean: 50 });
    expect(trials[2]).toMatchObject({ error: 'budget exceeded', spent: 0.05 });
    const obs = await store2.listObservations('s1');
    expect(obs.map((o) => [o.number, o.trial, o.purpose, o.fidelity, o.sampleOffset, o.state])).toEqual([
      [0, 0, 'reference', 2, 0, 'COMPLETE'],
      [1, 1, 'screen', 2, 0, 'COMPLETE'],
      [2, 1, 'promote', 4, 0, 'COMPLETE'],
      [3, 1, 'replicate', 2, 3, 'COMPLETE'],
      [4, 2, 'screen', 2, 0, 'FAIL'],
    ]);
    expect(obs[2]!.promptIds).toEqual(['p3', 'p4']);
    expect((await store2.listStudies()).map((x) => x.name)).toEqual(['s1']);
    expect(await store2.getStudy('nope')).toBeUndefined();
    expect(await store2.listTrials('nope')).toEqual([]);

    // The answer's estimates land on the trials; trials not given lose theirs.
    await store2.setEstimates('s1', new Map([[1, { mean: 60, sd: 2, ci: [56, 64] as [number, number], prompts: 4, measurements: 3, rank: 1 }]]));
    expect((await store2.getTrial('s1', 1))!.estimate).toMatchObject({ mean: 60, rank: 1 });
    await store2.setEstimates('s1', new Map());
    expect((await store2.getTrial('s1', 1))!.estimate).toBeUndefined();
  });

  it('restarts an unfinished measurement under its number and refuses to repeat a complete one', async () => {
    const { store } = await open(backend.fresh('restart'));
    await store.createStudy('s', config);
    await store.ensureTrial('s', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' });
    const a = await store.startObservation('s', 0, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'] });
    await store.startObservation('s', 0, { purpose: 'replicate', strategy: 'bfgs', fidelity: 2, sampleOffset: 3, promptIds: ['p1', 'p2'] });
    // The first left RUNNING (a killed process): starting it again reuses its number.
    const again = await store.startObservation('s', 0, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'] });
    expect(again.number).toBe(a.number);
    await store.completeObservation('s', a.number, { score: 1, perPrompt: [outcome('p1', 0), outcome('p2', 0.02)] });
    await expect(store.startObservation('s', 0, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1', 'p2'] })).rejects.toThrow(/complete already/);
    await expect(store.startObservation('s', 7, { purpose: 'screen', strategy: 'bfgs', fidelity: 2, sampleOffset: 0, promptIds: ['p1'] })).rejects.toThrow(/no trial 7/);
    await expect(store.ensureTrial('missing', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' })).rejects.toThrow(/not found/);
    // clearing `stopped` when resuming
    await store.updateStudy('s', { stopped: 'interrupted' });
    expect((await store.updateStudy('s', { stopped: undefined })).stopped).toBeUndefined();
  });

  it('claims a study with a lease: a live holder blocks, a dead one of this machine is taken over at once', async () => {
    const location = backend.fresh('claim');
    const { store } = await open(location);
    await store.createStudy('c', config);
    const lease = await store.claim('c');
    // Held by this process: a second claim (another session) is refused while the lease lives.
    await expect(store.claim('c')).rejects.toThrow(/is being run by process \d+ on .*; wait for it or stop it first/);
    await lease.release();
    // Another machine's holder is presumed alive until its lease lapses.
    const { storage } = await open(location);
    await storage.run("INSERT INTO leases (name, owner, token, ttl_ms, expires_at, acquired_at, renewed_at) VALUES ('study:c', 'elsewhere:4242:1.beef', 'x', 30000, moa_now_ms() + 30000, moa_now_ms(), moa_now_ms())");
    await expect(store.claim('c')).rejects.toThrow(/is being run by process 4242 on elsewhere/);
    // Expired: free. (A gone pid or a zombie of this machine is taken over before expiry: test/cli/search-cli.test.ts.)
    await storage.run("UPDATE leases SET expires_at = moa_now_ms() - 1 WHERE name = 'study:c'");
    await (await store.claim('c')).release();
  });
});

describe('StudyStore on a SQLite file of an older moa-search', () => {
  it('migrates it in place: trials without observations get one, the spend moves to the ledger, nothing is lost', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { CACHE_SCHEMA } = await import('../../src/executor/schema.js');
    const file = backends()[0]!.fresh('legacy');
    // The file as moa-search wrote it before the storage layer: a versioned cache, study tables of its own making.
    const old = new Database(file);
    old.exec(`CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at TEXT NOT NULL);
      INSERT INTO schema_versions VALUES ('cache', 1, '2025-01-01T00:00:00Z');
      ${(CACHE_SCHEMA.steps[0] as { sqlite: string }).sqlite}
      CREATE TABLE search_studies (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, config TEXT NOT NULL,
        state TEXT NOT NULL, stopped TEXT, spent REAL NOT NULL DEFAULT 0, owner TEXT);
      CREATE TABLE search_trials (study_name TEXT NOT NULL REFERENCES search_studies(name) ON DELETE CASCADE, number INTEGER NOT NULL,
        kind TEXT NOT NULL, strategy TEXT NOT NULL, mixture TEXT NOT NULL, mixture_key TEXT NOT NULL, label TEXT NOT NULL, state TEXT NOT NULL,
        result TEXT, error TEXT, started_at TEXT NOT NULL, finished_at TEXT, PRIMARY KEY (study_name, number), UNIQUE (study_name, mixture_key));`);
    const { fidelity: _, ...oldConfig } = config;
    old.prepare("INSERT INTO search_studies VALUES ('old', 't0', 't1', ?, 'COMPLETE', 'budget', 0.4, 'host:1')").run(JSON.stringify(oldConfig));
    const perPrompt = [outcome('p1', 1), outcome('p2', 0), outcome('p3', 1), outcome('p4', 0.5)];
    const insertTrial = old.prepare("INSERT INTO search_trials VALUES ('old', ?, 'search', 'bfgs', ?, ?, ?, ?, ?, ?, 't2', 't3')");
    insertTrial.run(0, JSON.stringify(mixture), 'k0', '2×A+B → A', 'COMPLETE', JSON.stringify({ score: 62.5, ci: [40, 80], perPrompt, spent: 0.3, calls: { made: 9, cached: 1 } }), null);
    insertTrial.run(1, JSON.stringify({ ...mixture, proposers: { B: 3 } }), 'k1', '3×B → A', 'FAIL', JSON.stringify({ spent: 0.1 }), 'budget exceeded');
    old.close();

    const storage = await openStorage(file, { migrate: false });
    try {
      const store = (await StudyStore.existing(storage))!;
      expect((await storage.schemaVersions()).get('study')).toBe(2);
      expect(await store.getStudy('old')).toMatchObject({ name: 'old', state: 'COMPLETE', stopped: 'budget', spent: 0.4, config: oldConfig });
      const obs = await store.listObservations('old');
      expect(obs.map((o) => [o.number, o.trial, o.purpose, o.fidelity, o.sampleOffset, o.state, o.promptIds.join()])).toEqual([[0, 0, 'screen', 4, 0, 'COMPLETE', 'p1,p2,p3,p4']]);
      const [t0, t1] = await store.listTrials('old');
      expect(t0).toMatchObject({ state: 'COMPLETE', score: 62.5, prompts: 4, measurements: 1, spent: 0.3, calls: { made: 9, cached: 1 } });
      expect(t1).toMatchObject({ state: 'FAIL', error: 'budget exceeded' });
      // The answer column the old table lacked is there, and opening again changes nothing.
      await store.updateStudy('old', { best: { trial: 0, score: 60, sd: 5, ci: [50, 70], prompts: 4, measurements: 1, validationPrompts: 4, posteriorMean: 60 } });
      await StudyStore.open(storage);
      expect(await store.listObservations('old')).toHaveLength(1);
      expect((await store.getStudy('old'))!.best).toMatchObject({ trial: 0, score: 60 });
    } finally {
      await storage.close();
    }
  });
});
