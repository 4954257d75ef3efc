// Inputs shared by the benchmarks that generate SFT data (bench/generate.ts, bench/batch.ts): a pool of 1,000+
// realistic prompts and the default best mixture of the simulated world.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { uniformMixture, type Mixture, type SearchSpace } from '../src/config/index.js';
import { loadValidationSet } from '../src/eval/index.js';
import { PACKAGE_ROOT, SIM_VALIDATION_FILE } from '../src/paths.js';
import { createTruthOracle } from '../src/sim/index.js';

const SHARED = resolve(PACKAGE_ROOT, '../shared/data');

/**
 * At least `min` prompts as a `{"prompt"}` JSONL file in `dir`: the public benchmarks' instructions when ../shared
 * is here (read, never copied into the project), else sim-100's prompts with numbered variants.
 */
export function promptPool(dir: string, min: number): { file: string; origin: string } {
  const texts: string[] = [];
  let origin: string;
  if (existsSync(SHARED)) {
    const ae = JSON.parse(readFileSync(join(SHARED, 'alpaca_eval/results/gpt4_1106_preview/model_outputs.json'), 'utf8')) as Array<{ instruction: string }>;
    texts.push(...ae.map((r) => r.instruction));
    const ah = readFileSync(join(SHARED, 'arena-hard-v0.1/question.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string });
    texts.push(...ah.map((q) => q.prompt));
    origin = `AlpacaEval 2.0's ${ae.length} instructions, then Arena-Hard v0.1's ${ah.length} questions (../shared/data)`;
  } else {
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    for (let v = 1; texts.length < min; v++) texts.push(...items.map((it) => `${it.prompt} (variant ${v})`));
    origin = 'sim-100 prompts with numbered variants (../shared/data absent)';
  }
  const file = join(dir, 'prompts.jsonl');
  writeFileSync(file, [...new Set(texts)].map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n');
  return { file, origin };
}

/** The default best mixture: the ground-truth optimum over the space's two-layer mixtures of up to 3 copies per proposer. */
export function bestSimMixture(space: SearchSpace): Mixture {
  const oracle = createTruthOracle({ space, items: loadValidationSet(SIM_VALIDATION_FILE) });
  const proposers = space.models.filter((m) => m.roles.includes('proposer')).map((m) => m.id);
  let best: { m: Mixture; s: number } | undefined;
  const counts = proposers.map(() => 0);
  for (;;) {
    let i = 0;
    while (i < counts.length && counts[i] === 3) counts[i++] = 0;
    if (i === counts.length) break;
    counts[i]!++;
    const m = uniformMixture(Object.fromEntries(proposers.map((p, j) => [p, counts[j]!]).filter(([, n]) => (n as number) > 0)), space.search.aggregators![0]!);
    const s = oracle(m).score;
    if (!best || s > best.s) best = { m, s };
  }
  return best!.m;
}
