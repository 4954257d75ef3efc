import { describe, expect, it } from 'vitest';
import { loadSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/index.js';
import { openStorage } from '../../src/executor/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { runSearch } from '../../src/search/run-search.js';
import { StudyStore } from '../../src/search/study-store.js';
import { mulberry32 } from '../../src/random.js';
import { STRATEGY_NAMES } from '../../src/search/strategies/index.js';

describe('the budget is a promise', () => {
  it('100 randomized searches with fidelity levels and replicates on the simulated world never exceed their budget', { timeout: 240_000 }, async () => {
    const space = loadSpace(SIM_SPACE_FILE);
    const all = loadValidationSet(SIM_VALIDATION_FILE);
    const rand = mulberry32(20251121);
    const stops = new Map<string, number>();
    const purposes = new Map<string, number>();
    let spentTotal = 0;
    for (let i = 0; i < 100; i++) {
      // Validation sets of 2–21 prompts (one fidelity level) or 50–70 (two) and budgets from a fraction of one measurement to dozens.
      const n = rand() < 0.5 ? 2 + Math.floor(rand() * 20) : 50 + Math.floor(rand() * 21);
      const start = Math.floor(rand() * (all.length - n));
      const items = all.slice(start, start + n);
      const budget = 0.0005 + rand() ** 1.5 * 3;
      const strategy = STRATEGY_NAMES.filter((s) => s !== 'exhaustive')[Math.floor(rand() * 4)]!;
      const storage = await openStorage(':memory:');
      const out = await runSearch({
        space,
        items,
        storage,
        studyName: `s${i}`,
        config: { spaceFile: SIM_SPACE_FILE, validationFile: 'random subset', strategy, seed: i, budget, ...(rand() < 0.35 ? { maxEvals: 1 + Math.floor(rand() * 8) } : {}), layers: 2, aggregators: [], simulated: true },
        references: rand() < 0.5,
        concurrency: 1 + Math.floor(rand() * 4),
      });
      const ctx = `search ${i}: ${strategy}, ${items.length} prompts, budget $${budget.toFixed(5)}`;
      expect(out.spent, ctx).toBeLessThanOrEqual(budget);
      const store = await StudyStore.open(storage);
      expect((await store.getStudy(`s${i}`))!.spent, ctx).toBeLessThanOrEqual(budget);
      // Every paid call is booked on some measurement: their spends add up to the study's, and so do the trials'.
      const obs = await store.listObservations(`s${i}`);
      expect(obs.reduce((a, o) => a + (o.spent ?? 0), 0), ctx).toBeCloseTo(out.spent, 9);
      expect((await store.listTrials(`s${i}`)).reduce((a, t) => a + (t.spent ?? 0), 0), ctx).toBeCloseTo(out.spent, 9);
      for (const o of obs) purposes.set(o.purpose, (purposes.get(o.purpose) ?? 0) + 1);
      stops.set(out.stopped, (stops.get(out.stopped) ?? 0) + 1);
      spentTotal += out.spent;
      await storage.close();
    }
    // The sample must exercise the budget stop, max-evals, promotions and replicates, not only screens.
    expect(stops.get('budget') ?? 0).toBeGreaterThan(20);
    expect(stops.get('max-evals') ?? 0).toBeGreaterThan(5);
    expect(purposes.get('promote') ?? 0).toBeGreaterThan(5);
    expect(purposes.get('replicate') ?? 0).toBeGreaterThan(5);
    expect(spentTotal).toBeGreaterThan(0);
  });
});
