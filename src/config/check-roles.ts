import { InputError, type InputLocation } from './input-error.js';
import type { Mixture } from './mixture.js';
import { findModel, type Role, type SearchSpace } from './space.js';

/**
 * Which roles let a model take each place. A model answering alone (a 1-layer mixture, `eval --baseline`,
 * `validation build --baseline-model`) may be anything that writes answers; a summarizer condenses answers, which
 * aggregators do too.
 */
export const PLACE_ROLES = {
  proposer: ['proposer'],
  aggregator: ['aggregator'],
  summarizer: ['summarizer', 'aggregator'],
  single: ['baseline', 'proposer', 'aggregator', 'policy'],
  judge: ['judge'],
} as const satisfies Record<string, readonly Role[]>;

export type Place = keyof typeof PLACE_ROLES;

/** `answer`: a mixture whose output is graded or served. `judge`: a mixture that judges (MoA as judge), where a judge-only model may take any place. */
export type MixturePurpose = 'answer' | 'judge';

const PLACE_WORDS: Record<Place, string> = {
  proposer: 'a proposer',
  aggregator: 'an aggregator',
  summarizer: 'a summarizer',
  single: 'a model answering alone',
  judge: 'the judge',
};

/** Throws an InputError naming the model's roles, the space they come from and the roles the place needs. */
export function checkRole(space: SearchSpace, id: string, place: Place, at: InputLocation, purpose: MixturePurpose = 'answer'): void {
  const model = findModel(space, id);
  if (!model) return; // unknown ids are reported by the caller's own check
  const allowed: readonly Role[] = purpose === 'judge' ? [...PLACE_ROLES[place], 'judge'] : PLACE_ROLES[place];
  if (model.roles.some((r) => allowed.includes(r))) return;
  throw new InputError(
    `"${id}" cannot be ${PLACE_WORDS[place]}: its roles in ${space.file} are [${model.roles.join(', ')}]; ${PLACE_WORDS[place]} needs ${allowed.join(' or ')}`,
    at,
  );
}

/** Every model of a mixture holds a role for its place. `where(field, path)` locates a field in the mixture's source. */
export function checkMixtureRoles(
  m: Mixture,
  space: SearchSpace,
  where: (field: string, path: Array<string | number>) => InputLocation,
  purpose: MixturePurpose = 'answer',
): void {
  if (!m.proposerLayers.length) {
    checkRole(space, m.aggregator, 'single', where('aggregator', ['aggregator']), purpose);
    return;
  }
  m.proposerLayers.forEach((layer, i) => {
    for (const id of Object.keys(layer)) checkRole(space, id, 'proposer', where(`layers[${i}].${id}`, ['proposers', id]), purpose);
  });
  if (m.summarizer) checkRole(space, m.summarizer, 'summarizer', where('summarizer', ['summarizer']), purpose);
  checkRole(space, m.aggregator, 'aggregator', where('aggregator', ['aggregator']), purpose);
}

/** The model that writes the judge's verdict: `judge.model`, or the aggregator of `judge.mixture`. */
export function judgeModelOf(judge: { model?: string; mixture?: Mixture }): string | undefined {
  return judge.model ?? judge.mixture?.aggregator;
}

/**
 * Refuse a candidate whose final answer is written by the judge's own model: LLM judges prefer their own
 * outputs (self-preference bias), so the score would not mean what it says.
 */
export function checkNotSelfJudged(candidateModel: string, judgeModel: string | undefined, at: InputLocation): void {
  if (judgeModel === undefined || candidateModel !== judgeModel) return;
  throw new InputError(
    `"${candidateModel}" is also the judge: it would grade its own answers (self-preference bias); choose another judge (judge.model) or another model here`,
    at,
  );
}

/** `search.aggregators` may only name models with the aggregator role, and none may be the judge. */
export function checkSearchRoles(space: SearchSpace, judgeModel: string | undefined): void {
  space.search.aggregators?.forEach((id, i) => {
    const at = { file: space.file, field: `search.aggregators[${i}]` };
    checkRole(space, id, 'aggregator', at);
    checkNotSelfJudged(id, judgeModel, at);
  });
}
