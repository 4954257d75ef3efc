import { describe, expect, it } from 'vitest';
import { ProgressView } from '../../src/cli/search-progress.js';
import type { TrialRecord } from '../../src/search/types.js';

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
    v.handle({ type: 'trial-start', trial: trial(), searchIndex: 1, projectedUsd: 0.5, resumed: false });
    v.handle({ type: 'prompt', trial: trial(), done: 3, total: 8 });
    v.handle({ type: 'spend', spent: 0.25, budget: 1, made: 30, cached: 10 });
    const done = trial({ state: 'COMPLETE', score: 61.5, ci: [55, 68] });
    v.handle({ type: 'trial-end', trial: done, best: done });
    v.handle({ type: 'stop', reason: 'max-evals', detail: '1 search trial' });
  };

  it('prints plain lines on a pipe', () => {
    const s = sink(false);
    events(new ProgressView(s.out, 5));
    expect(s.text()).not.toMatch(/\r|\x1b/);
    expect(s.text()).toMatch(/^trial 1\/5: A → A — projected \$0\.5000$/m);
    expect(s.text()).toMatch(/→ 61\.5 \[55\.0, 68\.0\]; best 61\.5 ±6\.5; spent \$0\.2500\/\$1\.00; cache 25%/);
    expect(s.text()).toMatch(/stopped \(max-evals\): 1 search trial/);
  });

  it('rewrites one live line on a terminal', () => {
    const s = sink(true);
    events(new ProgressView(s.out, 5));
    expect(s.text()).toMatch(/\r\x1b\[Ktrial 1\/5 · prompts 3\/8 · spent \$0\.2500\/\$1\.00 · cache 25% · A → A/);
    expect(s.text()).toMatch(/trial 1\/5: A → A → 61\.5 \[55\.0, 68\.0\]\n/);
  });
});
