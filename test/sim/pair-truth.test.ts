import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { simAnswerTruth, simComplete, simPairTruth, simPreferenceSet, SimTruthError } from '../../src/sim/index.js';
import { ROOT } from '../helpers/cli.js';

const space = loadSpace(resolve(ROOT, 'search-spaces/sim.yaml'));
const items = loadValidationSet(SIM_VALIDATION_FILE);
const answer = (model: string, prompt: string, seed: number) => simComplete({ model, messages: [{ role: 'user', content: prompt }], temperature: 0.7, seed }).text;

describe('sim ground truth for a pair of answers', () => {
  it('scores what an answer states, once per distinct claim, and orders the pair', () => {
    const p = items[0]!.prompt;
    const a = answer('sim-wizardlm-2-8x22b', p, 1);
    const b = answer('sim-dbrx-instruct', p, 2);
    const ta = simAnswerTruth(p, a);
    // Repeating the answer's text repeats its claims, which count once: the same truth.
    expect(simAnswerTruth(p, `${a}\n\n${a}`)).toEqual(ta);
    const t = simPairTruth(p, a, b);
    const flipped = simPairTruth(p, b, a);
    expect(flipped.preference).toBe(1 - t.preference);
    expect(t.better).toBe(ta.quality > t.b.quality ? 'a' : ta.quality < t.b.quality ? 'b' : 'tie');
    expect(ta.points + ta.misconceptions).toBeGreaterThan(0);
  });

  it('is what the models\' skills predict: a stronger model\'s answers are truly better on average', () => {
    const mean = (m: string) => items.reduce((s, it, i) => s + simAnswerTruth(it.prompt, answer(m, it.prompt, i)).quality, 0) / items.length;
    // WizardLM-2 is the strongest sim proposer, DBRX the weakest (docs/sim-world.md).
    expect(mean('sim-wizardlm-2-8x22b')).toBeGreaterThan(mean('sim-dbrx-instruct') + 3);
  });

  it('refuses text the sim did not write for this prompt', () => {
    expect(() => simAnswerTruth(items[0]!.prompt, 'A real model wrote this.')).toThrow(SimTruthError);
    expect(() => simAnswerTruth(items[1]!.prompt, answer('sim-dbrx-instruct', items[0]!.prompt, 0))).toThrow(/not a simulated answer to this prompt/);
  });

  it('builds preference sets of decisive, truth-labelled pairs, deterministically, in both orders', () => {
    const set = simPreferenceSet({ space, prompts: items.slice(0, 20), pairs: 60 });
    expect(set).toHaveLength(60);
    expect(simPreferenceSet({ space, prompts: items.slice(0, 20), pairs: 60 })).toEqual(set);
    for (const x of set) expect(x.preference).toBe(simPairTruth(x.prompt, x.output_1, x.output_2).preference);
    const second = set.filter((x) => x.preference === 1).length;
    expect(second).toBeGreaterThan(15);
    expect(second).toBeLessThan(45);
    expect(new Set(set.map((x) => x.source))).toEqual(new Set(['alpaca_eval']));
    expect(simPreferenceSet({ space, prompts: items.slice(0, 20), pairs: 60, seed: 1 })).not.toEqual(set);
  });
});
