/**
 * Pareto fronts of quality (higher is better) against a cost (lower is better): USD per query, or the
 * latency proxy in TFLOPs — any non-negative "cost" axis works.
 */
export interface ParetoPoint {
  id: string;
  quality: number;
  /** null / NaN = not measurable (e.g. TFLOPs with an unknown parameter count): left out of the front. */
  cost: number | null;
  /** Confidence interval of the quality, [lo, hi]. */
  ci?: [number, number];
}

export type ParetoStatus = 'front' | 'indistinguishable' | 'dominated' | 'excluded';

export type ClassifiedPoint<P extends ParetoPoint> = P & {
  status: ParetoStatus;
  onFront: boolean;
  /** Off the front, but its CI's upper end reaches the front's quality at its cost. */
  indistinguishable: boolean;
  /** Quality of the front at this point's cost (the step function), for dominated points. */
  frontQuality?: number;
  /** Id of one front point that dominates it. */
  dominatedBy?: string;
};

export interface ParetoResult<P extends ParetoPoint> {
  /** Front points sorted by cost ascending (then quality descending, then id). */
  front: Array<ClassifiedPoint<P>>;
  /** Every input point, in input order, with its status. */
  points: Array<ClassifiedPoint<P>>;
}

const measurable = (p: ParetoPoint): p is ParetoPoint & { cost: number } =>
  typeof p.cost === 'number' && Number.isFinite(p.cost) && Number.isFinite(p.quality);

/** a dominates b: at least as good on both axes and strictly better on one. Identical points do not dominate each other. */
export function dominates(a: { quality: number; cost: number }, b: { quality: number; cost: number }): boolean {
  return a.quality >= b.quality && a.cost <= b.cost && (a.quality > b.quality || a.cost < b.cost);
}

/**
 * Classify points. A point is on the front if no other point dominates it; identical points (same quality and
 * cost) are therefore all on the front. A dominated point whose CI upper end reaches the front's quality at its
 * cost (the best quality any front point achieves at that cost or less) is `indistinguishable` from the front.
 * Points without a measurable cost are `excluded`.
 */
export function paretoFront<P extends ParetoPoint>(points: readonly P[]): ParetoResult<P> {
  const usable = points.filter(measurable) as Array<P & { cost: number }>;
  const classified = points.map((p): ClassifiedPoint<P> => {
    if (!measurable(p)) return { ...p, status: 'excluded', onFront: false, indistinguishable: false };
    const pc = p as P & { cost: number };
    const by = usable.find((q) => q !== p && dominates(q, pc));
    return by
      ? { ...p, status: 'dominated', onFront: false, indistinguishable: false, dominatedBy: by.id }
      : { ...p, status: 'front', onFront: true, indistinguishable: false };
  });
  const front = classified
    .filter((p) => p.onFront)
    .sort((a, b) => a.cost! - b.cost! || b.quality - a.quality || a.id.localeCompare(b.id));
  for (const p of classified) {
    if (p.status !== 'dominated') continue;
    let fq = -Infinity;
    for (const f of front) if (f.cost! <= p.cost! && f.quality > fq) fq = f.quality;
    p.frontQuality = fq;
    // prefer naming the front point that sets the front's level here
    p.dominatedBy = front.find((f) => f.cost! <= p.cost! && f.quality === fq)?.id ?? p.dominatedBy;
    if (p.ci && p.ci[1] >= fq) {
      p.indistinguishable = true;
      p.status = 'indistinguishable';
    }
  }
  return { front, points: classified };
}

/** Quality of the front at a given cost (step function): the best front quality at that cost or less. */
export function frontQualityAt(front: ReadonlyArray<{ quality: number; cost: number | null }>, cost: number): number | undefined {
  let best: number | undefined;
  for (const f of front) if (f.cost !== null && f.cost <= cost && (best === undefined || f.quality > best)) best = f.quality;
  return best;
}

/** The highest-quality point costing at most `maxCost` (ties: cheaper, then id); undefined when none fits. */
export function bestWithinCost<P extends ParetoPoint>(points: readonly P[], maxCost = Infinity): P | undefined {
  let best: P | undefined;
  for (const p of points) {
    if (!measurable(p) || p.cost > maxCost) continue;
    if (!best || p.quality > best.quality || (p.quality === best.quality && (p.cost < best.cost! || (p.cost === best.cost && p.id < best.id)))) best = p;
  }
  return best;
}
