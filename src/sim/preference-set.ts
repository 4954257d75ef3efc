import { findModel, type SearchSpace } from '../config/space.js';
import type { PreferenceItem } from '../eval/preferences.js';
import { hashSeed, mulberry32 } from '../random.js';
import { simPairTruth } from './pair-truth.js';
import { simComplete } from './provider.js';
import { promptKind } from './_world.js';

export interface SimPreferenceOptions {
  space: SearchSpace;
  /** Prompts to pair answers for (a validation set's items); cycled through when more pairs are asked for. */
  prompts: ReadonlyArray<{ id?: string; prompt: string; source?: string }>;
  /** Number of pairs (default: two per prompt). */
  pairs?: number;
  /** Space ids of the models whose answers are paired (default: every sim model with the proposer or policy role). */
  models?: string[];
  seed?: number;
  /** Sampling temperature of the answers (default: the space's). */
  temperature?: number;
}

/** Tries per pair to find two answers of different true quality before the pair is given up. */
const MAX_TRIES = 20;

/**
 * A reference-preference set whose preferences are the simulated world's truth: for each pair, two sampled
 * answers to one prompt from two models (or two samples of one), in random order, with preference 2 when the
 * second is truly better and 1 when the first is. Pairs of equal true quality are redrawn, so every reference
 * verdict is decisive. Deterministic in (space world, prompts, models, seed).
 */
export function simPreferenceSet(o: SimPreferenceOptions): PreferenceItem[] {
  const worldSeed = Object.values(o.space.providers).find((p) => p.kind === 'sim')?.worldSeed ?? 0;
  const models = (o.models ?? o.space.models.filter((m) => m.roles.includes('proposer') || m.roles.includes('policy')).map((m) => m.id)).map((id) => {
    const m = findModel(o.space, id);
    if (!m || o.space.providers[m.provider]?.kind !== 'sim') throw new RangeError(`model "${id}" is not a simulated model of ${o.space.file}`);
    return { id, upstream: m.upstream ?? m.id };
  });
  if (!models.length) throw new RangeError(`${o.space.file} has no simulated model to answer with`);
  if (!o.prompts.length) throw new RangeError('no prompts to pair answers for');
  const temperature = o.temperature ?? o.space.generation.temperature;
  const n = o.pairs ?? 2 * o.prompts.length;
  const out: PreferenceItem[] = [];
  const answer = (upstream: string, prompt: string, seed: number) =>
    simComplete({ model: upstream, messages: [{ role: 'user', content: prompt }], temperature, seed }, { worldSeed }).text;
  for (let k = 0; k < n; k++) {
    const p = o.prompts[k % o.prompts.length]!;
    const rand = mulberry32(hashSeed('sim-preferences', o.seed ?? 0, k));
    for (let t = 0; t < MAX_TRIES; t++) {
      const a = models[Math.floor(rand() * models.length)]!;
      const b = models[Math.floor(rand() * models.length)]!;
      const s1 = answer(a.upstream, p.prompt, Math.floor(rand() * 1e6));
      const s2 = answer(b.upstream, p.prompt, Math.floor(rand() * 1e6));
      const truth = simPairTruth(p.prompt, s1, s2, { worldSeed });
      if (truth.better === 'tie') continue;
      out.push({
        id: `sim-pref-${String(k + 1).padStart(4, '0')}`,
        source: p.source ?? (promptKind(p.prompt) === 'alpaca' ? 'alpaca_eval' : 'arena_hard'),
        prompt: p.prompt,
        output_1: s1,
        output_2: s2,
        preference: truth.preference,
        category: `${a.id} vs ${b.id}`,
      });
      break;
    }
  }
  return out;
}
