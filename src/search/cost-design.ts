import { mulberry32 } from '../random.js';
import type { DeploymentView } from './constraints.js';
import { pointKey, seedFor, totalCount, type Point, type SearchDims } from './encoding.js';
import { randomPoint } from './strategies/random.js';

/** Random box points added to the structured candidates (singles, one and two proposers, all models once). */
const RANDOM_POOL = 400;

/** The structured cheap end: every aggregator alone, each proposer once and each pair once under every aggregator. */
export function cheapEnd(dims: SearchDims): Point[] {
  const d = dims.proposers.length;
  const out: Point[] = [];
  const unit = (...idx: number[]) => dims.proposers.map((_, i) => (idx.includes(i) ? 1 : 0));
  for (let agg = 0; agg < dims.aggregators.length; agg++) {
    out.push({ counts: unit(), agg });
    for (let i = 0; i < d; i++) out.push({ counts: unit(i), agg });
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) out.push({ counts: unit(i, j), agg });
    out.push({ counts: dims.proposers.map(() => 1), agg });
  }
  return out;
}

/** Bin order that spreads the first picks over the whole range: ends first, then halves, quarters… */
function spreadOrder(n: number): number[] {
  if (n <= 2) return [...Array(n).keys()];
  const out = [0, n - 1];
  for (let step = n - 1; out.length < n; step /= 2) {
    for (let x = step / 2; x < n - 1; x += step) {
      const i = Math.round(x);
      if (!out.includes(i)) out.push(i);
    }
    if (step < 1) break;
  }
  for (let i = 0; i < n; i++) if (!out.includes(i)) out.push(i);
  return out;
}

/**
 * Initial design when cost matters: candidates from the cheap end and the whole box, kept when likely feasible,
 * binned by log projected cost, and one (seeded) pick per bin, ordered so that any prefix covers the cost range.
 * Depends on the seed and the projection only, so a resumed study rebuilds the same design.
 */
export function costCoveringDesign(dims: SearchDims, seed: number, deploy: DeploymentView, size: number): Point[] {
  const rand = mulberry32(seedFor(seed, 0xc057));
  const pool = new Map<string, Point>();
  for (const p of [...cheapEnd(dims), ...Array.from({ length: RANDOM_POOL }, () => randomPoint(dims, rand))]) {
    if (deploy.feasible(p)) pool.set(pointKey(p), p);
  }
  const pts = [...pool.values()].map((p) => ({ p, x: Math.log(deploy.cost(p).usd) }));
  if (!pts.length) return [];
  const lo = Math.min(...pts.map((q) => q.x));
  const hi = Math.max(...pts.map((q) => q.x));
  const bins: Point[][] = Array.from({ length: size }, () => []);
  for (const q of pts) bins[Math.min(size - 1, Math.floor(((q.x - lo) / (hi - lo || 1)) * size))]!.push(q.p);
  const out: Point[] = [];
  for (const b of spreadOrder(size)) {
    const bin = bins[b]!;
    if (!bin.length) continue;
    out.push(bin[Math.floor(rand() * bin.length)]!);
  }
  // The cheapest single model anchors the front's cheap end.
  const singles = pts.filter((q) => totalCount(q.p) === 0).sort((a, b) => a.x - b.x);
  if (singles.length && !out.some((p) => pointKey(p) === pointKey(singles[0]!.p))) out.splice(1, 0, singles[0]!.p);
  return out;
}
