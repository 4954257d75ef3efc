import { findTokens, MIS_BASE, START_MARK, encodeToken } from './_codec.js';
import { hashString, mix, normalQuantile, uniform } from './_hash.js';
import { aggregateFiller, aggregateProb, attention, decide, keepRate, modelOnPrompt } from './_behavior.js';
import { arenaVerdict, detectProtocol, findAnswers, JUDGE_MARK, perceivedQuality, verdictScore, VERDICTS, type ArenaVerdict } from './_judge.js';
import { endSentence, fillerSentence, layout, misSentence, startSentence, statementSentence } from './_text.js';
import { promptWorld, type PromptWorld } from './_world.js';
import type { SimProfile } from './_profiles.js';
import type { ChatMessage, TokenLogprob } from '../providers/types.js';

// One simulated completion: decide what kind of request this is from the text alone (judge prompt,
// aggregation over references, ranking, summarizing, or a plain question) and write the answer.

export interface SimRequest {
  messages: ChatMessage[];
  temperature?: number;
  seed?: number;
  maxTokens?: number;
  logprobs?: boolean;
  topLogprobs?: number;
}

export interface SimAnswer {
  text: string;
  /** For an AlpacaEval judge: logprobs of the first token with its alternatives. */
  logprobs?: TokenLogprob[];
  kind: 'answer' | 'aggregate' | 'rank' | 'summary' | 'judge';
}

/** A judge that sees other judges' verdicts in its system message weighs each at this share of its own. */
export const PEER_VERDICT_WEIGHT = 0.5;

interface Ctx {
  worldSeed: number;
  profile: SimProfile;
  temperature: number;
  /** Draws for this request: u(tag, index) in (0,1). */
  u: (tag: number, i: number) => number;
  v: (tag: number, i: number) => number;
}

function requestHash(model: string, messages: ChatMessage[]): number {
  let h = hashString(model);
  for (const m of messages) h = mix(h, hashString(m.role), hashString(m.content));
  return h;
}

export function simRespond(worldSeed: number, profile: SimProfile, req: SimRequest): SimAnswer {
  const temperature = req.temperature ?? 1;
  const hot = temperature > 0;
  const rh = requestHash(profile.name, req.messages);
  // Temperature 0 is the mode: the seed and the temperature's value do not matter.
  const sampleSeed = hot ? (req.seed ?? 0) : 0;
  const tcode = hot ? Math.round(temperature * 1000) : 0;
  const ctx: Ctx = {
    worldSeed,
    profile,
    temperature,
    u: (tag, i) => uniform(worldSeed, rh, sampleSeed, tcode, tag, i),
    v: (tag, i) => mix(worldSeed, rh, sampleSeed, tcode, tag + 100, i),
  };

  const lastUserIdx = findLastUser(req.messages);
  const question = lastUserIdx >= 0 ? req.messages[lastUserIdx]!.content : req.messages.map((m) => m.content).join('\n');
  const context = req.messages.filter((_, i) => i !== lastUserIdx).map((m) => m.content).join('\n');

  const protocol = detectProtocol(question) ?? detectProtocol(context);
  if (protocol) return judge(ctx, protocol, question, context, req, rh);

  // A request to list evaluation criteria for a prompt (MoA-as-judge criteria step): criteria, not claims.
  if (/\blist the criteria\b/i.test(question)) return criteria(ctx, question);

  const w = promptWorld(worldSeed, question);
  const refs = context ? collectReferences(context, w.key) : [];
  if (refs.length > 0) {
    if (/\b(reply with the number|number of the best|which (single )?response)\b/i.test(context)) return rank(ctx, w, refs);
    if (/\b(digest|summari[sz]e|condense)\b/i.test(context)) return summarize(ctx, w, refs);
    return aggregate(ctx, w, refs);
  }
  return answer(ctx, w);
}

function findLastUser(messages: ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return i;
  return -1;
}

