import { findModel, type SearchSpace } from '../config/space.js';
import type { Mixture } from '../config/mixture.js';
import type { ValidationItem } from '../eval/types.js';
import { findTokens } from './_codec.js';
import { aggregateFiller, aggregateProb, attention, keepRate, modelOnPrompt, type ModelOnPrompt } from './_behavior.js';
import { expectedAlpaca, expectedArena, perceivedQuality, type Protocol } from './_judge.js';
import { lookupProfile, PROFILES, type SimProfile } from './_profiles.js';
import { countSentences } from './_text.js';
import { promptWorld, type PromptWorld } from './_world.js';

// Ground truth: a mixture's EXPECTED score on a validation set — the expectation over proposer and
// aggregator sampling, judge noise and the two presentation orders — computed analytically.
//
// Why it can be exact: given the world (what each model knows), every point and misconception of a prompt
// is stated independently of the others at every layer (each decision depends only on how many references
// state that same item and on how many references there are). So for each item the number of references
// stating it is a small Markov chain across layers, the final answer states it with a computable
// probability, and the judge's perceived quality — an integer-weighted sum of independent indicators
// plus a length credit — has an exact distribution on an integer lattice (a small convolution DP).
// The judge's expected preference for each lattice value is tabulated once per judge and protocol.

export class SimTruthError extends Error {
  override readonly name = 'SimTruthError';
  constructor(
    readonly reason: 'not-sim' | 'unsupported' | 'no-judge' | 'unknown-model',
    message: string,
  ) {
    super(message);
  }
}

export interface TruthResult {
  /** Mean of per-source expected win rates, 0–100. */
  score: number;
  bySource: Record<string, number>;
  /** Expected preference (0–1) per validation item, in input order. */
  perItem: number[];
}

export interface TruthOptions {
  space: SearchSpace;
  items: ValidationItem[];
  /** Judge model id (default: the space's judge). */
  judge?: string;
  /** Default: the sim provider's worldSeed in the space, else 0. */
  worldSeed?: number;
  /** Profiles instead of the built-ins (calibration). */
  profiles?: ReadonlyMap<string, SimProfile>;
  /** Sampling temperature of the mixture's agents (default: the space's generation temperature). */
  temperature?: number;
  /** Use the general layer chain even where the 2-layer closed form applies (tests compare the two). */
  forceChain?: boolean;
}

export type TruthOracle = (mixture: Mixture) => TruthResult;

const DMAX = 1000;

interface ItemCtx {
  world: PromptWorld;
  /** Lattice steps of the perceived quality: w_j + λ per point, v_i − λ (downwards) per misconception. */
  pointSteps: Int32Array;
  misSteps: Int32Array;
  lo: number;
  size: number;
  source: string;
  protocol: Protocol;
  refQuality: number;
  models: Map<string, ModelOnPrompt>;
  /** log(1 − π·κ) per (aggregator, n, model) for points and misconceptions (the 2-layer fast path). */
  logs: Map<number, { p: Float64Array; m: Float64Array }>;
}

