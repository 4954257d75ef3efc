import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../config/input-error.js';
import { parseStructuredText } from '../../config/_load-structured.js';
import { loadMixture, parseMixtureObject, type Mixture } from '../../config/mixture.js';
import { checkRole } from '../../config/check-roles.js';
import type { JudgeSettings, SearchSpace } from '../../config/space.js';
import { BudgetExceeded, type Executor, type GenerationRequest } from '../../executor/types.js';
import { BUILTIN_TEMPLATES, MixtureRunError, runMixture } from '../../moa/index.js';
import type { ChatMessage } from '../../providers/types.js';
import type { ValidationItem } from '../types.js';
import { alpacaProbability, arenaGameScore, candidateShownFirst, combineGames, parseAlpacaLabel, parseArenaVerdict, type AlpacaLabel, type GameScore } from './protocols.js';
import { BUILTIN_JUDGE_TEMPLATES, loadJudgeTemplate, renderJudgeTemplate, type JudgeProtocol, type JudgeTemplate } from './templates.js';

/** One call the judge made (for spend accounting: judge spend is kept apart from the mixture's). */
export interface JudgeCall {
  model: string;
  cached: boolean;
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
}

export interface JudgeVerdict {
  protocol: JudgeProtocol;
  /** Preference for the candidate over the reference, in [0, 1]. */
  preference: number;
  /** Judge answers still unparseable after the retry (AlpacaEval: 0–1; Arena-Hard: games, 0–2). */
  unparsed: number;
  retries: number;
  /** How the preference was read. */
  via: 'logprobs' | 'text' | 'verdicts' | 'unparsed';
  calls: JudgeCall[];
}

export interface Judge {
  /** e.g. `model gpt-4o` or `mixture 3×A → B`. */
  readonly description: string;
  /**
   * `sample` (default 0) makes a replicate's judge calls fresh yet cached: it is the engine's sample offset
   * (replicate r × SAMPLE_STRIDE, see executor/sample-offset.ts), the request's sample index is `sample + retry`, and the AlpacaEval presentation order is re-drawn per sample (sample 0 keeps the original).
   */
  judge(item: ValidationItem, candidate: string, opts?: { signal?: AbortSignal; sample?: number }): Promise<JudgeVerdict>;
}

export interface JudgeOptions {
  space: SearchSpace;
  executor: Executor;
  /** Defaults to `space.judge`. */
  settings?: JudgeSettings;
}

/** The judge failed for a reason other than its answer's format (the provider is down, the mixture failed). */
export class JudgeError extends Error {
  override readonly name = 'JudgeError';
  constructor(
    readonly itemId: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`judge failed on prompt ${itemId}: ${reason}`, options);
  }
}

// MoA as judge (MoAA): the proposers' evaluations are injected into the final judge's system prompt with this
// template (written for this project); the final judge answers in the protocol's format.
export const JUDGE_AGGREGATE_TEMPLATE = `Other judges have already assessed the comparison in this conversation; their {{n}} assessments follow. Any of them may be mistaken, and they may disagree. Check their points against the two answers yourself, weigh them, and reach your own decision. Reply in exactly the format the conversation asks for.

Assessments:

{{responses}}`;

// With a mixture as judge, an AlpacaEval-style judge must reason before its one-label answer, or the proposers
// would have nothing to pass on; the label then goes alone on the last line.
const ALPACA_MOA_SUFFIX = `\n\nBefore you answer, write a short comparison of the two outputs. Then give the label of the better model, m or M, alone on the last line.`;
const RETRY_REMINDER: Record<JudgeProtocol, string> = {
  alpaca_eval: `\n\nRemember: the last line of your reply must be the label alone, m or M.`,
  arena_hard: `\n\nRemember: end your reply with exactly one verdict label: [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]].`,
};

// MoAA's optional criteria-selection step (written for this project): the judge first names what matters for
// this prompt; the list is appended after the answers, so templates and answer positions are unchanged.
const CRITERIA_SYSTEM = `You help evaluate answers written by AI assistants. You do not answer prompts yourself.`;
const CRITERIA_USER = `Here is a prompt a user gave to AI assistants:

[Prompt]
{prompt}
[End of prompt]

List the criteria, at most five, that a careful judge should use to decide which of two answers to this prompt is better (for example correctness of a specific fact or step, completeness, following a stated format). One short line per criterion. Do not answer the prompt.`;
const CRITERIA_PREFIX = `\n\nWhen you decide, weigh these criteria in particular:\n`;

function appendToLastUser(messages: ChatMessage[], text: string): ChatMessage[] {
  const i = messages.map((m) => m.role).lastIndexOf('user');
  return messages.map((m, j) => (j === i ? { ...m, content: m.content + text } : m));
}

