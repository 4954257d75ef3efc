import { describe, expect, it } from 'vitest';
import { ProgressView } from '../../src/cli/search-progress.js';
import type { ObservationRecord, TrialRecord } from '../../src/search/types.js';

const trial = (over: Partial<TrialRecord> = {}): TrialRecord => ({
  studyName: 's', number: 1, kind: 'search', strategy: 'bfgs', mixture: { layers: 2, proposers: { A: 1 }, aggregator: 'A', mode: 'synthesize' },
  mixtureKey: 'k', label: 'A → A', state: 'RUNNING', startedAt: '', ...over,
});

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, columns: 200, write: (s: string) => (chunks.push(s), true) }, text: () => chunks.join('') };
}

describe('ProgressView', () => {
  const events = (v: ProgressView) => {
    const observation: ObservationRecord = { studyName: 's', number: 3, trial: 1, purpose: 'promote', strategy: 'bfgs', fidelity: 25, sampleOffset: 0, promptIds: Array.from({ length: 13 }, (_, i) => `p${i}`), state: 'RUNNING', startedAt: '' };
    v.handle({ type: 'trial-start', trial: trial(), observation, searchIndex: 1, projectedUsd: 0.5, resumed: false });
    v.handle({ type: 'prompt', trial: trial(), done: 3, total: 8 });
    v.handle({ type: 'spend', spent: 0.25, budget: 1, made: 30, cached: 10 });
    const done = trial({ state: 'COMPLETE', score: 61.5, ci: [55, 68], prompts: 25, measurements: 2 });
    v.handle({ type: 'trial-end', trial: done, observation: { ...observation, state: 'COMPLETE' }, best: done });
    v.handle({ type: 'stop', reason: 'max-evals', detail: '1 search measurement' });
  };

  it('prints plain lines on a pipe', () => {
    const s = sink(false);
    events(new ProgressView(s.out, 5));
    expect(s.text()).not.toMatch(/\r|\x1b/);
    expect(s.text()).toMatch(/^measurement 1\/5: A → A \(promote, 13 prompts\) — projected \$0\.5000$/m);
    expect(s.text()).toMatch(/→ 61\.5 \[55\.0, 68\.0\] on 25 prompts \(2 measurements\); leader 61\.5 ±6\.5 on 25 prompts; spent \$0\.2500\/\$1\.00; cache 25%/);
    expect(s.text()).toMatch(/stopped \(max-evals\): 1 search measurement/);
  });

  it('rewrites one live line on a terminal', () => {
    const s = sink(true);
    events(new ProgressView(s.out, 5));
    expect(s.text()).toMatch(/\r\x1b\[Kmeasurement 1\/5 · prompts 3\/8 · spent \$0\.2500\/\$1\.00 · cache 25% · A → A/);
    expect(s.text()).toMatch(/measurement 1\/5: A → A → 61\.5 \[55\.0, 68\.0\] on 25 prompts \(2 measurements\)\n/);
  });
});
