import { InputError } from '../config/input-error.js';
import { toMixtureFile, type Mixture } from '../config/mixture.js';
import { findModel, JudgeSchema, type JudgeSettings, type Role, type SearchSpace } from '../config/space.js';
import { resolveJudge } from '../eval/judges/index.js';
import { mixtureModels } from '../moa/index.js';

/** A model the command will use in `role` must exist in the space and carry that role. InputError names `flag`. */
export function requireRole(space: SearchSpace, id: string, role: Role, flag: string): void {
  const m = findModel(space, id);
  if (!m) throw new InputError(`unknown model "${id}" (not in ${space.file})`, { field: flag });
  if (!m.roles.includes(role))
    throw new InputError(`model "${id}" does not have the ${role} role (its roles: ${m.roles.join(', ')}); add ${role} to its roles in ${space.file}`, { field: flag });
}

/**
 * The reward model's judge settings: the space's judge settings (protocol, templates, temperature) with the
 * judging mixture in place of the judge model, or the space's judge alone. A judging mixture must be made of
 * judges (every model has the `judge` role) and synthesize a verdict (rank mode would return one proposer's
 * assessment, not a verdict of its own). Validated here, before anything is opened.
 */
export function rewardModelSettings(space: SearchSpace, o: { judgeMixture?: Mixture; criteria?: boolean; flag?: string }): JudgeSettings {
  const flag = o.flag ?? '--judge-mixture';
  let settings: JudgeSettings;
  if (o.judgeMixture) {
    const m = o.judgeMixture;
    if (m.mode === 'rank') throw new InputError('a judging mixture must synthesize its verdict: remove "mode": "rank"', { field: flag });
    for (const id of mixtureModels(m)) requireRole(space, id, 'judge', flag);
    const { model: _model, mixture: _mixture, ...base } = space.judge ?? JudgeSchema.parse({});
    settings = { ...base, mixture: toMixtureFile(m) as Record<string, unknown> };
  } else {
    if (!space.judge) throw new InputError('no reward model: pass --judge-mixture <file>, or set judge.model in the space', { file: space.file, field: 'judge' });
    settings = { ...space.judge };
  }
  if (o.criteria) settings.criteria = true;
  resolveJudge(space, settings);
  return settings;
}
