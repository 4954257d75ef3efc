import { InputError } from '../../config/input-error.js';
import { toMixtureFile, type Mixture } from '../../config/mixture.js';
import { findModel, JudgeSchema, type JudgeSettings, type Role, type SearchSpace } from '../../config/space.js';
import { mixtureModels } from '../../moa/index.js';
import { resolveJudge } from './judge.js';

/** A model the command will use in `role` must exist in the space and carry that role. InputError names `flag`. */
export function requireRole(space: SearchSpace, id: string, role: Role, flag: string): void {
  const m = findModel(space, id);
  if (!m) throw new InputError(`unknown model "${id}" (not in ${space.file})`, { field: flag });
  if (!m.roles.includes(role))
    throw new InputError(`model "${id}" does not have the ${role} role (its roles: ${m.roles.join(', ')}); add ${role} to its roles in ${space.file}`, { field: flag });
}

export interface RewardModelChoice {
  /** A mixture of judges (`--judge-mixture`). */
  judgeMixture?: Mixture;
  /** One judge model (`--judge`). */
  judgeModel?: string;
  /** MoAA's criteria step. */
  criteria?: boolean;
}

/**
 * The judge settings of a reward model (or of a judge being scored): the space's judge settings (protocol,
 * templates, temperature) with the given judging mixture or model in place of the space's judge, else the
 * space's judge alone. A judging mixture must be made of judges (every model has the `judge` role) and
 * synthesize a verdict (rank mode would return one proposer's assessment, not a verdict of its own).
 * Validated here, before anything is opened; InputErrors name `--judge-mixture` or `--judge`.
 */
export function rewardModelSettings(space: SearchSpace, o: RewardModelChoice): JudgeSettings {
  if (o.judgeMixture && o.judgeModel) throw new InputError('give --judge-mixture or --judge, not both', { field: '--judge' });
  const { model: _model, mixture: _mixture, ...base } = space.judge ?? JudgeSchema.parse({});
  let settings: JudgeSettings;
  if (o.judgeMixture) {
    const m = o.judgeMixture;
    if (m.mode === 'rank') throw new InputError('a judging mixture must synthesize its verdict: remove "mode": "rank"', { field: '--judge-mixture' });
    for (const id of mixtureModels(m)) requireRole(space, id, 'judge', '--judge-mixture');
    settings = { ...base, mixture: toMixtureFile(m) as Record<string, unknown> };
  } else if (o.judgeModel) {
    requireRole(space, o.judgeModel, 'judge', '--judge');
    settings = { ...base, model: o.judgeModel };
  } else {
    if (!space.judge) throw new InputError('no reward model: pass --judge-mixture <file>, or set judge.model in the space', { file: space.file, field: 'judge' });
    settings = { ...space.judge };
  }
  if (o.criteria) settings.criteria = true;
  resolveJudge(space, settings);
  return settings;
}