// ---- answers ---------------------------------------------------------------------------------------

function compose(ctx: Ctx, w: PromptWorld, points: number[], mis: number[], filler: number): string {
  const body: string[] = [];
  let k = 0;
  for (const j of points) body.push(statementSentence(w.key, j, ctx.v(10, k++)));
  for (const i of mis) body.push(misSentence(w.key, i, ctx.v(10, k++)));
  for (let f = 0; f < filler; f++) body.push(fillerSentence(ctx.v(11, f)));
  // Deterministic shuffle (Fisher–Yates on request draws) so claims and padding interleave.
  for (let i = body.length - 1; i > 0; i--) {
    const r = ctx.v(12, i) % (i + 1);
    [body[i], body[r]] = [body[r]!, body[i]!];
  }
  return layout([startSentence(w.key, ctx.v(13, 0)), ...body, endSentence(w.key, ctx.v(14, 0))], ctx.v(15, 0));
}

function answer(ctx: Ctx, w: PromptWorld): SimAnswer {
  const m = modelOnPrompt(ctx.worldSeed, ctx.profile, w);
  const points: number[] = [];
  const mis: number[] = [];
  for (let j = 0; j < m.pointProb.length; j++) if (decide(m.pointProb[j]!, ctx.temperature, ctx.u(1, j))) points.push(j);
  for (let i = 0; i < m.misProb.length; i++) if (decide(m.misProb[i]!, ctx.temperature, ctx.u(2, i))) mis.push(i);
  return { text: compose(ctx, w, points, mis, m.filler), kind: 'answer' };
}

interface Reference {
  points: Set<number>;
  mis: Set<number>;
}

/** The references shown in the context, split at each answer's start marker (ours, for this prompt). */
export function collectReferences(context: string, key: number): Reference[] {
  const refs: Reference[] = [];
  let cur: Reference | undefined;
  for (const t of findTokens(context)) {
    if (t.key !== key) continue;
    if (t.item === START_MARK) {
      cur = { points: new Set(), mis: new Set() };
      refs.push(cur);
      continue;
    }
    if (t.item > START_MARK) continue;
    if (!cur) {
      cur = { points: new Set(), mis: new Set() };
      refs.push(cur);
    }
    if (t.item < MIS_BASE) cur.points.add(t.item);
    else cur.mis.add(t.item - MIS_BASE);
  }
  return refs;
}

function counts(refs: Reference[], w: PromptWorld): { cp: number[]; cm: number[] } {
  const cp = w.pointWeights.map(() => 0);
  const cm = w.misWeights.map(() => 0);
  for (const r of refs) {
    for (const j of r.points) if (j < cp.length) cp[j]!++;
    for (const i of r.mis) if (i < cm.length) cm[i]!++;
  }
  return { cp, cm };
}

function aggregate(ctx: Ctx, w: PromptWorld, refs: Reference[]): SimAnswer {
  const p = ctx.profile;
  const m = modelOnPrompt(ctx.worldSeed, p, w);
  const n = refs.length;
  const att = attention(p, n);
  const { cp, cm } = counts(refs, w);
  const points: number[] = [];
  const mis: number[] = [];
  for (let j = 0; j < cp.length; j++) if (decide(aggregateProb(m.ownPoint[j]!, keepRate(p, w.kind) * att, cp[j]!), ctx.temperature, ctx.u(1, j))) points.push(j);
  for (let i = 0; i < cm.length; i++) if (decide(aggregateProb(m.ownMis[i]!, p.agg.pass * att, cm[i]!), ctx.temperature, ctx.u(2, i))) mis.push(i);
  return { text: compose(ctx, w, points, mis, aggregateFiller(p, m, n)), kind: 'aggregate' };
}

