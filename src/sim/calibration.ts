import { singleModelMixture, uniformMixture, type Mixture, type ModelCounts } from '../config/mixture.js';
import type { TruthOracle } from './truth.js';

// Calibration targets (MoA paper, Wang et al. ICLR 2025; AlpacaEval 2.0 and Arena-Hard leaderboards) and the
// measurements that compare the simulated world with them. Shared by the fitting script
// (bench/calibrate-sim.ts), the tests (test/sim/calibration.test.ts) and the docs table.

export const Q110 = 'Qwen/Qwen1.5-110B-Chat';
export const Q72 = 'Qwen/Qwen1.5-72B-Chat';
export const WIZ = 'microsoft/WizardLM-2-8x22B';
export const LLAMA = 'meta-llama/Llama-3-70b-chat-hf';
export const MIX22 = 'mistralai/Mixtral-8x22B-Instruct-v0.1';
export const DBRX = 'databricks/dbrx-instruct';
export const SIX_IDS = [Q110, Q72, WIZ, LLAMA, MIX22, DBRX];

/** Published single-model win rates: AlpacaEval 2.0 raw win rate, Arena-Hard score. */
export const SINGLE_TARGETS: Record<string, { alpaca_eval: number; arena_hard: number; estimated?: boolean }> = {
  [Q110]: { alpaca_eval: 33.8, arena_hard: 56.4 },
  [LLAMA]: { alpaca_eval: 33.2, arena_hard: 46.6 },
  [Q72]: { alpaca_eval: 26.5, arena_hard: 36.1 },
  [MIX22]: { alpaca_eval: 22.2, arena_hard: 36.4 },
  [DBRX]: { alpaca_eval: 18.5, arena_hard: 24.6 },
  [WIZ]: { alpaca_eval: 62.3, arena_hard: 71.3 },
  // sim-12 extras (leaderboard values where published; "estimated" ones are our guesses, not asserted).
  'Qwen/Qwen2-72B-Instruct': { alpaca_eval: 29.9, arena_hard: 46.9 },
  'google/gemma-2-27b-it': { alpaca_eval: 36.0, arena_hard: 57.5, estimated: true },
  'meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo': { alpaca_eval: 39.1, arena_hard: 55.7 },
  'meta-llama/Llama-3-8b-chat-hf': { alpaca_eval: 22.6, arena_hard: 20.6 },
  'mistralai/Mixtral-8x7B-Instruct-v0.1': { alpaca_eval: 18.3, arena_hard: 23.4 },
  'Qwen/Qwen1.5-32B-Chat': { alpaca_eval: 21.0, arena_hard: 28.0, estimated: true },
  // Closed models that do not write sim-100's references (those two baselines are set, not fitted).
  'gpt-4o-2024-05-13': { alpaca_eval: 51.3, arena_hard: 79.2 },
  'gpt-4-turbo-2024-04-09': { alpaca_eval: 46.1, arena_hard: 82.6 },
  'gpt-4o-mini-2024-07-18': { alpaca_eval: 44.7, arena_hard: 74.9 },
};

/**
 * Models released after the calibration of the others (the sim-release.yaml space): their knowledge is fitted
 * to these published numbers the same way, on their own space (AlpacaEval 2.0 leaderboard; Arena-Hard v0.1,
 * 2024-07-31).
 */
export const RELEASE_TARGETS: Record<string, { alpaca_eval: number; arena_hard: number }> = {
  'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo': { alpaca_eval: 39.1, arena_hard: 64.1 },
};

export const SINGLE_TOLERANCE = 5;
export const MOA_TOLERANCE = 5;

/** Six proposers once, 2 layers, Qwen1.5-110B aggregating: not published as such; a soft target between MoA-Lite and MoA. */
export const SIX_Q110_SOFT_TARGET = { alpaca_eval: 58.5, arena_hard: 74 };

export const MOA_TARGETS = {
  'MoA-Lite': { alpaca_eval: 57, arena_hard: 71 },
  MoA: { alpaca_eval: 60, arena_hard: 77 },
};

const once = (ids: string[]): ModelCounts => Object.fromEntries(ids.map((id) => [id, 1]));

export const MOA_LITE: Mixture = { ...uniformMixture(once(SIX_IDS), Q72, 2), name: 'MoA-Lite' };
export const MOA_FULL: Mixture = { ...uniformMixture(once(SIX_IDS), Q110, 3), name: 'MoA' };
/** The MoA paper's searched mixture. */
export const PAPER_SEARCHED: Mixture = uniformMixture({ [LLAMA]: 3, [WIZ]: 1, [Q110]: 1, [Q72]: 1 }, Q110, 2);

/**
 * Order in which proposers join for the "number of proposers" curve: the aggregator's own model first (so
 * n = 1 is the same mixture in both columns, as in the paper's Table 3), then by strength.
 */