export function protocolFor(settings: Pick<JudgeSettings, 'protocol'>, source: string): JudgeProtocol {
  if (settings.protocol && settings.protocol !== 'auto') return settings.protocol;
  return source === 'alpaca_eval' ? 'alpaca_eval' : 'arena_hard';
}

/** A judge's configuration, validated: a model or a mixture, and the templates per protocol. */
export interface ResolvedJudge {
  settings: JudgeSettings;
  model?: string;
  mixture?: Mixture;
  templates: Record<JudgeProtocol, JudgeTemplate>;
}

/**
 * Validate the space's judge settings (model or mixture, template files) without calling anything, so the CLI
 * can reject bad input before it opens the database. InputError names `judge…` in the space file.
 */
export function resolveJudge(space: SearchSpace, settings: JudgeSettings | undefined = space.judge): ResolvedJudge {
  const at = (field: string) => ({ file: space.file, field });
  if (!settings) throw new InputError('no judge: add `judge: { model: <id> }` (or `judge.mixture`) to the search space', at('judge'));
  if (!settings.model && !settings.mixture) throw new InputError('set judge.model or judge.mixture', at('judge'));
  if (settings.model && settings.mixture) throw new InputError('set judge.model or judge.mixture, not both', at('judge'));
  const base = dirname(resolve(space.file));
  let mixture: Mixture | undefined;
  if (settings.mixture !== undefined) {
    // Errors name the space file's judge.mixture field, not the CLI's --mixture flag.
    const label = `${space.file} (judge.mixture)`;
    if (typeof settings.mixture !== 'string') mixture = parseMixtureObject(settings.mixture, space, label, 'judge');
    else if (settings.mixture.trim().startsWith('{')) mixture = parseMixtureObject(parseStructuredText(settings.mixture, label).data, space, label, 'judge');
    else {
      const file = resolve(base, settings.mixture);
      if (!existsSync(file)) throw new InputError(`judge mixture file not found: ${file}`, at('judge.mixture'));
      mixture = loadMixture(file, space, 'judge');
    }
  } else if (!space.models.some((m) => m.id === settings.model)) {
    throw new InputError(`unknown model "${settings.model}"`, at('judge.model'));
  } else checkRole(space, settings.model!, 'judge', at('judge.model'));
  const templates: Record<JudgeProtocol, JudgeTemplate> = { ...BUILTIN_JUDGE_TEMPLATES };
  for (const p of ['alpaca_eval', 'arena_hard'] as const) {
    const f = settings.templates?.[p];
    if (f) templates[p] = loadJudgeTemplate(resolve(base, f), p);
  }
  return { settings, model: settings.model, mixture, templates };
}