/** A reusable oracle: precomputes per prompt, per model and per judge once; each call is cheap arithmetic. */
export function createTruthOracle(opts: TruthOptions): TruthOracle {
  const { space, items } = opts;
  const profiles = opts.profiles ?? PROFILES;
  const simProviders = Object.entries(space.providers).filter(([, p]) => p.kind === 'sim');
  const worldSeed = opts.worldSeed ?? simProviders[0]?.[1].worldSeed ?? 0;
  const temperature = opts.temperature ?? space.generation.temperature;

  const profileOf = new Map<string, SimProfile>();
  const resolve = (id: string): SimProfile => {
    const hit = profileOf.get(id);
    if (hit) return hit;
    const m = findModel(space, id);
    if (!m) throw new SimTruthError('unknown-model', `unknown model "${id}" (not in ${space.file})`);
    if (space.providers[m.provider]?.kind !== 'sim') throw new SimTruthError('not-sim', `model "${id}" is not simulated (provider "${m.provider}" is not kind: sim)`);
    const p = lookupProfile(profiles, m.upstream ?? m.id);
    if (!p) throw new SimTruthError('unknown-model', `model "${id}": no sim profile "${m.upstream ?? m.id}"`);
    profileOf.set(id, p);
    return p;
  };

  const judgeId = opts.judge ?? space.judge?.model;
  if (!judgeId) throw new SimTruthError('no-judge', `${space.file}: no judge model (set judge.model in the space)`);
  if (!opts.judge && space.judge?.mixture) throw new SimTruthError('unsupported', 'ground truth for a mixture judge (MoA as judge) is not computed; use a single judge model');
  const judge = resolve(judgeId).judge;
  const lambda = judge.lengthCredit;
  if (!Number.isInteger(lambda)) throw new SimTruthError('unsupported', `judge length credit must be an integer for exact truth (got ${lambda})`);
  const protocolSetting = space.judge?.protocol ?? 'auto';
  const tables: Record<Protocol, Float64Array> = {
    alpaca_eval: tabulate((d) => expectedAlpaca(d, judge)),
    arena_hard: tabulate((d) => expectedArena(d, judge)),
  };

  const ctxs: ItemCtx[] = items.map((it) => {
    const world = promptWorld(worldSeed, it.prompt);
    const pointSteps = Int32Array.from(world.pointWeights, (w) => w + lambda);
    const misSteps = Int32Array.from(world.misWeights, (v) => v - lambda);
    const hi = pointSteps.reduce((a, b) => a + b, 0);
    const lo = -misSteps.reduce((a, b) => a + b, 0);
    return {
      world,
      pointSteps,
      misSteps,
      lo,
      size: hi - lo + 1,
      source: it.source,
      protocol: protocolSetting === 'auto' ? (it.source === 'alpaca_eval' ? 'alpaca_eval' : 'arena_hard') : protocolSetting,
      refQuality: referenceQuality(worldSeed, it.reference, lambda),
      models: new Map(),
      logs: new Map(),
    };
  });

  const mop = (c: ItemCtx, id: string): ModelOnPrompt => {
    let r = c.models.get(id);
    if (!r) c.models.set(id, (r = modelOnPrompt(worldSeed, resolve(id), c.world)));
    return r;
  };

  const sources = [...new Set(items.map((i) => i.source))];
  const modelIdx = new Map<string, number>();
  const modelIndex = (id: string) => {
    let k = modelIdx.get(id);
    if (k === undefined) modelIdx.set(id, (k = modelIdx.size));
    return k;
  };
  const lpBuf = new Float64Array(64);
  const lmBuf = new Float64Array(64);
  const hot = temperature > 0;
  const dp = new Float64Array(4096);

  return (mixture: Mixture): TruthResult => {
    if (mixture.mode === 'rank') throw new SimTruthError('unsupported', 'ground truth for rank-mode mixtures is not computed (the pick couples all points); estimate it by running the mixture');
    const layers = mixture.proposerLayers.map((l) => Object.entries(l).filter(([, n]) => n > 0));
    const agg = resolve(mixture.aggregator);
    const summarizer = mixture.summarizer ? resolve(mixture.summarizer) : undefined;
    for (const l of layers) for (const [id] of l) resolve(id);
    const perItem: number[] = new Array(items.length);
    const J_MAX = 64;
    const pState = new Float64Array(J_MAX);
    const mState = new Float64Array(J_MAX);

    for (let k = 0; k < ctxs.length; k++) {
      const c = ctxs[k]!;
      const w = c.world;
      const J = w.pointWeights.length;
      const I = w.misWeights.length;
      const aggM = mop(c, mixture.aggregator);
      let filler: number;
      if (layers.length === 0) {
        for (let j = 0; j < J; j++) pState[j] = hot ? aggM.pointProb[j]! : aggM.pointProb[j]! >= 0.5 ? 1 : 0;
        for (let i = 0; i < I; i++) mState[i] = hot ? aggM.misProb[i]! : aggM.misProb[i]! >= 0.5 ? 1 : 0;
        filler = aggM.filler;
      } else {
        const nLast = summarizer ? 1 : layers[layers.length - 1]!.reduce((s, [, n]) => s + n, 0);
        filler = aggregateFiller(agg, aggM, nLast);
        if (layers.length === 1 && hot && !summarizer && !opts.forceChain) twoLayerFast(c, layers[0]!, mixture.aggregator, agg, aggM, nLast, pState, mState);
        else chain(c, layers, agg, aggM, summarizer, pState, mState);
      }
      const shift = lambda * (filler + 2) - c.refQuality;
      const e = expectedPreference(c.pointSteps, pState, c.misSteps, mState, c.lo, c.size, tables[c.protocol], shift, dp);
      perItem[k] = e;
    }
    return summarize(perItem);
  };

  function summarize(perItem: number[]): TruthResult {
    const bySource: Record<string, number> = {};
    for (const s of sources) {
      let sum = 0;
      let n = 0;
      for (let k = 0; k < items.length; k++) if (items[k]!.source === s) (sum += perItem[k]!), n++;
      bySource[s] = (100 * sum) / n;
    }
    const vals = Object.values(bySource);
    return { score: vals.reduce((x, y) => x + y, 0) / Math.max(1, vals.length), bySource, perItem };
  }

  /** Two layers at temperature > 0: E[(1−κ)^c] = Π_M (1 − π_M κ)^{n_M}, closed form. */
  function twoLayerFast(c: ItemCtx, layer: Array<[string, number]>, aggId: string, agg: SimProfile, aggM: ModelOnPrompt, n: number, pState: Float64Array, mState: Float64Array) {
    const J = c.world.pointWeights.length;
    const I = c.world.misWeights.length;
    lpBuf.fill(0, 0, J);
    lmBuf.fill(0, 0, I);
    const aggIdx = modelIndex(aggId);
    for (const [id, copies] of layer) {
      const key = (aggIdx * 4096 + n) * 4096 + modelIndex(id);
      let L = c.logs.get(key);
      if (!L) {
        const att = attention(agg, n);
        const m = mop(c, id);
        const kp = keepRate(agg, c.world.kind) * att;
        const km = agg.agg.pass * att;
        L = { p: new Float64Array(J), m: new Float64Array(I) };
        for (let j = 0; j < J; j++) L.p[j] = Math.log(1 - m.pointProb[j]! * kp);
        for (let i = 0; i < I; i++) L.m[i] = Math.log(1 - m.misProb[i]! * km);
        c.logs.set(key, L);
      }
      const lp = L.p;
      const lm = L.m;
      for (let j = 0; j < J; j++) lpBuf[j] += copies * lp[j]!;
      for (let i = 0; i < I; i++) lmBuf[i] += copies * lm[i]!;
    }
    const op = aggM.ownPoint;
    const om = aggM.ownMis;
    for (let j = 0; j < J; j++) pState[j] = 1 - (1 - op[j]!) * Math.exp(lpBuf[j]!);
    for (let i = 0; i < I; i++) mState[i] = 1 - (1 - om[i]!) * Math.exp(lmBuf[i]!);
  }

  /**
   * Any depth, any temperature, with or without a summarizer: per item, the distribution of the number of
   * references stating it, pushed through each layer (Poisson-binomial transitions), then the final pick.
   */
  function chain(c: ItemCtx, layers: Array<Array<[string, number]>>, agg: SimProfile, aggM: ModelOnPrompt, summarizer: SimProfile | undefined, pState: Float64Array, mState: Float64Array) {
    const J = c.world.pointWeights.length;
    const I = c.world.misWeights.length;
    const layerProfiles = layers.map((l) => l.map(([id]) => resolve(id)));
    const layerMops = layers.map((l) => l.map(([id]) => mop(c, id)));
    const sizes = layers.map((l) => l.reduce((s, [, k]) => s + k, 0));
    const maxN = Math.max(...sizes) + 1;
    let dist = new Float64Array(maxN + 1);
    let next = new Float64Array(maxN + 1);
    const sub = new Float64Array(maxN + 1);
    const mode = (p: number) => (hot ? p : p >= 0.5 ? 1 : 0);
    for (let isMis = 0; isMis < 2; isMis++) {
      const count = isMis ? I : J;
      for (let j = 0; j < count; j++) {
        // Layer 1: proposers answer the prompt.
        dist.fill(0);
        dist[0] = 1;
        let len = 1; // support 0..len-1
        const l0 = layers[0]!;
        for (let k = 0; k < l0.length; k++) {
          const m = layerMops[0]![k]!;
          const p = mode(isMis ? m.misProb[j]! : m.pointProb[j]!);
          for (let copy = 0; copy < l0[k]![1]; copy++) len = pbStep(dist, len, p);
        }
        let n = sizes[0]!;
        for (let l = 1; l <= layers.length; l++) {
          if (summarizer) {
            // The digest keeps an item iff some reference states it; the next layer reads one reference.
            const keep = 1 - dist[0]!;
            dist.fill(0);
            dist[0] = 1 - keep;
            dist[1] = keep;
            len = 2;
            n = 1;
          }
          if (l === layers.length) {
            const att = attention(agg, n);
            const own = isMis ? aggM.ownMis[j]! : aggM.ownPoint[j]!;
            const per = (isMis ? agg.agg.pass : keepRate(agg, c.world.kind)) * att;
            let p = 0;
            for (let cnt = 0; cnt < len; cnt++) if (dist[cnt]! > 0) p += dist[cnt]! * mode(aggregateProb(own, per, cnt));
            (isMis ? mState : pState)[j] = p;
            break;
          }
          const lm = layers[l]!;
          next.fill(0);
          let nextLen = 1;
          for (let cnt = 0; cnt < len; cnt++) {
            const wgt = dist[cnt]!;
            if (!(wgt > 0)) continue;
            sub.fill(0);
            sub[0] = 1;
            let sl = 1;
            for (let k = 0; k < lm.length; k++) {
              const prof = layerProfiles[l]![k]!;
              const m = layerMops[l]![k]!;
              const own = isMis ? m.ownMis[j]! : m.ownPoint[j]!;
              const per = (isMis ? prof.agg.pass : keepRate(prof, c.world.kind)) * attention(prof, n);
              const p = mode(aggregateProb(own, per, cnt));
              for (let copy = 0; copy < lm[k]![1]; copy++) sl = pbStep(sub, sl, p);
            }
            for (let v = 0; v < sl; v++) next[v]! += wgt * sub[v]!;
            if (sl > nextLen) nextLen = sl;
          }
          [dist, next] = [next, dist];
          len = nextLen;
          n = sizes[l]!;
        }
      }
    }
  }
}

