import { afterAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadMixture, loadSpace, singleModelMixture, type Mixture } from '../../src/config/index.js';
import { evaluateMixture, loadValidationSet } from '../../src/eval/index.js';
import { openExecutor } from '../../src/executor/index.js';
import { simTruth } from '../../src/sim/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT } from '../helpers/cli.js';

// The whole stack on the simulated world: the project's engine, executor (in-memory cache) and judges —
// built-in templates and the official AlpacaEval / Arena-Hard ones — score mixtures close to the ground truth.
// Tolerance: the evaluation is one noisy draw of 100 prompts; |eval − truth| must be under 7 points and inside
// the evaluation's own 95% interval widened by 2 points.
const space = loadSpace(SIM_SPACE_FILE);
const items = loadValidationSet(SIM_VALIDATION_FILE);
const executors: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const e of executors) await e.close();
});

async function check(mixture: Mixture, judge = space.judge) {
  const executor = await openExecutor({ space });
  executors.push(executor);
  const r = await evaluateMixture({ mixture, space, items, executor, judge });
  const t = simTruth({ space, items, mixture });
  expect(r.failures).toEqual({ generation: 0, judgeUnparsed: 0, truncated: 0 });
  expect(Math.abs(r.score - t.score)).toBeLessThan(7);
  expect(t.score).toBeGreaterThan(r.ci[0] - 2);
  expect(t.score).toBeLessThan(r.ci[1] + 2);
  return r;
}

describe('evaluation of sim mixtures agrees with simTruth', () => {
  it('a single model and MoA-Lite, built-in judge templates', async () => {
    await check(singleModelMixture('meta-llama/Llama-3-70b-chat-hf'));
    const lite = await check(loadMixture(resolve(ROOT, 'search-spaces/examples/moa-lite.json'), space));
    // With the cheap default judge one MoA-Lite evaluation costs well under a dollar.
    expect(lite.spent.total).toBeLessThan(0.6);
    expect(lite.spent.judge).toBeLessThan(0.05);
  });

  it('the official AlpacaEval and Arena-Hard judge templates', async () => {
    const judge = {
      ...space.judge!,
      templates: {
        alpaca_eval: resolve(ROOT, '../shared/data/alpaca_eval/judge_prompt_alpaca_eval_clf.txt'),
        arena_hard: resolve(ROOT, '../shared/data/arena-hard-v0.1/legacy_format_2024/judge_config.yaml'),
      },
    };
    await check(loadMixture(resolve(ROOT, 'search-spaces/examples/paper-searched.json'), space), judge);
  });
});
