import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { eachUntilFailure } from '../../src/eval/_each-until-failure.js';

describe('eachUntilFailure', () => {
  it('runs every index in order, never more than `concurrency` at once', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await eachUntilFailure(10, 3, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('after the first failure starts nothing new, lets the started calls finish, then throws that failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = eachUntilFailure(10, 3, async (i) => {
      started.push(i);
      await sleep([30, 10, 50][i] ?? 0);
      if (i < 2) throw new Error(`boom ${i}`);
      finished.push(i);
    });
    await expect(run).rejects.toThrow('boom 1');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([2]); // settled before the throw
  });

  it('does nothing for no items', async () => {
    await eachUntilFailure(0, 4, async () => {
      throw new Error('never called');
    });
  });
});
