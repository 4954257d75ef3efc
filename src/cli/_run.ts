import { InvalidArgumentError } from 'commander';
import { isInputError } from '../config/input-error.js';

/** Print one line and set the exit code: 2 for bad input, 1 for runtime failures. */
export function failWith(e: unknown): never {
  if (isInputError(e)) {
    process.stderr.write(`moa-search: ${e.message}\n`);
    process.exit(2);
  }
  const err = e as Error;
  const msg = (err?.message ?? String(e)).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`moa-search: error: ${msg}\n`);
  if (process.env.MOA_SEARCH_DEBUG && err?.stack) process.stderr.write(err.stack + '\n');
  process.exit(1);
}

/** Wrap a command action so errors become one line and the right exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      failWith(e);
    }
  };
}

/** commander argument parsers: an invalid value is a usage error (exit 2). */
export function numberArg(opts: { min?: number; max?: number; integer?: boolean; positive?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number.');
    if (opts.integer && !Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number.');
    if (opts.positive && !(n > 0)) throw new InvalidArgumentError('must be greater than 0.');
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`must be at least ${opts.min}.`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`must be at most ${opts.max}.`);
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
