import { InputError } from '../config/input-error.js';
import type { SearchSpace } from '../config/space.js';
import { loadPreferences } from '../eval/preferences.js';
import { rewardModelSettings } from '../eval/judges/reward-model.js';
import type { ValidationItem } from '../eval/types.js';
import { judgeObjective, judgeSearchDims, searchItemsOf } from '../search/judge-objective.js';
import type { SearchObjective } from '../search/objective.js';

/** The flags of `search --objective judge`, checked before any file is read (exit 2 naming the flag). */
export function checkJudgeFlags(flags: { objective?: string; preferences?: string; validation?: string; resume?: boolean }): void {
  const judge = flags.objective === 'judge';
  if (judge && !flags.resume && flags.preferences === undefined)
    throw new InputError('--objective judge scores judging mixtures against reference preferences: give --preferences <file> (JSONL {prompt, output_1, output_2, preference}, or AlpacaEval annotations; `moa-search sim preferences` writes one)', { field: '--preferences' });
  if (flags.preferences !== undefined && !judge && !flags.resume)
    throw new InputError('--preferences is what --objective judge scores against: add --objective judge, or drop --preferences', { field: '--preferences' });
  if (judge && flags.validation !== undefined)
    throw new InputError('--objective judge scores against --preferences, not a validation set: drop --validation', { field: '--validation' });
}

/**
 * A judge study's items and objective: the reference-preference set (errors name `--preferences`), a space with at
 * least two judge models (errors name `--objective`), the space's judge settings valid for a judge alone.
 */
export function loadJudgeStudy(space: SearchSpace, preferencesFile: string): { items: ValidationItem[]; objective: SearchObjective } {
  const set = loadPreferences(preferencesFile, '--preferences');
  if (!set.items.length) throw new InputError('the preference set has no pairs', { file: preferencesFile, field: '--preferences' });
  const dims = judgeSearchDims(space);
  rewardModelSettings(space, { judgeModel: dims.aggregators[0]! });
  return { items: searchItemsOf(set.items), objective: judgeObjective(space, set.items) };
}
