import { InputError } from '../../config/input-error.js';
import { mulberry32 } from '../../random.js';
import { boxSize, pointKey, seedFor, type SearchDims } from '../encoding.js';
import { fixedFidelity, screen, triedPoints } from './_history.js';
import { enumeratePoints } from './random.js';
import type { Strategy } from './types.js';

export const EXHAUSTIVE_LIMIT = 5000;

/** Refuse early (before any database is touched) when the space is too big to enumerate. */
export function checkExhaustive(dims: SearchDims, file?: string): void {
  const n = boxSize(dims);
  if (n > EXHAUSTIVE_LIMIT)
    throw new InputError(`--strategy exhaustive: the space has ${n} mixtures, more than ${EXHAUSTIVE_LIMIT}; use bfgs, random, greedy or archon`, { file, field: '--strategy' });
}

/**
 * Every mixture once at a fixed fidelity, in an order shuffled by the seed (so a budget or `--max-evals` cuts a
 * uniform sample rather than one corner of the box). The order depends on the seed only: resuming continues it.
 */
export const exhaustiveStrategy: Strategy = {
  name: 'exhaustive',
  suggest(view, ctx) {
    const { dims, seed } = ctx;
    checkExhaustive(dims);
    const order = enumeratePoints(dims);
    const rand = mulberry32(seedFor(seed, 0xe4a));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const tried = triedPoints(view, dims);
    const next = order.find((p) => !tried.has(pointKey(p)));
    return next ? screen(dims, next, fixedFidelity(ctx), 'exhaustive') : null;
  },
};
