import { describe, expect, it } from 'vitest';
import { loadSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openDatabase } from '../../src/executor/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { runSearch } from '../../src/search/run-search.js';
import { StudyStore } from '../../src/search/study-store.js';
import { mulberry32 } from '../../src/random.js';
import { STRATEGY_NAMES } from '../../src/search/strategies/index.js';

describe('the budget is a promise', () => {
  it('100 randomized small searches on the simulated world never exceed their budget', async () => {
    const space = loadSpace(SIM_SPACE_FILE);
    const all = loadValidationSet(SIM_VALIDATION_FILE);
    const rand = mulberry32(20251121);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const stops = new Map<string, number>();
    let spentTotal = 0;
    for (let i = 0; i < 100; i++) {
      // Tiny validation sets (1–3 prompts) and budgets from a fraction of one trial to several trials.
      const n = 1 + Math.floor(rand() * 3);
      const items = Array.from({ length: n }, () => pick(all)).filter((x, j, xs) => xs.indexOf(x) === j);
      const budget = 0.0005 + rand() * rand() * 0.06;
      const strategy = pick(STRATEGY_NAMES.filter((s) => s !== 'exhaustive'));
      const db = openDatabase(':memory:');
      const out = await runSearch({
        space,
        items,
        db,
        studyName: `s${i}`,
        config: { spaceFile: SIM_SPACE_FILE, validationFile: 'random subset', strategy, seed: i, budget, maxEvals: 1 + Math.floor(rand() * 4), layers: 2, aggregators: [], simulated: true },
        references: rand() < 0.5,
        concurrency: 1 + Math.floor(rand() * 4),
      });
      const ctx = `search ${i}: ${strategy}, ${items.length} prompts, budget $${budget.toFixed(5)}`;
      expect(out.spent, ctx).toBeLessThanOrEqual(budget);
      const store = new StudyStore(db);
      expect(store.getStudy(`s${i}`)!.spent, ctx).toBeLessThanOrEqual(budget);
      // Every paid call is booked on some trial: trial spends add up to the study's.
      const trialSpend = store.listTrials(`s${i}`).reduce((a, t) => a + (t.spent ?? 0), 0);
      expect(trialSpend, ctx).toBeCloseTo(out.spent, 9);
      stops.set(out.stopped, (stops.get(out.stopped) ?? 0) + 1);
      spentTotal += out.spent;
      db.close();
    }
    // The sample must exercise the budget stop, not only max-evals.
    expect(stops.get('budget') ?? 0).toBeGreaterThan(20);
    expect(stops.get('max-evals') ?? 0).toBeGreaterThan(5);
    expect(spentTotal).toBeGreaterThan(0);
  });
});