function summarize(ctx: Ctx, w: PromptWorld, refs: Reference[]): SimAnswer {
  // A digest keeps every claim it reads (it is told not to judge them) and little padding.
  const { cp, cm } = counts(refs, w);
  const points = cp.flatMap((c, j) => (c > 0 ? [j] : []));
  const mis = cm.flatMap((c, i) => (c > 0 ? [i] : []));
  return { text: compose(ctx, w, points, mis, 1), kind: 'summary' };
}

function rank(ctx: Ctx, w: PromptWorld, refs: Reference[]): SimAnswer {
  // A ranker can only credit what it can verify: true points it knows, misconceptions it does not hold.
  const j = ctx.profile.judge;
  const m = modelOnPrompt(ctx.worldSeed, ctx.profile, w);
  let best = 0;
  let bestScore = -Infinity;
  refs.forEach((r, idx) => {
    let q = 0;
    for (const pt of r.points) if (m.known[pt]) q += w.pointWeights[pt] ?? 0;
    for (const mi of r.mis) if (mi < m.believes.length && !m.believes[mi]) q -= w.misWeights[mi] ?? 0;
    const s = q / j.tau + j.noise * normalQuantile(ctx.u(30, idx));
    if (s > bestScore) {
      bestScore = s;
      best = idx;
    }
  });
  return { text: String(best + 1), kind: 'rank' };
}

// ---- judging ---------------------------------------------------------------------------------------

function judge(ctx: Ctx, protocol: 'alpaca_eval' | 'arena_hard', question: string, context: string, req: SimRequest, rh: number): SimAnswer {
  const j = ctx.profile.judge;
  // With a judge template in the user message, the answers are there; the system message may hold
  // other judges' evaluations (MoA as judge). Otherwise the answers may sit anywhere in the request.
  const inQuestion = findAnswers(question);
  const where = inQuestion.some((r) => r.marked) || !context ? question : `${context}\n${question}`;
  const [a, b] = where === question ? inQuestion : findAnswers(where);
  const qa = perceivedQuality(ctx.worldSeed, a!.tokens, a!.sentences, j.lengthCredit);
  const qb = perceivedQuality(ctx.worldSeed, b!.tokens, b!.sentences, j.lengthCredit);
  // Noise is a pure function of the request text: a judge at temperature 0 is consistent but not perfect.
  const eps = j.noise * normalQuantile(uniform(ctx.worldSeed, rh, ctx.temperature > 0 ? (req.seed ?? 0) : 0, 0x7a11));
  let y = (qb - qa) / j.tau + j.posBias + eps;
  if (where === question && context) y += PEER_VERDICT_WEIGHT * peerVerdicts(protocol, context);

  if (protocol === 'alpaca_eval') {
    const pM = 1 / (1 + Math.exp(-y));
    const token = pM >= 0.5 ? 'M' : 'm';
    const rest = 1e-6; // probability mass left for other tokens
    const lpM = Math.log((1 - rest) * pM);
    const lpm = Math.log((1 - rest) * (1 - pM));
    let logprobs: TokenLogprob[] | undefined;
    if (req.logprobs) {
      const alts = [
        { token: 'M', logprob: lpM },
        { token: 'm', logprob: lpm },
        { token: 'The', logprob: Math.log(rest * 0.5) },
        { token: 'Model', logprob: Math.log(rest * 0.3) },
        { token: '\n', logprob: Math.log(rest * 0.2) },
      ].sort((x, z) => z.logprob - x.logprob);
      logprobs = [{ token, logprob: token === 'M' ? lpM : lpm, top: alts.slice(0, Math.max(0, Math.min(20, req.topLogprobs ?? 0))) }];
    }
    // Asked to reason first (a judge inside a mixture): a short comparison, then the label alone on the last line.
    if (/before you answer|write a short comparison/i.test(question) && (req.maxTokens === undefined || req.maxTokens >= 40)) {
      const na = distinctClaims(a!.tokens);
      const nb = distinctClaims(b!.tokens);
      const why = `Output m makes ${na} substantive claims over ${a!.sentences} sentences; output M makes ${nb} over ${b!.sentences}. ${token === 'M' ? 'Output M' : 'Output m'} serves the instruction better.`;
      return { text: `${why}
${token}`, kind: 'judge' };
    }
    return { text: token, logprobs, kind: 'judge' };
  }

  const verdict = arenaVerdict(y);
  const na = distinctClaims(a!.tokens);
  const nb = distinctClaims(b!.tokens);
  const text =
    `Judge notes ${encodeToken(0, JUDGE_MARK)}: I first listed the key points a strong answer to this prompt should make, then checked both answers against them.\n\n` +
    `Assistant A makes ${na} substantive claims over ${a!.sentences} sentences; Assistant B makes ${nb} substantive claims over ${b!.sentences} sentences. ` +
    `${describe(verdict)}\n\nMy final verdict is ${verdictWords(verdict)}: [[${verdict}]]`;
  return { text, kind: 'judge' };
}

