import { normalCdf, normalPdf } from './acquisition.js';

/** A point of the quality-vs-cost plane: cost is minimized, quality maximized. */
export interface CostQuality {
  cost: number;
  quality: number;
}

/** Hypervolume reference: the worst cost and quality that still count (area is measured from here). */
export type Reference = CostQuality;

/** The non-dominated points (cost below the reference), sorted by cost ascending (so quality ascends too). */
export function nonDominated<P extends CostQuality>(points: readonly P[], ref: Reference): P[] {
  const inside = points.filter((p) => p.cost < ref.cost && p.quality > ref.quality).sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const out: P[] = [];
  for (const p of inside) if (!out.length || p.quality > out.at(-1)!.quality) out.push(p);
  return out;
}

/** Area dominated by `points` and bounded by the reference (cost below, quality above). */
export function hypervolume(points: readonly CostQuality[], ref: Reference): number {
  const front = nonDominated(points, ref);
  let area = 0;
  front.forEach((p, i) => {
    const nextCost = front[i + 1]?.cost ?? ref.cost;
    area += (nextCost - p.cost) * (p.quality - ref.quality);
  });
  return area;
}

/** E[(Z − z)₊] for Z ~ N(0, 1); its derivative in z is −P(Z > z). */
function upperPartial(z: number): number {
  return normalPdf(z) - z * (1 - normalCdf(z));
}

/**
 * Expected hypervolume improvement of adding a point of known `cost` whose quality is N(mean, sd²) to `front`
 * (exact in two dimensions): ∫ P(Q > y)·(B(y) − cost)₊ dy over quality levels y above the reference, where B(y) is
 * the cheapest cost at which the front already reaches quality y (the reference cost where it does not).
 */
export function expectedHvImprovement(front: readonly CostQuality[], ref: Reference, cost: number, mean: number, sd: number): number {
  if (cost >= ref.cost) return 0;
  const f = nonDominated(front, ref);
  const s = Math.max(sd, 1e-9);
  // Quality segments [lo, hi) with a constant B: below the front's lowest quality B is its cheapest cost, and so on up.
  const edges = [ref.quality, ...f.map((p) => p.quality), Infinity];
  let total = 0;
  for (let k = 0; k < edges.length - 1; k++) {
    const b = k < f.length ? f[k]!.cost : ref.cost;
    if (b <= cost) continue;
    const lo = edges[k]!;
    const hi = edges[k + 1]!;
    const mass = s * (upperPartial((lo - mean) / s) - (hi === Infinity ? 0 : upperPartial((hi - mean) / s)));
    total += (b - cost) * Math.max(0, mass);
  }
  return total;
}
