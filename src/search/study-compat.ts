import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { SearchSpace } from '../config/space.js';
import { loadSpace } from '../config/space.js';
import type { ValidationItem } from '../eval/types.js';
import type { StudyConfig } from './types.js';

/**
 * What decides whether a measurement taken in one study means the same in another: the judge and its protocol, the
 * generation settings, each model's identity (what answers for its id), and each validation prompt's content.
 * Stored on the study when it is created, so it stays true after the space file is edited (e.g. by `models import`).
 */
export interface StudyCompat {
  judge: string;
  generation: string;
  /** Model id → a hash of what produces its answers (upstream, provider kind, endpoint, sim world seed). */
  models: Record<string, string>;
  /** Prompt id → a hash of its source, prompt and reference. */
  prompts: Record<string, string>;
}

const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);

function modelIdentity(space: SearchSpace, id: string): string {
  const m = space.models.find((x) => x.id === id);
  if (!m) return hash({ id });
  const p = space.providers[m.provider];
  return hash({ upstream: m.upstream ?? m.id, kind: p?.kind, baseURL: p?.baseURL, worldSeed: p?.worldSeed, sendSeed: p?.sendSeed });
}

export function studyCompat(space: SearchSpace, items: readonly ValidationItem[]): StudyCompat {
  const judge = space.judge ? { ...space.judge, model: space.judge.model ? modelIdentity(space, space.judge.model) : undefined } : undefined;
  return {
    judge: hash(judge ?? null),
    generation: hash(space.generation),
    models: Object.fromEntries(space.models.map((m) => [m.id, modelIdentity(space, m.id)])),
    prompts: Object.fromEntries(items.map((it) => [it.id, hash([it.source, it.prompt, it.reference])])),
  };
}

/**
 * The compatibility record of a stored study: its own, or (for studies created before it was stored) one rebuilt
 * from its space file as it is now, prompts unknown. Undefined when the space file is gone or no longer loads.
 */
export function storedCompat(config: StudyConfig): StudyCompat | undefined {
  if (config.compat) return config.compat;
  if (!existsSync(config.spaceFile)) return undefined;
  try {
    const c = studyCompat(loadSpace(config.spaceFile), []);
    return { ...c, prompts: {} };
  } catch {
    return undefined;
  }
}
