import { mulberry32 } from '../../random.js';
import { boxSize, pointKey, seedFor, totalCount, type Point, type SearchDims } from '../encoding.js';
import { countNonEmpty, fixedFidelity, screen, triedPoints } from './_history.js';
import type { Strategy } from './types.js';

/** A uniform point of the box with at least one proposer. */
export function randomPoint(dims: SearchDims, rand: () => number): Point {
  for (;;) {
    const p: Point = { counts: dims.proposers.map((m) => Math.floor(rand() * (m.max + 1))), agg: Math.floor(rand() * dims.aggregators.length) };
    const depth = Math.floor(rand() * dims.layerOptions.length);
    if (depth) p.depth = depth;
    if (totalCount(p) > 0) return p;
  }
}

/** Uniform over the integer box (at least one proposer), never repeating a mixture, each measured once at a fixed fidelity. */
export const randomStrategy: Strategy = {
  name: 'random',
  suggest(view, ctx) {
    const { dims, seed } = ctx;
    const tried = triedPoints(view, dims);
    if (boxSize(dims) - countNonEmpty(view, dims) <= 0) return null;
    const fidelity = fixedFidelity(ctx);
    const rand = mulberry32(seedFor(seed, view.trials.length, 0x5eed));
    // Rejection sampling is uniform over the untried points; fall back to enumeration when the box is nearly full.
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const p = randomPoint(dims, rand);
      if (!tried.has(pointKey(p))) return screen(dims, p, fidelity, 'uniform random');
    }
    const all = enumeratePoints(dims).filter((p) => !tried.has(pointKey(p)));
    if (!all.length) return null;
    return screen(dims, all[Math.floor(rand() * all.length)]!, fidelity, 'uniform random');
  },
};

/** Every point with at least one proposer, depth-major, aggregator, then counts in odometer order. */
export function enumeratePoints(dims: SearchDims): Point[] {
  const out: Point[] = [];
  const d = dims.proposers.length;
  for (let depth = 0; depth < dims.layerOptions.length; depth++) {
    for (let agg = 0; agg < dims.aggregators.length; agg++) {
      const c = new Array<number>(d).fill(0);
      for (;;) {
        let i = 0;
        while (i < d && c[i] === dims.proposers[i]!.max) c[i++] = 0;
        if (i === d) break;
        c[i]!++;
        out.push(depth ? { counts: c.slice(), agg, depth } : { counts: c.slice(), agg });
      }
    }
  }
  return out;
}