export const PROPOSER_ORDER = [Q110, WIZ, LLAMA, Q72, MIX22, DBRX];
export const N_VALUES = [1, 2, 3, 6];

export function multiProposer(n: number): Mixture {
  return uniformMixture(once(PROPOSER_ORDER.slice(0, n)), Q110, 2);
}
/** n samples of one model (the aggregator's own, Qwen1.5-110B), same aggregator. */
export function singleProposer(n: number): Mixture {
  return uniformMixture({ [Q110]: n }, Q110, 2);
}

export interface CalibrationReport {
  singles: Record<string, { alpaca_eval: number; arena_hard: number }>;
  moa: Record<'MoA-Lite' | 'MoA', { alpaca_eval: number; arena_hard: number; score: number }>;
  /** Score (mean of sources) for n different proposers and for n samples of Qwen1.5-110B, aggregator Q110. */
  multi: number[];
  samples: number[];
  /** Six proposers once each, aggregated by WizardLM-2 vs by Qwen1.5-110B. */
  wizAggregates: number;
  q110Aggregates: number;
  /** Six proposers once each (2 layers) aggregated by each of the six, minus that aggregator's single score. */
  aggregationGain: Record<string, number>;
  sixByQ110: { alpaca_eval: number; arena_hard: number };
  /** Drop in score when each proposer leaves the six (aggregator Q110). */
  leaveOneOut: Record<string, number>;
  /** OLS of score({P: 2} → A) on single(A) and single(P) over the 6×6 grid. */
  slopes: { aggregator: number; proposer: number };
  paperSearched: number;
  allMaxCopies: number;
}

export function calibrationReport(oracle: TruthOracle, ids: string[] = SIX_IDS): CalibrationReport {
  const singles: CalibrationReport['singles'] = {};
  for (const id of Object.keys(SINGLE_TARGETS)) {
    try {
      const r = oracle(singleModelMixture(id));
      singles[id] = { alpaca_eval: r.bySource.alpaca_eval!, arena_hard: r.bySource.arena_hard! };
    } catch {
      // Models absent from the space being measured.
    }
  }
  const m = (mx: Mixture) => {
    const r = oracle(mx);
    return { alpaca_eval: r.bySource.alpaca_eval!, arena_hard: r.bySource.arena_hard!, score: r.score };
  };
  const score = (mx: Mixture) => oracle(mx).score;
  const six = score(multiProposer(6));
  const leaveOneOut: Record<string, number> = {};
  for (const id of SIX_IDS) leaveOneOut[id] = six - score(uniformMixture(once(SIX_IDS.filter((x) => x !== id)), Q110, 2));
  const mean = (id: string) => (singles[id]!.alpaca_eval + singles[id]!.arena_hard) / 2;
  const rows: Array<[number, number, number]> = [];
  for (const a of ids) for (const p of ids) rows.push([mean(a), mean(p), score(uniformMixture({ [p]: 2 }, a, 2))]);
  return {
    singles,
    moa: { 'MoA-Lite': m(MOA_LITE), MoA: m(MOA_FULL) },
    multi: N_VALUES.map((n) => score(multiProposer(n))),
    samples: N_VALUES.map((n) => score(singleProposer(n))),
    wizAggregates: score(uniformMixture(once(SIX_IDS), WIZ, 2)),
    q110Aggregates: six,
    aggregationGain: Object.fromEntries(ids.map((a) => [a, score(uniformMixture(once(SIX_IDS), a, 2)) - mean(a)])),
    sixByQ110: (({ alpaca_eval, arena_hard }) => ({ alpaca_eval, arena_hard }))(m(multiProposer(6))),
    leaveOneOut,
    slopes: ols2(rows),
    paperSearched: score(PAPER_SEARCHED),
    allMaxCopies: score(uniformMixture(Object.fromEntries(SIX_IDS.map((id) => [id, 3])), Q110, 2)),
  };
}

/** Least squares y ≈ b0 + b1·x1 + b2·x2 (normal equations, 3×3). */
export function ols2(rows: Array<[number, number, number]>): { aggregator: number; proposer: number } {
  const A = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const b = [0, 0, 0];
  for (const [x1, x2, y] of rows) {
    const v = [1, x1, x2];
    for (let i = 0; i < 3; i++) {
      b[i]! += v[i]! * y;
      for (let j = 0; j < 3; j++) A[i]![j]! += v[i]! * v[j]!;
    }
  }
  // Gaussian elimination.
  for (let c = 0; c < 3; c++) {
    let piv = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    [b[c], b[piv]] = [b[piv]!, b[c]!];
    for (let r = c + 1; r < 3; r++) {
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 3; k++) A[r]![k]! -= f * A[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < 3; k++) s -= A[r]![k]! * x[k]!;
    x[r] = s / A[r]![r]!;
  }
  return { aggregator: x[1]!, proposer: x[2]! };
}