const CRITERIA: Record<string, string[]> = {
  code: ['Correctness of the code on normal and edge cases', 'Complexity and efficiency', 'Clarity of the explanation'],
  math: ['Correctness of every step and of the result', 'Rigor of the argument', 'Clear presentation'],
  reasoning: ['Soundness of the logic', 'Whether all possibilities are considered', 'A clear conclusion'],
  writing: ['Following the requested form and length', 'Style and tone', 'Originality'],
  knowledge: ['Factual accuracy', 'Completeness of the key facts', 'Clarity for the intended reader'],
  advice: ['Practical, actionable steps', 'Fit to the stated situation', 'Safety and caveats'],
};

function criteria(ctx: Ctx, question: string): SimAnswer {
  const w = promptWorld(ctx.worldSeed, question);
  return { text: CRITERIA[w.topic]!.map((c) => `- ${c}`).join('\n'), kind: 'answer' };
}

function distinctClaims(tokens: Array<{ key: number; item: number }>): number {
  return new Set(tokens.filter((t) => t.item < START_MARK).map((t) => t.key * 64 + t.item)).size;
}

function describe(v: ArenaVerdict): string {
  switch (v) {
    case 'A>>B':
      return 'Assistant A is clearly more accurate and complete.';
    case 'A>B':
      return 'Assistant A is somewhat more accurate or complete.';
    case 'A=B':
      return 'The two answers are of about the same quality.';
    case 'B>A':
      return 'Assistant B is somewhat more accurate or complete.';
    case 'B>>A':
      return 'Assistant B is clearly more accurate and complete.';
  }
}

function verdictWords(v: ArenaVerdict): string {
  return { 'A>>B': 'Assistant A is significantly better', 'A>B': 'Assistant A is slightly better', 'A=B': 'tie', 'B>A': 'Assistant B is slightly better', 'B>>A': 'Assistant B is significantly better' }[v];
}

/** Sum of other judges' verdicts found in the context, as strengths for the second answer. */
function peerVerdicts(protocol: 'alpaca_eval' | 'arena_hard', context: string): number {
  let s = 0;
  if (protocol === 'arena_hard') {
    // Only verdicts that follow a sim judge's notes count: a template's list of the five options does not.
    const marks = findTokens(context).filter((t) => t.item === JUDGE_MARK);
    for (let k = 0; k < marks.length; k++) {
      const end = k + 1 < marks.length ? marks[k + 1]!.index : context.length;
      const seg = context.slice(marks[k]!.index, end);
      const found = [...seg.matchAll(/\[\[(A>>B|A>B|A=B|B>A|B>>A)\]\]/g)].pop();
      if (found && VERDICTS.includes(found[1] as ArenaVerdict)) s += verdictScore(found[1] as ArenaVerdict);
    }
  } else {
    for (const mm of context.matchAll(/(?:^|\n)\s*([mM])\s*(?=\n|$)/g)) s += mm[1] === 'M' ? 1 : -1;
  }
  return s;
}
