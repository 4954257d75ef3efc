// An in-memory study on a synthetic objective: strategies suggest, measurements are simulated per prompt with a
// prompt difficulty and judging noise, records are built exactly as the store builds them. No database, no sim.
import { mixtureKey, mixtureName, toMixtureFile } from '../../src/config/index.js';
import type { PromptOutcome, ValidationItem } from '../../src/eval/types.js';
import { hashSeed, mulberry32 } from '../../src/random.js';
import type { CostModel } from '../../src/search/budget-plan.js';
import { pointKey, toMixture, totalCount, type Point, type SearchDims } from '../../src/search/encoding.js';
import { fidelityPlan, promptsSeen, promptsToMeasure } from '../../src/search/fidelity.js';
import { aggregateMeasurements } from '../../src/search/observations.js';
import type { Strategy, StrategyContext, StudyView, Suggestion } from '../../src/search/strategies/types.js';
import type { ObservationRecord, TrialRecord } from '../../src/search/types.js';

export function syntheticItems(n: number): ValidationItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `q${String(i).padStart(3, '0')}`, source: i % 2 ? 'arena_hard' : 'alpaca_eval', prompt: `prompt ${i}`, reference: 'ref' }));
}

/** USD per judged prompt: 0.4 cent plus 0.4 cent per proposer copy (cheap screens, dear big mixtures). */
export function syntheticCost(dims: SearchDims): CostModel {
  return {
    measurement(mixture, promptIds) {
      const copies = Object.values(mixture.proposerLayers[0] ?? {}).reduce((a, b) => a + b, 0);
      return promptIds.length * 0.004 * (1 + copies) * (mixture.aggregator === dims.aggregators[1] ? 2 : 1);
    },
  };
}

const gauss = (u1: number, u2: number) => Math.sqrt(-2 * Math.log(u1 + 1e-12)) * Math.cos(2 * Math.PI * u2);

export interface SyntheticOptions {
  prompts?: number;
  /** SD of one judgment (score points), as judging and sampling noise. */
  noiseSd?: number;
  /** SD of prompt difficulty (score points), shared by every mixture. */
  difficultySd?: number;
  seed?: number;
  budget?: number;
}

export class SyntheticStudy {
  readonly items: ValidationItem[];
  readonly trials: TrialRecord[] = [];
  readonly observations: ObservationRecord[] = [];
  spent = 0;
  private readonly difficulty: number[];

  constructor(
    readonly dims: SearchDims,
    readonly f: (p: Point) => number,
    readonly opts: SyntheticOptions = {},
  ) {
    this.items = syntheticItems(opts.prompts ?? 100);
    const rand = mulberry32(opts.seed ?? 0);
    this.difficulty = this.items.map(() => (opts.difficultySd ?? 10) * gauss(rand(), rand()));
  }

  get view(): StudyView {
    return { trials: this.trials, observations: this.observations };
  }

  ctx(seed: number, over: Partial<StrategyContext> = {}): StrategyContext {
    const cost = syntheticCost(this.dims);
    return {
      dims: this.dims,
      seed,
      items: this.items,
      fidelity: fidelityPlan(this.items, seed, 3),
      budget: { total: this.opts.budget ?? 1e9, spent: this.spent },
      cost,
      prior: cost,
      ...over,
    };
  }

  /** Expected score of a point on these prompts (the truth the benchmark would use). */
  truth(p: Point): number {
    return this.f(p) + this.difficulty.reduce((a, b) => a + b, 0) / this.difficulty.length;
  }

  /** Take the suggested measurement; false when it does not fit the budget. */
  apply(s: Suggestion, seed: number): boolean {
    const key = mixtureKey(s.mixture);
    let trial = this.trials.find((t) => t.mixtureKey === key);
    if (!trial) {
      trial = { studyName: 't', number: this.trials.length, kind: 'search', strategy: 'x', mixture: toMixtureFile(s.mixture), mixtureKey: key, label: mixtureName(s.mixture), state: 'RUNNING', startedAt: '' };
      this.trials.push(trial);
    }
    const plan = this.ctx(seed).fidelity;
    const ids = promptsToMeasure(plan, promptsSeen(this.observations, trial.number), s.fidelity, s.sampleOffset);
    if (!ids.length) throw new Error(`measurement repeated: ${key} ${s.fidelity} ${s.sampleOffset}`);
    const usd = syntheticCost(this.dims).measurement(s.mixture, ids, s.sampleOffset);
    if (this.spent + usd > (this.opts.budget ?? 1e9)) return false;
    this.spent += usd;
    const perPrompt: PromptOutcome[] = ids.map((id) => {
      const i = this.items.findIndex((it) => it.id === id);
      const r = mulberry32(hashSeed(pointKey(s.point), id, s.sampleOffset, this.opts.seed ?? 0));
      const y = this.f(s.point) + this.difficulty[i]! + (this.opts.noiseSd ?? 15) * gauss(r(), r());
      return { id, source: this.items[i]!.source, preference: Math.min(1, Math.max(0, y / 100)), candidateChars: 1, referenceChars: 1, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 };
    });
    const o: ObservationRecord = { studyName: 't', number: this.observations.length, trial: trial.number, purpose: s.purpose, strategy: 'x', fidelity: s.fidelity, sampleOffset: s.sampleOffset, promptIds: ids, state: 'COMPLETE', startedAt: '', spent: usd, perPrompt };
    o.score = aggregateMeasurements([o]).score!;
    this.observations.push(o);
    Object.assign(trial, aggregateMeasurements(this.observations.filter((x) => x.trial === trial!.number)), { state: 'COMPLETE' });
    return true;
  }

  /** Let a strategy run until it stops, the budget stops it or `steps` measurements were taken. */
  run(strategy: Strategy, seed: number, steps: number, over: Partial<StrategyContext> = {}): this {
    for (let i = 0; i < steps; i++) {
      const s = strategy.suggest(this.view, this.ctx(seed, over));
      if (!s) break;
      if (totalCount(s.point) === 0 && s.purpose === 'screen') throw new Error('screened the aggregator alone');
      if (JSON.stringify(s.mixture) !== JSON.stringify(toMixture(this.dims, s.point))) throw new Error('mixture and point disagree');
      if (!this.apply(s, seed)) break;
    }
    return this;
  }
}
