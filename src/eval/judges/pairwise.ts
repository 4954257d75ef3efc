import type { JudgeSettings, SearchSpace } from '../../config/space.js';
import type { Executor } from '../../executor/types.js';
import { createJudge, protocolFor, type JudgeCall } from './judge.js';

/** What the pairwise judge needs to know of a prompt. `source` picks the protocol when it is `auto`. */
export interface PairItem {
  /** Seeds the AlpacaEval presentation order and names the prompt in errors. */
  id: string;
  source: string;
  prompt: string;
}

export interface PairPreference {
  /** Preference for b over a in [0, 1], over both presentation orders. */
  preference: number;
  /** Judge answers still unparseable after a retry (they count as ties). */
  unparsed: number;
  calls: JudgeCall[];
  /** The two texts were identical: a tie, no call made. */
  identical: boolean;
}

/**
 * A judge (a model, or a mixture as judge) comparing two answers to one prompt, as MoAA's reward model
 * does: both presentation orders, the preference averaged.
 */
export interface PairwiseJudge {
  readonly description: string;
  compare(item: PairItem, a: string, b: string, opts?: { signal?: AbortSignal }): Promise<PairPreference>;
}

export interface PairwiseJudgeOptions {
  space: SearchSpace;
  executor: Executor;
  /** Defaults to `space.judge`. */
  settings?: JudgeSettings;
}

/**
 * Arena-Hard's protocol already plays both orders (two games, positions swapped); AlpacaEval's shows one
 * order per prompt, so the pair is judged a second time with the roles swapped, which shows the other order.
 */
export function createPairwiseJudge({ space, executor, settings = space.judge }: PairwiseJudgeOptions): PairwiseJudge {
  const judge = createJudge({ space, executor, settings });
  const protocolSettings = settings ?? { protocol: 'auto' as const };
  return {
    description: judge.description,
    async compare(item, a, b, opts = {}) {
      if (a === b) return { preference: 0.5, unparsed: 0, calls: [], identical: true };
      if (protocolFor(protocolSettings, item.source) === 'arena_hard') {
        const only = await judge.judge({ ...item, reference: a }, b, opts);
        return { preference: only.preference, unparsed: only.unparsed, calls: only.calls, identical: false };
      }
      // The two orders are independent: asked at once, so a batched run sends both in one stage.
      const [first, second] = await Promise.all([judge.judge({ ...item, reference: a }, b, opts), judge.judge({ ...item, reference: b }, a, opts)]);
      return {
        preference: (first.preference + 1 - second.preference) / 2,
        unparsed: first.unparsed + second.unparsed,
        calls: [...first.calls, ...second.calls],
        identical: false,
      };
    },
  };
}