/** Add one Bernoulli(p) to a count distribution with support 0..len-1; returns the new length. */
function pbStep(d: Float64Array, len: number, p: number): number {
  const q = 1 - p;
  d[len] = d[len - 1]! * p;
  for (let k = len - 1; k >= 1; k--) d[k] = d[k]! * q + d[k - 1]! * p;
  d[0] = d[0]! * q;
  return len + 1;
}

/**
 * E[table(Q − Q_ref)] where Q = Σ_j pointSteps_j·X_j − Σ_i misSteps_i·Y_i + shift + Q_ref, X, Y independent
 * Bernoulli: the exact distribution by an in-place convolution DP on the integer lattice.
 */
function expectedPreference(
  pointSteps: Int32Array,
  pState: Float64Array,
  misSteps: Int32Array,
  mState: Float64Array,
  lo: number,
  size: number,
  table: Float64Array,
  shift: number,
  dp: Float64Array,
): number {
  dp.fill(0, 0, size);
  let a = -lo; // index of value 0; the value of index s is s + lo
  let b = a;
  dp[a] = 1;
  for (let j = 0; j < pointSteps.length; j++) {
    const step = pointSteps[j]!;
    const p = pState[j]!;
    if (p <= 1e-15) continue;
    const q = 1 - p;
    for (let s = b; s >= a; s--) {
      const v = dp[s]!;
      dp[s + step] += p * v;
      dp[s] = q * v;
    }
    b += step;
  }
  for (let i = 0; i < misSteps.length; i++) {
    const step = misSteps[i]!;
    const p = mState[i]!;
    if (p <= 1e-15) continue;
    const q = 1 - p;
    for (let s = a; s <= b; s++) {
      const v = dp[s]!;
      dp[s - step] += p * v;
      dp[s] = q * v;
    }
    a -= step;
  }
  const off = shift + lo + DMAX;
  let e = 0;
  for (let s = a; s <= b; s++) {
    const m = dp[s]!;
    if (m === 0) continue;
    let d = s + off;
    if (d < 0) d = 0;
    else if (d > 2 * DMAX) d = 2 * DMAX;
    e += m * table[d]!;
  }
  return e;
}

const refCache = new Map<string, number>();

/** How the judge perceives a reference (sim references: exact; other text: no verifiable points, its sentences). */
function referenceQuality(worldSeed: number, text: string, lambda: number): number {
  const k = `${worldSeed}|${lambda}|${text}`;
  let q = refCache.get(k);
  if (q === undefined) {
    q = perceivedQuality(worldSeed, findTokens(text), countSentences(text), lambda);
    if (refCache.size > 10_000) refCache.clear();
    refCache.set(k, q);
  }
  return q;
}

function tabulate(f: (delta: number) => number): Float64Array {
  const t = new Float64Array(2 * DMAX + 1);
  for (let d = -DMAX; d <= DMAX; d++) t[d + DMAX] = f(d);
  return t;
}

/** One mixture's expected score (builds a fresh oracle; use createTruthOracle for many mixtures). */
export function simTruth(opts: TruthOptions & { mixture: Mixture }): TruthResult {
  return createTruthOracle(opts)(opts.mixture);
}
