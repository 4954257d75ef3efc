import { parseSpace } from '../../src/config/index.js';
import type { MixtureRun, TraceCall } from '../../src/moa/types.js';

/** A: dense 10B at $1/$2 per 1M; B: MoE 100B total / 20B active at $3/$6; C: no parameter count. */
export const space = parseSpace(
  `
providers:
  local: { baseURL: "http://127.0.0.1:1/v1", keyless: true }
models:
  - { id: A, provider: local, label: Aa, price: { input: 1, output: 2 }, params: { total: 10, active: 10 }, maxCopies: 3 }
  - { id: B, provider: local, price: { input: 3, output: 6 }, params: { total: 100, active: 20 } }
  - { id: C, provider: local, price: { input: 0.5, output: 0.5 } }
`,
  'space.yaml',
);

let key = 0;
export function call(p: Partial<TraceCall> & Pick<TraceCall, 'layer' | 'role' | 'model' | 'promptTokens' | 'completionTokens'>): TraceCall {
  return {
    sample: 0,
    estimated: false,
    costUsd: 0,
    latencyMs: 0,
    cached: false,
    finishReason: 'stop',
    key: `k${key++}`,
    startMs: 0,
    endMs: 0,
    ...p,
  };
}

export function run(calls: TraceCall[]): MixtureRun {
  return { text: 'x', finishReason: 'stop', calls, wallMs: Math.max(0, ...calls.map((c) => c.endMs)) };
}
