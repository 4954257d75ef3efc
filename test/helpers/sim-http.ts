import { afterAll, beforeAll } from 'vitest';
import { simComplete } from '../../src/sim/index.js';
import { startOpenAIServer, type FakeServer } from './openai-server.js';

/**
 * The simulated world behind a real loopback chat-completions server that records every answered request
 * (by its body) and can freeze mid-run: the tool for kill -9 tests, whose proof is the server's own count.
 */
export async function simOverHttp() {
  const completed = new Map<string, number>();
  /** Requests received and not yet answered. */
  const running = new Map<string, number>();
  let hold: Promise<void> | undefined;
  let release = () => {};
  let onCall: (() => void) | undefined;
  const server: FakeServer = await startOpenAIServer({
    handler: async (body) => {
      const key = JSON.stringify({ ...body, stream: undefined, stream_options: undefined });
      running.set(key, (running.get(key) ?? 0) + 1);
      onCall?.();
      if (hold) await hold; // frozen: the client is about to be killed
      if (running.get(key) === 1) running.delete(key);
      else running.set(key, running.get(key)! - 1);
      const c = simComplete({
        model: body.model,
        messages: body.messages,
        temperature: body.temperature,
        maxTokens: body.max_tokens ?? body.max_completion_tokens,
        seed: body.seed,
        logprobs: body.logprobs,
        topLogprobs: body.top_logprobs,
      });
      completed.set(key, (completed.get(key) ?? 0) + 1);
      return {
        text: c.text,
        finishReason: c.finishReason,
        usage: { prompt_tokens: c.usage.promptTokens, completion_tokens: c.usage.completionTokens },
        ...(c.logprobs ? { logprobs: c.logprobs.map((l) => ({ token: l.token, logprob: l.logprob, top_logprobs: l.top ?? [] })) } : {}),
      };
    },
  });
  return {
    server,
    /** Request body → times answered, since the last reset. */
    completed,
    /** Requests received and not answered yet (e.g. frozen ones). */
    inFlight(): Set<string> {
      return new Set(running.keys());
    },
    /** Freeze every answer from the n-th call (counted from now) on, then run `then`. */
    freezeAt(n: number, then: () => void) {
      let seen = 0;
      onCall = () => {
        if (seen++ === n && !hold) {
          hold = new Promise<void>((r) => (release = r));
          then();
        }
      };
    },
    unfreeze() {
      onCall = undefined;
      hold = undefined;
      release();
    },
    reset() {
      completed.clear();
    },
  };
}

/** The sim space's text with its provider pointed at a loopback server (no key). */
export function overHttp(spaceText: string, url: string): string {
  return spaceText
    .replace(/sim: \{ kind: sim.*\}/, `sim: { kind: openai, baseURL: "${url}", keyless: true, maxConcurrency: 16, maxRetries: 0 }`)
    .replace(/validation: .*/, '');
}

export type SimOverHttp = Awaited<ReturnType<typeof simOverHttp>>;

/** One simOverHttp server for the enclosing describe block: started before its tests, unfrozen and closed after. */
export function useSimOverHttp(): () => SimOverHttp {
  let sim: SimOverHttp | undefined;
  beforeAll(async () => {
    sim = await simOverHttp();
  });
  afterAll(async () => {
    sim?.unfreeze();
    await sim?.server.close();
  });
  return () => sim!;
}
