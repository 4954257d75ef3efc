// The simulated world's release: sim-release.yaml is sim.yaml plus Llama 3.1 405B, calibrated like the other
// open models, and strong enough as an aggregator to move the optimum. The numbers docs/sim-world.md states
// (from `npm run bench:sim`, which enumerates all 32,766 mixtures) are checked here against the exact truth.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadSpace, parseSpace, singleModelMixture, uniformMixture, type ModelCounts } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/validation-set.js';
import { createSimProvider, createTruthOracle } from '../../src/sim/index.js';
import { RELEASE_TARGETS, SINGLE_TOLERANCE } from '../../src/sim/calibration.js';
import { rankAllMixtures, rankOf, searchedAggregators } from '../../src/sim/truth-landscape.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT } from '../helpers/cli.js';

const NEW = 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo';
const Q110 = 'Qwen/Qwen1.5-110B-Chat';
const Q72 = 'Qwen/Qwen1.5-72B-Chat';
const WIZ = 'microsoft/WizardLM-2-8x22B';
const LLAMA = 'meta-llama/Llama-3-70b-chat-hf';

const sim = loadSpace(SIM_SPACE_FILE);
const release = loadSpace(resolve(ROOT, 'search-spaces/sim-release.yaml'));
const items = loadValidationSet(SIM_VALIDATION_FILE);
const oracle = createTruthOracle({ space: release, items });
const score = (counts: ModelCounts, agg: string) => oracle(uniformMixture(counts, agg, 2)).score;

describe('sim-release.yaml', () => {
  it('is sim.yaml plus the released model, as proposer and searched aggregator', () => {
    const ids = (s: typeof sim) => s.models.map((m) => m.id);
    expect(ids(release).filter((id) => !ids(sim).includes(id))).toEqual([NEW]);
    for (const m of sim.models) expect(release.models.find((x) => x.id === m.id), m.id).toEqual(m);
    const added = release.models.find((m) => m.id === NEW)!;
    expect(added.roles).toEqual(['proposer', 'aggregator']);
    expect(added.maxCopies).toBe(3);
    expect(release.search.aggregators).toEqual([...sim.search.aggregators!, NEW]);
    expect({ ...release, models: [], search: {}, name: '', file: '' }).toEqual({ ...sim, models: [], search: {}, name: '', file: '' });
  });

  it(`the new model's single scores are its published ones (AlpacaEval ${RELEASE_TARGETS[NEW]!.alpaca_eval}, Arena-Hard ${RELEASE_TARGETS[NEW]!.arena_hard}) ±${SINGLE_TOLERANCE}`, () => {
    const r = oracle(singleModelMixture(NEW)).bySource;
    expect(Math.abs(r.alpaca_eval! - RELEASE_TARGETS[NEW]!.alpaca_eval)).toBeLessThanOrEqual(SINGLE_TOLERANCE);
    expect(Math.abs(r.arena_hard! - RELEASE_TARGETS[NEW]!.arena_hard)).toBeLessThanOrEqual(SINGLE_TOLERANCE);
  });

  it('moves the optimum: the documented new optimum (82.00) has no better neighbour, and the old one (71.33) falls 10.67 behind', () => {
    const best: ModelCounts = { [Q110]: 3, [WIZ]: 3 };
    const top = score(best, NEW);
    expect(top).toBeCloseTo(82.0, 2);
    // Local optimality over the search's moves: one copy more or less of any proposer, or the other aggregator.
    const proposers = release.models.filter((m) => m.roles.includes('proposer'));
    for (const m of proposers) {
      for (const d of [-1, 1]) {
        const n = (best[m.id] ?? 0) + d;
        if (n < 0 || n > m.maxCopies) continue;
        const c = { ...best, [m.id]: n };
        expect(score(c, NEW), `${m.id} ${d > 0 ? '+' : ''}${d}`).toBeLessThan(top);
      }
    }
    expect(score(best, Q110)).toBeLessThan(top - 5);
    const oldBest: ModelCounts = { [Q72]: 2, [LLAMA]: 1, [WIZ]: 3 };
    const old = createTruthOracle({ space: sim, items })(uniformMixture(oldBest, Q110, 2)).score;
    expect(old).toBeCloseTo(71.33, 2);
    // The old space's models behave the same in the new space: the old best keeps its score.
    expect(score(oldBest, Q110)).toBeCloseTo(old, 10);
    expect(top - old).toBeCloseTo(10.67, 1);
    // The best mixture the old aggregator can make improves too, by using the new model as a proposer.
    expect(score({ [NEW]: 3, [WIZ]: 3 }, Q110)).toBeCloseTo(73.6, 1);
  });

  it('the sim answers a model by its real id as by its sim name (a model imported from a catalog needs no upstream)', async () => {
    const p = createSimProvider({});
    const req = { messages: [{ role: 'user' as const, content: 'Name three uses of a paperclip.' }], temperature: 0.7, seed: 1 };
    const byName = await p.complete({ ...req, model: 'sim-llama-3.1-405b-instruct' });
    const byId = await p.complete({ ...req, model: NEW });
    expect(byId.text).toBe(byName.text);
    const text = `providers: { sim: { kind: sim } }\nmodels:\n  - { id: ${NEW}, provider: sim, price: { input: 5, output: 5 } }\n  - { id: gpt-4o-mini-2024-07-18, provider: sim, price: { input: 0.15, output: 0.6 }, roles: [judge] }\njudge: { model: gpt-4o-mini-2024-07-18 }\n`;
    const noUpstream = createTruthOracle({ space: parseSpace(text), items })(singleModelMixture(NEW));
    expect(noUpstream.score).toBeCloseTo(oracle(singleModelMixture(NEW)).score, 10);
  });
});

describe('rankAllMixtures', () => {
  it('scores every mixture of the box under each searched aggregator, best first', () => {
    const text = `providers: { sim: { kind: sim } }
models:
  - { id: a, upstream: sim-qwen1.5-72b-chat, provider: sim, price: { input: 1, output: 1 }, maxCopies: 2 }
  - { id: b, upstream: sim-dbrx-instruct, provider: sim, price: { input: 1, output: 1 }, maxCopies: 1 }
  - { id: j, upstream: sim-gpt-4o-mini-2024-07-18, provider: sim, price: { input: 1, output: 1 }, roles: [judge] }
search: { layers: 2, aggregators: [a, b] }
judge: { model: j }
`;
    const space = parseSpace(text);
    const few = items.filter((_, i) => i % 20 === 0);
    const ranked = rankAllMixtures(space, few);
    expect(searchedAggregators(space)).toEqual(['a', 'b']);
    expect(ranked).toHaveLength(2 * (3 * 2 - 1));
    for (let i = 1; i < ranked.length; i++) expect(ranked[i]!.score).toBeLessThanOrEqual(ranked[i - 1]!.score);
    const direct = createTruthOracle({ space, items: few });
    for (const x of ranked) expect(x.score).toBe(direct(uniformMixture(x.counts, x.aggregator, 2)).score);
    expect(new Set(ranked.map((x) => `${x.aggregator}:${JSON.stringify(x.counts)}`)).size).toBe(ranked.length);
    expect(rankOf(ranked, ranked[3]!.counts, ranked[3]!.aggregator)).toBe(4);
    expect(rankOf(ranked, { a: 5 }, 'a')).toBe(0);
  });
});
