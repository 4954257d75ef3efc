import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudyError, StudyStore } from '../../src/search/study-store.js';
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
};
const mixture = { layers: 2, proposers: { A: 2, B: 1 }, aggregator: 'A', mode: 'synthesize' as const };

describe('StudyStore', () => {
  it('round-trips studies and trials through a file, across connections', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'moa-study-')), 'db.sqlite');
    const db = new Database(file);
    const store = new StudyStore(db);
    const s = store.createStudy('s1', config);
    expect(s).toMatchObject({ name: 's1', state: 'RUNNING', spent: 0, config });
    expect(() => store.createStudy('s1', config)).toThrow(StudyError);

    const t0 = store.startTrial('s1', { kind: 'reference', strategy: 'reference', mixture: { layers: 1, aggregator: 'A', mode: 'synthesize' }, mixtureKey: 'k0', label: 'A' });
    expect(t0).toMatchObject({ number: 0, state: 'RUNNING', kind: 'reference' });
    store.completeTrial('s1', 0, { score: 40, ci: [35, 45], spent: 0.1, spentCumulative: 0.1, calls: { made: 4, cached: 0 } });
    const t1 = store.startTrial('s1', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k1', label: '2×A+B → A', posteriorMean: 50 });
    expect(t1.number).toBe(1);
    store.failTrial('s1', 1, 'budget exceeded', { spent: 0.05 });
    store.updateStudy('s1', { spent: 0.15, stopped: 'budget', state: 'COMPLETE' });
    db.close();

    const store2 = new StudyStore(new Database(file));
    expect(store2.getStudy('s1')).toMatchObject({ spent: 0.15, stopped: 'budget', state: 'COMPLETE' });
    const trials = store2.listTrials('s1');
    expect(trials.map((t) => [t.number, t.state])).toEqual([[0, 'COMPLETE'], [1, 'FAIL']]);
    expect(trials[0]).toMatchObject({ score: 40, ci: [35, 45], calls: { made: 4, cached: 0 } });
    expect(trials[0]!.finishedAt).toBeTruthy();
    expect(trials[1]).toMatchObject({ mixture, error: 'budget exceeded', posteriorMean: 50, spent: 0.05 });
    expect(store2.listStudies().map((x) => x.name)).toEqual(['s1']);
    expect(store2.getStudy('nope')).toBeUndefined();
    expect(store2.listTrials('nope')).toEqual([]);
  });

  it('restarts an unfinished trial under its number and refuses to repeat a complete one', () => {
    const store = new StudyStore(new Database(':memory:'));
    store.createStudy('s', config);
    store.startTrial('s', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' });
    store.startTrial('s', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k2', label: 'y' });
    // trial 0 left RUNNING (a killed process): starting it again reuses number 0
    const again = store.startTrial('s', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' });
    expect(again.number).toBe(0);
    store.completeTrial('s', 0, { score: 1 });
    expect(() => store.startTrial('s', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' })).toThrow(/complete already/);
    expect(() => store.startTrial('missing', { kind: 'search', strategy: 'bfgs', mixture, mixtureKey: 'k', label: 'x' })).toThrow(/not found/);
    // clearing `stopped` when resuming
    store.updateStudy('s', { stopped: 'interrupted' });
    expect(store.updateStudy('s', { stopped: undefined }).stopped).toBeUndefined();
  });
});

describe('StudyStore.claim', () => {
  it('refuses a study another live process runs, and takes over a dead owner', async () => {
    const { hostname } = await import('node:os');
    const db = new Database(':memory:');
    const store = new StudyStore(db);
    store.createStudy('c', config);
    store.claim('c');
    store.claim('c'); // the same process may claim again
    // A live other process (our parent) owns it: refused.
    db.prepare('UPDATE search_studies SET owner = ? WHERE name = ?').run(`${hostname()}:${process.ppid}`, 'c');
    expect(() => store.claim('c')).toThrow(/is being run by process/);
    // A dead owner (kill -9): taken over.
    db.prepare('UPDATE search_studies SET owner = ? WHERE name = ?').run(`${hostname()}:999999999`, 'c');
    store.claim('c');
    store.release('c');
    expect((db.prepare('SELECT owner FROM search_studies').get() as { owner: string | null }).owner).toBeNull();
  });
});
