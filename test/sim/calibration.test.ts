import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadSpace, singleModelMixture } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/validation-set.js';
import { createSimProvider, createTruthOracle } from '../../src/sim/index.js';
import {
  calibrationReport,
  MOA_LITE,
  MOA_TARGETS,
  MOA_TOLERANCE,
  N_VALUES,
  Q110,
  SINGLE_TARGETS,
  SINGLE_TOLERANCE,
  SIX_IDS,
  WIZ,
} from '../../src/sim/calibration.js';
import { countSentences } from '../../src/sim/_text.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT } from '../helpers/cli.js';
import { runMixture } from './_mc.js';

// The calibration properties of issue 3 item 5, measured with the exact ground truth on sim-100 with the
// default judge (sim gpt-4o-mini). Tolerances: ±5 win-rate points for published numbers; shapes as stated.
const space = loadSpace(resolve(ROOT, 'search-spaces/sim-12.yaml'));
const items = loadValidationSet(SIM_VALIDATION_FILE);
const report = calibrationReport(createTruthOracle({ space, items }));

describe('calibration to the MoA paper and the leaderboards (±5 points)', () => {
  for (const [id, t] of Object.entries(SINGLE_TARGETS).filter(([, t]) => !t.estimated)) {
    it(`single model ${id}: AlpacaEval ${t.alpaca_eval}, Arena-Hard ${t.arena_hard}`, () => {
      expect(Math.abs(report.singles[id]!.alpaca_eval - t.alpaca_eval)).toBeLessThanOrEqual(SINGLE_TOLERANCE);
      expect(Math.abs(report.singles[id]!.arena_hard - t.arena_hard)).toBeLessThanOrEqual(SINGLE_TOLERANCE);
    });
  }
  for (const [name, t] of Object.entries(MOA_TARGETS)) {
    it(`${name}: AlpacaEval ≈ ${t.alpaca_eval}, Arena-Hard ≈ ${t.arena_hard}`, () => {
      const a = report.moa[name as keyof typeof MOA_TARGETS];
      expect(Math.abs(a.alpaca_eval - t.alpaca_eval)).toBeLessThanOrEqual(MOA_TOLERANCE);
      expect(Math.abs(a.arena_hard - t.arena_hard)).toBeLessThanOrEqual(MOA_TOLERANCE);
    });
  }
});

describe('the shapes of MoA Tables 3–4 and Figure 4', () => {
  it(`the score rises with the number of proposers (n = ${N_VALUES.join(', ')}), by at least 1 point a step`, () => {
    for (let k = 0; k + 1 < report.multi.length; k++) expect(report.multi[k + 1]! - report.multi[k]!).toBeGreaterThanOrEqual(1);
  });

  it('n different proposers beat n samples of one model (n = 2, 3, 6), by at least 1 point', () => {
    for (let k = 1; k < N_VALUES.length; k++) expect(report.multi[k]! - report.samples[k]!).toBeGreaterThanOrEqual(1);
  });

  it('WizardLM-2 is a strong proposer (the largest leave-one-out loss) but a weak aggregator', () => {
    const s = report.singles;
    expect(s[WIZ]!.alpaca_eval).toBeGreaterThan(s[Q110]!.alpaca_eval);
    for (const id of SIX_IDS.filter((x) => x !== WIZ)) expect(report.leaveOneOut[WIZ]!).toBeGreaterThan(report.leaveOneOut[id]!);
    expect(report.wizAggregates).toBeLessThan(report.q110Aggregates - 2);
    // Every other model gains a lot by aggregating the six; WizardLM-2 barely does.
    for (const id of SIX_IDS.filter((x) => x !== WIZ)) expect(report.aggregationGain[id]!).toBeGreaterThan(report.aggregationGain[WIZ]! + 10);
  });

  it('the aggregator moves the score more than a proposer (Figure 4: slopes 0.588 vs 0.281)', () => {
    expect(report.slopes.aggregator).toBeGreaterThan(report.slopes.proposer + 0.15);
  });

  it('the optimum is not "every model at max copies"', () => {
    expect(report.allMaxCopies).toBeLessThan(report.paperSearched - 3);
    expect(report.allMaxCopies).toBeLessThan(report.q110Aggregates - 3);
  });

  it('aggregated answers are longer than single answers', async () => {
    const p = createSimProvider({});
    const sub = items.filter((_, i) => i % 10 === 0);
    let single = 0;
    let agg = 0;
    for (const it of sub) {
      single += countSentences(await runMixture(p, space, singleModelMixture(Q110), it.prompt, 0.7, 0));
      agg += countSentences(await runMixture(p, space, MOA_LITE, it.prompt, 0.7, 0));
    }
    expect(agg / single).toBeGreaterThan(1.2);
  });
});
