import type { Mixture } from '../config/mixture.js';
import { findModel, modelsWithRole, type SearchSpace } from '../config/space.js';
import { callCostUsd } from '../cost/price.js';
import { activeParamsB, callTflops } from '../cost/tflops.js';
import { projectQueryCost, TOKEN_PRIORS } from '../cost/projection.js';
import type { TokenStats } from '../cost/token-stats.js';
import { InputError } from '../config/input-error.js';
import { fromMixtureFile, pointKey, searchDims, toMixture, type Point, type SearchDims } from './encoding.js';
import type { StudyConfig, TrialRecord } from './types.js';

/** Deployment caps of a study: USD per 1,000 queries and TFLOPs per query on the critical path (latency proxy). */
export interface DeploymentCaps {
  maxCost?: number;
  maxLatency?: number;
}

/** Where each cap came from, for messages: a flag or a field of the space file. */
export interface CapSources {
  maxCost: { field: string; file?: string };
  maxLatency: { field: string; file?: string };
}

/** One query's deployment cost and latency proxy, projected or measured. */
export interface QueryCost {
  usd: number;
  latency: number | null;
}

export function capsOf(config: Pick<StudyConfig, 'maxCost' | 'maxLatency'>): DeploymentCaps {
  return { ...(config.maxCost !== undefined ? { maxCost: config.maxCost } : {}), ...(config.maxLatency !== undefined ? { maxLatency: config.maxLatency } : {}) };
}

export function hasCaps(config: Pick<StudyConfig, 'maxCost' | 'maxLatency'>): boolean {
  return config.maxCost !== undefined || config.maxLatency !== undefined;
}

/** True when the search must look at cost: a cap, or the front as the objective. */
export function costMatters(config: Pick<StudyConfig, 'maxCost' | 'maxLatency' | 'objective'>): boolean {
  return config.objective === 'pareto' || config.maxCost !== undefined || config.maxLatency !== undefined;
}

/** Whether a query cost meets the caps (an unknown latency never does when latency is capped). */
export function meetsCaps(c: QueryCost, caps: DeploymentCaps): boolean {
  if (caps.maxCost !== undefined && c.usd * 1000 > caps.maxCost * (1 + 1e-9)) return false;
  if (caps.maxLatency !== undefined && (c.latency === null || c.latency > caps.maxLatency * (1 + 1e-9))) return false;
  return true;
}

/** The measured query cost of an evaluated mixture, if its evaluation recorded one. */
export function measuredCost(t: Pick<TrialRecord, 'costPerQuery' | 'latencyProxyPerQuery'>): QueryCost | undefined {
  if (t.costPerQuery === undefined) return undefined;
  return { usd: t.costPerQuery, latency: t.latencyProxyPerQuery ?? null };
}

/** The answer rule's feasibility: an evaluated mixture fits when its *measured* cost meets the caps. */
export function measuredFits(t: Pick<TrialRecord, 'costPerQuery' | 'latencyProxyPerQuery'>, caps: DeploymentCaps): boolean {
  if (caps.maxCost === undefined && caps.maxLatency === undefined) return true;
  const c = measuredCost(t);
  return c !== undefined && meetsCaps(c, caps);
}

export function projectedQuery(m: Mixture, space: SearchSpace, stats?: TokenStats): QueryCost {
  const q = projectQueryCost(m, space, stats);
  return { usd: q.usd, latency: q.latencyProxyTflops };
}

export function projectedCost(dims: SearchDims, space: SearchSpace, p: Point, stats?: TokenStats): QueryCost {
  return projectedQuery(toMixture(dims, p), space, stats);
}

/**
 * What a cost-aware strategy reads about deployment: each point's query cost (measured when the study evaluated it,
 * else projected from the cost model and the study's measured token statistics) and whether it is likely feasible.
 */
export interface DeploymentView {
  caps: DeploymentCaps;
  cost(p: Point): QueryCost;
  feasible(p: Point): boolean;
}

