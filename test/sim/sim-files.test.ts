import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadMixture, loadSpace, modelsWithRole, uniformMixture } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/validation-set.js';
import { createTruthOracle, getProfile } from '../../src/sim/index.js';
import { writeSimFiles } from '../../src/sim/sim-files.js';
import { promptKey, promptKind } from '../../src/sim/_world.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT } from '../helpers/cli.js';

describe('the offline default files', () => {
  it('are exactly what bench/make-sim-files.ts regenerates', () => {
    for (const [file, text] of Object.entries(writeSimFiles(ROOT))) expect(readFileSync(resolve(ROOT, file), 'utf8'), file).toBe(text);
  });

  it('sim-100: 50 AlpacaEval-style and 50 Arena-Hard-style prompts, varied categories', () => {
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    expect(items).toHaveLength(100);
    const ae = items.filter((i) => i.source === 'alpaca_eval');
    const ah = items.filter((i) => i.source === 'arena_hard');
    expect(ae).toHaveLength(50);
    expect(ah).toHaveLength(50);
    expect(ae.every((i, k) => i.id === `sim-ae-${String(k + 1).padStart(3, '0')}`)).toBe(true);
    expect(ah.every((i, k) => i.id === `sim-ah-${String(k + 1).padStart(3, '0')}`)).toBe(true);
    // The sim tells the two kinds apart by length (≥ 40 words = Arena-style): every item agrees with its source.
    expect(ae.every((i) => promptKind(i.prompt) === 'alpaca')).toBe(true);
    expect(ah.every((i) => promptKind(i.prompt) === 'arena')).toBe(true);
    expect(new Set(items.map((i) => i.category)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(items.map((i) => i.prompt)).size).toBe(100);
    // Distinct prompt keys: no two prompts share hidden facts.
    expect(new Set(items.map((i) => promptKey(i.prompt))).size).toBe(100);
  });

  it('sim.yaml: the six MoA proposers (maxCopies 3), its two strongest aggregators searched, a cheap judge', () => {
    expect(SIM_SPACE_FILE).toBe(resolve(ROOT, 'search-spaces/sim.yaml'));
    const space = loadSpace(SIM_SPACE_FILE);
    const proposers = modelsWithRole(space, 'proposer');
    expect(proposers.map((m) => m.id).sort()).toEqual(
      ['Qwen/Qwen1.5-110B-Chat', 'Qwen/Qwen1.5-72B-Chat', 'databricks/dbrx-instruct', 'meta-llama/Llama-3-70b-chat-hf', 'microsoft/WizardLM-2-8x22B', 'mistralai/Mixtral-8x22B-Instruct-v0.1'].sort(),
    );
    expect(proposers.every((m) => m.maxCopies === 3)).toBe(true);
    expect(space.search.aggregators).toEqual(['meta-llama/Llama-3-70b-chat-hf', 'gpt-4o-2024-05-13']);
    // The two strongest: a strong mixture (3×Q110 + 3×Wiz) is truly best under them among every model that may aggregate.
    const oracle = createTruthOracle({ space, items: loadValidationSet(SIM_VALIDATION_FILE) });
    const under = (agg: string) => oracle(uniformMixture({ 'Qwen/Qwen1.5-110B-Chat': 3, 'microsoft/WizardLM-2-8x22B': 3 }, agg)).score;
    const ranked = modelsWithRole(space, 'aggregator').map((m) => m.id).sort((a, b) => under(b) - under(a));
    expect(new Set(ranked.slice(0, 2))).toEqual(new Set(space.search.aggregators));
    const judge = space.models.find((m) => m.id === space.judge!.model)!;
    expect(judge.price).toEqual({ input: 0.15, output: 0.6 });
    expect(modelsWithRole(space, 'baseline').map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-4-1106-preview', 'gpt-4-0314', 'gpt-4-turbo-2024-04-09']));
    expect(space.models.length).toBeGreaterThanOrEqual(10);
    for (const m of space.models) expect(getProfile(m.upstream!), m.id).toBeDefined();
    expect(resolve(ROOT, 'search-spaces', space.validation!)).toBe(SIM_VALIDATION_FILE);
  });

  it('uses the same ids and prices as together-2024.yaml, so the example mixtures run unchanged', () => {
    const sim = loadSpace(SIM_SPACE_FILE);
    const real = loadSpace(resolve(ROOT, 'search-spaces/together-2024.yaml'));
    for (const m of sim.models) {
      const r = real.models.find((x) => x.id === m.id);
      if (r) expect(m.price, m.id).toEqual(r.price);
    }
    const dir = resolve(ROOT, 'search-spaces/examples');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) expect(() => loadMixture(resolve(dir, f), sim), f).not.toThrow();
  });

  it('sim-12.yaml: twelve candidate proposers', () => {
    const space = loadSpace(resolve(ROOT, 'search-spaces/sim-12.yaml'));
    expect(modelsWithRole(space, 'proposer')).toHaveLength(12);
    expect(space.models.map((m) => m.id)).toEqual(expect.arrayContaining(['Qwen/Qwen2-72B-Instruct', 'google/gemma-2-27b-it', 'meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo']));
  });
});
