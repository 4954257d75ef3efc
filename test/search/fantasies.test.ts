import { describe, expect, it } from 'vitest';
import { mixtureKey, mixtureName, parseSpace, toMixtureFile } from '../../src/config/index.js';
import { searchDims, type Point } from '../../src/search/encoding.js';
import { withFantasies } from '../../src/search/fantasies.js';
import { promptsSeen, promptsToMeasure } from '../../src/search/fidelity.js';
import { STRATEGIES } from '../../src/search/strategies/index.js';
import type { Suggestion } from '../../src/search/strategies/types.js';
import { SyntheticStudy } from './_synthetic.js';

const models = Array.from({ length: 5 }, (_, i) => `  - { id: M${i}, provider: p, price: { input: 1, output: 1 }, maxCopies: 3 }`).join('\n');
const dims = searchDims(parseSpace(`providers:\n  p: { baseURL: "http://127.0.0.1:1/v1", keyless: true }\nmodels:\n${models}\nsearch: { layers: 2 }\n`, 'fantasy.yaml'));
const f = (p: Point) => 40 + p.counts.reduce((s, c, i) => s + (5 - i) * Math.sqrt(c), 0) - 0.3 * p.counts.reduce((a, b) => a + b, 0) ** 1.5;

/** Record a suggestion as another worker's measurement still running (no result yet). */
function startRunning(study: SyntheticStudy, s: Suggestion, seed: number): string {
  const key = mixtureKey(s.mixture);
  let trial = study.trials.find((t) => t.mixtureKey === key);
  if (!trial) {
    trial = { studyName: 't', number: study.trials.length, kind: 'search', strategy: 'bfgs', mixture: toMixtureFile(s.mixture), mixtureKey: key, label: mixtureName(s.mixture), state: 'RUNNING', startedAt: '', ...(s.posteriorMean !== undefined ? { posteriorMean: s.posteriorMean } : {}) };
    study.trials.push(trial);
  }
  const promptIds = promptsToMeasure(study.ctx(seed).fidelity, promptsSeen(study.observations, trial.number), s.fidelity, s.sampleOffset);
  study.observations.push({ studyName: 't', number: study.observations.length, trial: trial.number, purpose: s.purpose, strategy: 'bfgs', fidelity: s.fidelity, sampleOffset: s.sampleOffset, promptIds, state: 'RUNNING', startedAt: '' });
  return `${key}|${s.fidelity}|${s.sampleOffset}|${promptIds.join(',')}`;
}

describe('fantasies for running measurements', () => {
  it('takes a running measurement as complete at its believed score, on its prompts, without touching the view', () => {
    const study = new SyntheticStudy(dims, f, { seed: 1, prompts: 40 }).run(STRATEGIES.bfgs, 1, 4);
    const sug = STRATEGIES.bfgs.suggest(study.view, study.ctx(1))!;
    startRunning(study, sug, 1);
    const running = study.observations.at(-1)!;
    const view = withFantasies(study.view, study.items);
    const fantasy = view.observations.at(-1)!;
    const trial = study.trials.find((t) => t.number === running.trial)!;
    const believed = trial.state === 'COMPLETE' ? trial.score! : (trial.posteriorMean ?? fantasy.score!);
    expect(fantasy).toMatchObject({ state: 'COMPLETE', score: believed, promptIds: running.promptIds });
    expect(fantasy.perPrompt!.map((p) => p.id)).toEqual(running.promptIds);
    expect(fantasy.perPrompt!.every((p) => Math.abs(p.preference - believed / 100) < 1e-12)).toBe(true);
    expect(study.observations.at(-1)!.state).toBe('RUNNING');
  });

  // Without fantasies the four would be one and the same replicate (measured: a set of 1).
  it('lets bfgs choose four different measurements for four workers at once', () => {
    const study = new SyntheticStudy(dims, f, { seed: 1, prompts: 40 }).run(STRATEGIES.bfgs, 1, 10);
    const chosen = [];
    for (let w = 0; w < 4; w++) {
      const sug = STRATEGIES.bfgs.suggest(withFantasies(study.view, study.items), study.ctx(1));
      expect(sug).not.toBeNull();
      chosen.push(startRunning(study, sug!, 1));
    }
    expect(new Set(chosen).size).toBe(4);
    // None of them re-measures prompts another one is measuring.
    expect(chosen.every((c) => c.split('|')[3] !== '')).toBe(true);
  });
});