export function deploymentView(dims: SearchDims, space: SearchSpace, caps: DeploymentCaps, stats: TokenStats | undefined, measured: ReadonlyMap<string, QueryCost>): DeploymentView {
  const memo = new Map<string, QueryCost>();
  const cost = (p: Point): QueryCost => {
    const k = pointKey(p);
    let c = measured.get(k) ?? memo.get(k);
    if (!c) memo.set(k, (c = projectedCost(dims, space, p, stats)));
    return c;
  };
  return { caps, cost, feasible: (p) => meetsCaps(cost(p), caps) };
}

/**
 * The cheap end of the space when cost matters: every model allowed to aggregate is a searched aggregator (so each
 * answers alone as a 1-layer baseline, and cheaper aggregators are reachable), the space's own list first.
 */
export function widenAggregators(space: SearchSpace, dims: SearchDims): SearchDims {
  const all = modelsWithRole(space, 'aggregator').map((m) => m.id);
  const aggregators = [...new Set([...dims.aggregators, ...all])];
  return { ...dims, aggregators };
}

/** The study's search box: the space's, with every aggregator-capable model added when cost matters (the cheap end). */
export function studyDims(space: SearchSpace, config: Pick<StudyConfig, 'maxCost' | 'maxLatency' | 'objective'>): SearchDims {
  const dims = searchDims(space);
  return costMatters(config) ? widenAggregators(space, dims) : dims;
}

/**
 * The least a query through `id` alone can cost: reading a typical user prompt (the prior), writing nothing. Every
 * mixture pays at least its aggregator's share of that, so a cap below it for every model can never be met.
 */
function floorOf(space: SearchSpace, id: string): QueryCost {
  const m = findModel(space, id)!;
  const p = activeParamsB(space, id);
  return { usd: callCostUsd(m, TOKEN_PRIORS.userPrompt, 0), latency: p === undefined ? null : callTflops(p, TOKEN_PRIORS.userPrompt) };
}

/**
 * Bad caps before anything is spent: a cap below the least any single model the search can reach could cost (no
 * mixture is cheaper than its aggregator answering alone). Caps above that but below what models really cost are
 * the search's to find out: it then says that nothing evaluated meets them.
 */
export function checkCaps(space: SearchSpace, dims: SearchDims, caps: DeploymentCaps, from: CapSources): void {
  const floors = dims.aggregators.map((id) => floorOf(space, id));
  if (caps.maxCost !== undefined) {
    const cheapest = Math.min(...floors.map((q) => q.usd)) * 1000;
    if (caps.maxCost < cheapest)
      throw new InputError(`${caps.maxCost} USD per 1k queries is below every model's cost (the cheapest single model costs at least $${cheapest.toPrecision(3)} per 1k queries just to read a typical prompt)`, from.maxCost);
  }
  if (caps.maxLatency !== undefined) {
    const known = floors.map((q) => q.latency).filter((t): t is number => t !== null);
    if (!known.length) throw new InputError('no searchable model has a parameter count (params), so no latency can be projected', from.maxLatency);
    const fastest = Math.min(...known);
    if (caps.maxLatency < fastest) throw new InputError(`${caps.maxLatency} TFLOPs per query is below every model's latency proxy (the fastest single model needs at least ${fastest.toPrecision(3)} to read a typical prompt)`, from.maxLatency);
  }
}

/** The deployment view of a study's session: measured costs of its evaluated mixtures, projections for the rest. */
export function studyDeployment(dims: SearchDims, space: SearchSpace, caps: DeploymentCaps, stats: TokenStats | undefined, trials: readonly TrialRecord[]): DeploymentView {
  const measured = new Map<string, QueryCost>();
  for (const t of trials) {
    const p = fromMixtureFile(dims, t.mixture);
    const c = measuredCost(t);
    if (p && c) measured.set(pointKey(p), c);
  }
  return deploymentView(dims, space, caps, stats, measured);
}
