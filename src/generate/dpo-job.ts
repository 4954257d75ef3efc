import { toMixtureFile } from '../config/mixture.js';
import type { JudgeSettings, SearchSpace } from '../config/space.js';
import { createPairwiseJudge, resolveJudge } from '../eval/judges/index.js';
import { sha256Hex } from '../random.js';
import { dpoExample, rankPolicySamples } from './dpo.js';
import { jsonSha256, prepareJob, runJob, type JobResult, type PreparedJob, type RunContext } from './job.js';
import type { PromptsFile } from './prompts-file.js';
import { addUsage, emptyUsage } from './usage.js';
import { spaceGeneration } from './sft-job.js';

/** What a DPO generation is: the policy, its sampling, the reward model and the margin threshold. */
export interface DpoSettings {
  space: SearchSpace;
  policy: string;
  samples: number;
  /** Sampling temperature of the policy (default: the space's). */
  temperature?: number;
  /** The reward model: a judge model or a mixture as judge, validated by `resolveJudge`. */
  judge: JudgeSettings;
  /** Pairs whose reward margin is below this are left out of the file (and counted). */
  minMargin: number;
}

export interface DpoJobOptions extends DpoSettings {
  prompts: PromptsFile;
  out: string;
  limit?: number;
}

/** The reward model's identity: what it runs and how it is asked (not its file's name). */
export function judgeIdentity(space: SearchSpace, settings: JudgeSettings): Record<string, unknown> {
  const r = resolveJudge(space, settings);
  let who: Record<string, unknown>;
  if (r.mixture) {
    const { name: _n, meta: _m, ...file } = toMixtureFile(r.mixture);
    who = { mixture: file };
  } else who = { model: r.model };
  return {
    ...who,
    protocol: settings.protocol,
    temperature: settings.temperature,
    maxTokens: settings.maxTokens,
    seed: settings.seed,
    criteria: !!settings.criteria,
    templates: sha256Hex(JSON.stringify([r.templates.alpaca_eval.messages, r.templates.arena_hard.messages])),
  };
}

/** What a journal record of a DPO prompt holds: the pair, the ranking behind it, the margin. */
interface DpoRecord {
  chosen: string;
  rejected: string;
  scores: number[];
  chosenIndex: number;
  rejectedIndex: number;
  margin: number;
  unparsed: number;
}

/** Plain strings when every prompt of the file is a bare `{"prompt"}`; conversations otherwise (one format per file). */
export function dpoFormat(prompts: PromptsFile): 'text' | 'chat' {
  return prompts.prompts.every((p) => p.plain) ? 'text' : 'chat';
}

/** Validate a DPO generation (see prepareJob): nothing is written or spent. */
export function prepareDpo(o: DpoJobOptions): PreparedJob {
  const policy = { model: o.policy, samples: o.samples, ...spaceGeneration(o.space, o.temperature) };
  const rewardModel = judgeIdentity(o.space, o.judge);
  return prepareJob({
    ...o,
    kind: 'dpo',
    config: { policy, rewardModel },
    inputs: {
      policy,
      rewardModel: { ...rewardModel, sha256: jsonSha256(rewardModel) },
      minMargin: o.minMargin,
      format: dpoFormat(o.prompts),
    },
  });
}

export interface RunDpoOptions extends DpoSettings, RunContext {}

/**
 * Generate DPO pairs: k policy samples per prompt ranked by the reward model; the best and the worst become
 * `{prompt, chosen, rejected}` with their scores. Pairs with no preference at all (margin 0) or a margin below
 * `minMargin` are recorded but left out of the file, counted as `margin`.
 */
export async function runDpo(job: PreparedJob, o: RunDpoOptions): Promise<JobResult> {
  const generation = spaceGeneration(o.space, o.temperature);
  const judge = createPairwiseJudge({ space: o.space, executor: o.executor, settings: o.judge });
  const chat = dpoFormat(job.spec.prompts) === 'chat';
  return runJob(job, {
    ...o,
    work: async (prompt, signal) => {
      const r = await rankPolicySamples(prompt, { policy: o.policy, samples: o.samples, generation, executor: o.executor, judge, signal });
      const record: DpoRecord = { chosen: r.samples[r.chosen]!, rejected: r.samples[r.rejected]!, scores: r.scores, chosenIndex: r.chosen, rejectedIndex: r.rejected, margin: r.margin, unparsed: r.unparsed };
      return { record: { ...record, accounts: r.usage }, usage: addUsage(addUsage(emptyUsage(), r.usage.policy), r.usage.judge) };
    },
    lineOf: (rec, prompt) => {
      const r = rec as unknown as DpoRecord;
      if (!(r.margin > 0 && r.margin >= o.minMargin)) return { dropped: 'margin' };
      return { line: dpoExample(prompt, { samples: [r.chosen, r.rejected], scores: [r.scores[r.chosenIndex]!, r.scores[r.rejectedIndex]!], chosen: 0, rejected: 1 }, chat) };
    },
  });
}
