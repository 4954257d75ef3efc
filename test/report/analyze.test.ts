import { describe, expect, it } from 'vitest';
import { analyzeStudy } from '../../src/report/index.js';
import { reportData, buildTrials, STUDY } from './_fixtures.js';

describe('analyzeStudy', () => {
  const a = analyzeStudy(reportData());

  it('recommends the best completed trial and lists failed ones apart', () => {
    const best = Math.max(...a.points.map((p) => p.quality));
    expect(a.recommended!.quality).toBe(best);
    expect(a.points).toHaveLength(15);
    expect(a.unfinished.map((t) => t.state)).toEqual(['FAIL']);
  });

  it("recommends the search's own answer (best posterior mean) when the study recorded one", () => {
    const data = reportData();
    const top = Math.max(...a.points.map((p) => p.quality));
    const other = a.points.find((p) => p.kind === 'search' && p.quality < top)!;
    const q = other.quality - 1;
    const best = { trial: other.number, score: q, sd: 2, ci: [q - 4, q + 4] as [number, number], prompts: 60, measurements: 1, validationPrompts: 60, posteriorMean: q };
    const b = analyzeStudy({ ...data, study: { ...data.study, best } });
    expect(b.recommended!.number).toBe(other.number);
    expect(b.recommended!.quality).toBeLessThan(top);
  });

  it('compares with the best single model and MoA-Lite by paired difference', () => {
    const single = a.comparisons.find((c) => c.role === 'best single model')!;
    const singles = a.points.filter((p) => p.single);
    expect(single.against.quality).toBe(Math.max(...singles.map((p) => p.quality)));
    expect(single.n).toBe(60);
    expect(single.ci![0]).toBeLessThanOrEqual(single.diff);
    expect(single.ci![1]).toBeGreaterThanOrEqual(single.diff);
    const lite = a.comparisons.find((c) => c.role === 'MoA-Lite')!;
    expect(lite.against.label).toMatch(/→ Q72$/);
    expect(lite.against.moaLite).toBe(true);
  });

  it('flags mixtures with an unknown parameter count and keeps them off the TFLOPs front only', () => {
    expect(a.unknownParams).toEqual(['gpt-4o-2024-05-13']);
    const gpt = a.points.filter((p) => p.unknownParams.length);
    expect(gpt).toHaveLength(2);
    for (const p of gpt) {
      expect(p.tflopsStatus).toBe('excluded');
      expect(p.latencyProxy).toBeNull();
      expect(p.costStatus).not.toBe('excluded');
    }
  });

  it('labels points with the short mixture name', () => {
    expect(a.points.map((p) => p.label)).toContain('Q110+3×Llama3-70B+Wiz → Q110');
  });

  it('builds a monotone best-so-far history over cumulative spend', () => {
    expect(a.history).toHaveLength(15);
    for (let i = 1; i < a.history.length; i++) {
      expect(a.history[i]!.spent).toBeGreaterThan(a.history[i - 1]!.spent);
      expect(a.history[i]!.bestSoFar).toBeGreaterThanOrEqual(a.history[i - 1]!.bestSoFar);
    }
    expect(a.history.at(-1)!.bestSoFar).toBe(a.recommended!.quality);
  });

  it('offers a cheaper front mixture only when the paired test cannot tell it apart', () => {
    const alt = a.cheaperAlternative;
    if (alt) {
      expect(alt.against.costPerQuery!).toBeLessThan(a.recommended!.costPerQuery!);
      expect(alt.against.costStatus).toBe('front');
      expect(alt.distinguishable).toBe(false);
    }
    // identical outcomes for a cheaper mixture make it indistinguishable by construction
    const trials = buildTrials();
    const rec = trials.find((t) => t.number === a.recommended!.number)!;
    const twin = { ...rec, number: 99, mixtureKey: 'twin', mixture: { ...trials[0]!.mixture }, costPerQuery: 1e-9, score: rec.score! - 0.01 };
    const b = analyzeStudy({ study: STUDY, trials: [...trials, twin] });
    expect(b.cheaperAlternative?.against.number).toBe(99);
  });

  it('handles a study with no completed trial', () => {
    const empty = analyzeStudy({ study: STUDY, trials: [] });
    expect(empty.recommended).toBeUndefined();
    expect(empty.costFront.front).toEqual([]);
  });
});
