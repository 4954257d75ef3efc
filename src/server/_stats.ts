import type { TraceCall } from '../moa/types.js';

/** Keeps the most recent samples only, so a long-running server's memory stays flat. */
class Window {
  private values: number[] = [];
  private next = 0;
  constructor(private readonly size = 2048) {}
  add(v: number) {
    if (this.values.length < this.size) this.values.push(v);
    else {
      this.values[this.next] = v;
      this.next = (this.next + 1) % this.size;
    }
  }
  summary(): { n: number; p50Ms: number | null; p95Ms: number | null } {
    const s = [...this.values].sort((a, b) => a - b);
    return { n: s.length, p50Ms: percentile(s, 0.5), p95Ms: percentile(s, 0.95) };
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[i]! * 10) / 10;
}

interface Totals {
  requests: number;
  ok: number;
  failed: number;
  callsMade: number;
  callsCached: number;
  callsFailed: number;
  promptTokens: number;
  completionTokens: number;
  usd: number;
}

const zero = (): Totals => ({ requests: 0, ok: 0, failed: 0, callsMade: 0, callsCached: 0, callsFailed: 0, promptTokens: 0, completionTokens: 0, usd: 0 });

export interface RequestRecord {
  id: string;
  model: string;
  status: number;
  stream: boolean;
  calls: number;
  cached: number;
  promptTokens: number;
  completionTokens: number;
  usd: number;
  wallMs: number;
  at: string;
}

/** What `GET /v1/moa/stats` shows: spend and latency, in total, per served model, per layer and per recent request. */
export class ServerStats {
  private readonly started = Date.now();
  private readonly total = zero();
  private readonly perModel = new Map<string, Totals>();
  private readonly layers = new Map<number, Window>();
  private readonly request = new Window();
  private readonly recent: RequestRecord[] = [];
  rejected = 0;
  unauthorized = 0;

  /** Record one mixture request (successful or not) with the calls it made. */
  record(rec: Omit<RequestRecord, 'calls' | 'cached' | 'promptTokens' | 'completionTokens' | 'usd' | 'at'>, calls: readonly TraceCall[]): RequestRecord {
    const t = this.perModel.get(rec.model) ?? zero();
    this.perModel.set(rec.model, t);
    const total = this.total;
    const bump = (k: keyof Totals, v: number) => {
      t[k] += v;
      total[k] += v;
    };
    const full: RequestRecord = { ...rec, calls: calls.length, cached: 0, promptTokens: 0, completionTokens: 0, usd: 0, at: new Date().toISOString() };
    for (const c of calls) {
      if (c.error) bump('callsFailed', 1);
      else if (c.cached) {
        bump('callsCached', 1);
        full.cached++;
      } else bump('callsMade', 1);
      bump('promptTokens', c.promptTokens);
      bump('completionTokens', c.completionTokens);
      if (!c.cached) bump('usd', c.costUsd);
      full.promptTokens += c.promptTokens;
      full.completionTokens += c.completionTokens;
      if (!c.cached) full.usd += c.costUsd;
    }
    bump('requests', 1);
    bump(rec.status < 400 ? 'ok' : 'failed', 1);
    // A layer's latency is its wall time in this request: first start to last end (agents run in parallel).
    const span = new Map<number, [number, number]>();
    for (const c of calls) {
      const s = span.get(c.layer);
      span.set(c.layer, s ? [Math.min(s[0], c.startMs), Math.max(s[1], c.endMs)] : [c.startMs, c.endMs]);
    }
    if (rec.status < 400) {
      for (const [layer, [a, b]] of span) {
        if (!this.layers.has(layer)) this.layers.set(layer, new Window());
        this.layers.get(layer)!.add(b - a);
      }
      this.request.add(rec.wallMs);
    }
    this.recent.push(full);
    if (this.recent.length > 100) this.recent.shift();
    return full;
  }

  snapshot<E extends object>(extra: E) {
    const view = (t: Totals) => ({
      requests: { total: t.requests, ok: t.ok, failed: t.failed },
      calls: { made: t.callsMade, cached: t.callsCached, failed: t.callsFailed },
      tokens: { prompt: t.promptTokens, completion: t.completionTokens, total: t.promptTokens + t.completionTokens },
      usd: Math.round(t.usd * 1e9) / 1e9,
    });
    return {
      object: 'moa.stats',
      uptimeS: Math.round((Date.now() - this.started) / 1000),
      ...view(this.total),
      rejected: { overloaded: this.rejected, unauthorized: this.unauthorized },
      latency: {
        request: this.request.summary(),
        layers: [...this.layers.entries()].sort((a, b) => a[0] - b[0]).map(([layer, w]) => ({ layer, ...w.summary() })),
      },
      models: Object.fromEntries([...this.perModel.entries()].map(([k, v]) => [k, view(v)])),
      recent: [...this.recent].reverse(),
      ...extra,
    };
  }
}
