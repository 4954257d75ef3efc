import type { TokenLogprob } from '../../providers/types.js';
import { hashSeed } from '../../random.js';

export type AlpacaLabel = 'm' | 'M';

/**
 * Whether the candidate is shown first (`m`) for this prompt: a seeded hash of (judge seed, item id), so the
 * order is random across prompts, fixed for a prompt, and the same for every mixture judged on it. A replicate's
 * judge sample (> 0) draws the order afresh, so replicates also average over the judge's position bias.
 */
export function candidateShownFirst(judgeSeed: number, itemId: string, sample = 0): boolean {
  return ((sample ? hashSeed('alpaca-order', judgeSeed, itemId, sample) : hashSeed('alpaca-order', judgeSeed, itemId)) & 1) === 1;
}

/**
 * Probability of `label` from the first token's top logprobs: exp(lp_label) / (exp(lp_m) + exp(lp_M)).
 * Tokens are compared after trimming whitespace (`" M"` counts as `M`), and variants of one label add up.
 * Undefined when neither label is among the first token's alternatives.
 */
export function alpacaProbability(logprobs: readonly TokenLogprob[] | undefined, label: AlpacaLabel): number | undefined {
  const first = logprobs?.[0];
  if (!first) return undefined;
  const seen = new Map<string, number>();
  for (const t of [{ token: first.token, logprob: first.logprob }, ...(first.top ?? [])]) {
    if (!seen.has(t.token) || seen.get(t.token)! < t.logprob) seen.set(t.token, t.logprob);
  }
  let pm = 0;
  let pM = 0;
  for (const [token, lp] of seen) {
    const t = token.trim();
    if (t === 'm') pm += Math.exp(lp);
    else if (t === 'M') pM += Math.exp(lp);
  }
  if (pm + pM === 0) return undefined;
  return (label === 'm' ? pm : pM) / (pm + pM);
}

/**
 * The label in a text answer: the whole answer (quotes, asterisks and punctuation aside) or, for judges that
 * write an assessment first (MoA as judge), the last non-empty line. Undefined when neither is a label.
 */
export function parseAlpacaLabel(text: string): AlpacaLabel | undefined {
  const bare = (s: string) => {
    const m = /^[\s"'`*_.:()[\]-]*(?:(?:best\s+)?(?:model(?:\s+identifier)?|answer|verdict|output)\s*[:=-]?\s*)?[\s"'`*_(]*(m|M)[\s"'`*_.)\]!]*$/i.exec(s);
    if (!m) return undefined;
    // The prefix is case-insensitive, the label is not: m and M are different models.
    return m[1] as AlpacaLabel;
  };
  const whole = bare(text.trim());
  if (whole) return whole;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.length > 1 ? bare(lines[lines.length - 1]!) : undefined;
}

export type ArenaVerdict = 'A>>B' | 'A>B' | 'A=B' | 'B>A' | 'B>>A';

const SYNONYMS: Record<string, ArenaVerdict> = {
  'A>>B': 'A>>B',
  'B<<A': 'A>>B',
  'A>B': 'A>B',
  'B<A': 'A>B',
  'A=B': 'A=B',
  'B=A': 'A=B',
  'B>A': 'B>A',
  'A<B': 'B>A',
  'B>>A': 'B>>A',
  'A<<B': 'B>>A',
};

/** The last `[[X]]` verdict in a judgment (Arena-Hard's regex `\[\[([AB<>=]+)\]\]`), or undefined. */
export function parseArenaVerdict(text: string): ArenaVerdict | undefined {
  const all = [...text.matchAll(/\[\[([AB<>=]+)\]\]/g)];
  for (let i = all.length - 1; i >= 0; i--) {
    const v = SYNONYMS[all[i]![1]!];
    if (v) return v;
  }
  return undefined;
}

export interface GameScore {
  /** 1 candidate wins, 0 loses, 0.5 tie. */
  outcome: number;
  /** 3 for a strong verdict, 1 for a weak one or a tie. */
  weight: number;
}

/** One game's score for the candidate, who sat in position `candidate`. Unparsed → a tie of weight 1. */
export function arenaGameScore(verdict: ArenaVerdict | undefined, candidate: 'A' | 'B'): GameScore {
  if (!verdict || verdict === 'A=B') return { outcome: 0.5, weight: 1 };
  const strong = verdict.includes('>>');
  const winner = verdict[0] as 'A' | 'B';
  return { outcome: winner === candidate ? 1 : 0, weight: strong ? 3 : 1 };
}

/** Preference = Σ weight·outcome / Σ weight over the games. */
export function combineGames(games: readonly GameScore[]): number {
  let w = 0;
  let s = 0;
  for (const g of games) {
    w += g.weight;
    s += g.weight * g.outcome;
  }
  return w ? s / w : 0.5;
}
