import { InputError } from '../../src/config/input-error.js';

/** The InputError `fn` throws; any other outcome fails the test. */
export function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}