/** Build the judge (validating its configuration first, see `resolveJudge`). */
export function createJudge({ space, executor, settings = space.judge }: JudgeOptions): Judge {
  const { mixture, templates } = resolveJudge(space, settings);
  settings = settings!;
  const temperature = settings.temperature ?? 0;
  const seed = settings.seed ?? 0;
  const longMax = settings.maxTokens ?? 2048;
  // The AlpacaEval protocol reads one token; a few more let a text-only endpoint finish the label.
  const alpacaMax = Math.min(5, Math.max(1, settings.maxTokens ?? 1));

  /** The criteria for one prompt (cached like any call, so both games and every mixture share one). */
  const criteriaFor = async (item: ValidationItem, calls: JudgeCall[], signal?: AbortSignal): Promise<string> => {
    const model = mixture ? mixture.aggregator : settings.model!;
    const req: GenerationRequest = {
      model,
      messages: [
        { role: 'system', content: CRITERIA_SYSTEM },
        { role: 'user', content: CRITERIA_USER.replace('{prompt}', () => item.prompt) },
      ],
      temperature,
      maxTokens: 256,
    };
    try {
      const r = await executor.generate(req, { account: 'judge', signal, purpose: 'judge criteria' });
      calls.push({ model: r.model, cached: r.cached, costUsd: r.costUsd, promptTokens: r.promptTokens, completionTokens: r.completionTokens });
      return r.text.trim();
    } catch (e) {
      if (e instanceof BudgetExceeded || signal?.aborted) throw e;
      throw new JudgeError(item.id, `criteria step: ${(e as Error).message}`, { cause: e });
    }
  };

  /** One judge answer: text and (single model) logprobs. Retry k > 0 asks again in a way the cache cannot replay. */
  const ask = async (itemId: string, protocol: JudgeProtocol, messages: ChatMessage[], retry: number, calls: JudgeCall[], signal?: AbortSignal, sample = 0) => {
    if (mixture) {
      let msgs = protocol === 'alpaca_eval' ? appendToLastUser(messages, ALPACA_MOA_SUFFIX) : messages;
      if (retry) msgs = appendToLastUser(msgs, RETRY_REMINDER[protocol]);
      try {
        const run = await runMixture(mixture, msgs, {
          executor,
          generation: { temperature, maxTokens: longMax },
          account: 'judge',
          signal,
          sampleOffset: sample,
          templates: { ...BUILTIN_TEMPLATES, aggregate: JUDGE_AGGREGATE_TEMPLATE },
        });
        for (const c of run.calls) calls.push({ model: c.model, cached: c.cached, costUsd: c.costUsd, promptTokens: c.promptTokens, completionTokens: c.completionTokens });
        return { text: run.text, logprobs: undefined };
      } catch (e) {
        if (e instanceof MixtureRunError) {
          for (const c of e.calls) calls.push({ model: c.model, cached: c.cached, costUsd: c.cached || c.error ? 0 : c.costUsd, promptTokens: c.promptTokens, completionTokens: c.completionTokens });
          if (e.cause instanceof BudgetExceeded) throw e.cause;
          if (e.reason === 'aborted') throw e;
        }
        if (e instanceof BudgetExceeded) throw e;
        throw new JudgeError(itemId, (e as Error).message, { cause: e });
      }
    }
    const req: GenerationRequest = { model: settings.model!, messages, temperature, maxTokens: protocol === 'alpaca_eval' ? alpacaMax : longMax, sample: sample + retry };
    if (protocol === 'alpaca_eval') {
      req.logprobs = true;
      req.topLogprobs = 5;
    }
    try {
      const r = await executor.generate(req, { account: 'judge', signal, purpose: retry ? 'judge retry' : 'judge' });
      calls.push({ model: r.model, cached: r.cached, costUsd: r.costUsd, promptTokens: r.promptTokens, completionTokens: r.completionTokens });
      return { text: r.text, logprobs: r.logprobs };
    } catch (e) {
      if (e instanceof BudgetExceeded || signal?.aborted) throw e;
      throw new JudgeError(itemId, (e as Error).message, { cause: e });
    }
  };

  return {
    description: mixture ? `mixture judge (${mixture.proposerLayers.length + 1} layers, aggregator ${mixture.aggregator})` : `model ${settings.model}`,
    async judge(item, candidate, opts = {}) {
      const protocol = protocolFor(settings, item.source);
      const sample = opts.sample ?? 0;
      const calls: JudgeCall[] = [];
      let retries = 0;
      const criteria = settings.criteria ? await criteriaFor(item, calls, opts.signal) : '';
      const withCriteria = (m: ChatMessage[]) => (criteria ? appendToLastUser(m, CRITERIA_PREFIX + criteria) : m);
      if (protocol === 'alpaca_eval') {
        const first = candidateShownFirst(seed, item.id, sample);
        const label: AlpacaLabel = first ? 'm' : 'M';
        const messages = withCriteria(
          renderJudgeTemplate(templates.alpaca_eval, {
            instruction: item.prompt,
            output_1: first ? candidate : item.reference,
            output_2: first ? item.reference : candidate,
          }),
        );
        for (let attempt = 0; attempt < 2; attempt++) {
          if (attempt) retries++;
          const a = await ask(item.id, protocol, messages, attempt, calls, opts.signal, sample);
          const p = alpacaProbability(a.logprobs, label);
          if (p !== undefined) return { protocol, preference: p, unparsed: 0, retries, via: 'logprobs', calls };
          const t = parseAlpacaLabel(a.text);
          if (t) return { protocol, preference: t === label ? 1 : 0, unparsed: 0, retries, via: 'text', calls };
        }
        return { protocol, preference: 0.5, unparsed: 1, retries, via: 'unparsed', calls };
      }
      // Arena-Hard: game 1 puts the reference in A, game 2 the candidate. The games are independent, so they are
      // played at once: a batched run sends both in one stage instead of waiting a whole job for the second.
      const played = await Promise.all(
        (['B', 'A'] as const).map(async (candidatePos) => {
          const messages = withCriteria(
            renderJudgeTemplate(templates.arena_hard, {
              question_1: item.prompt,
              answer_1: candidatePos === 'A' ? candidate : item.reference,
              answer_2: candidatePos === 'A' ? item.reference : candidate,
            }),
          );
          let verdict;
          for (let attempt = 0; attempt < 2 && !verdict; attempt++) {
            if (attempt) retries++;
            verdict = parseArenaVerdict((await ask(item.id, protocol, messages, attempt, calls, opts.signal, sample)).text);
          }
          return { verdict, candidatePos };
        }),
      );
      const games: GameScore[] = played.map((g) => arenaGameScore(g.verdict, g.candidatePos));
      const unparsed = played.filter((g) => !g.verdict).length;
      return { protocol, preference: combineGames(games), unparsed, retries, via: unparsed === 2 ? 'unparsed' : 'verdicts', calls };
    },
  };
}
