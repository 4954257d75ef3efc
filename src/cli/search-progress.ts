import type { SearchEvent } from '../search/run-search.js';

/**
 * Renders search events on a stream: on a terminal one live line rewritten in place; on a pipe one plain line
 * per finished trial (logs stay readable and diffable).
 */
export class ProgressView {
  private line = '';
  private trialNo = '';
  private label = '';
  private prompts = '';
  private best = '';
  private spend = '';
  private cacheRate = '';
  /** What the study's items are called (a judge search measures pairs). */
  words = { item: 'prompt', items: 'prompts' };

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean },
    private readonly maxEvals: number | undefined,
    private readonly tty = !!out.isTTY,
  ) {}

  handle = (e: SearchEvent): void => {
    switch (e.type) {
      case 'trial-start': {
        const o = e.observation;
        this.trialNo = e.searchIndex ? `measurement ${e.searchIndex}${this.maxEvals ? `/${this.maxEvals}` : ''}` : 'reference';
        this.label = e.trial.label;
        this.prompts = '';
        const what = `${o.purpose === 'reference' ? '' : `${o.purpose}, `}${o.promptIds.length} ${o.promptIds.length === 1 ? this.words.item : this.words.items}${o.sampleOffset ? `, sample offset ${o.sampleOffset}` : ''}`;
        if (!this.tty) this.print(`${this.trialNo}: ${this.label} (${what})${e.resumed ? ' (resumed from cache)' : ''} — projected $${e.projectedUsd.toFixed(4)}`);
        break;
      }
      case 'prompt':
        this.prompts = `${e.done}/${e.total}`;
        break;
      case 'spend':
        this.spend = `$${e.spent.toFixed(4)}/$${e.budget.toFixed(2)}`;
        this.cacheRate = e.made + e.cached > 0 ? `cache ${Math.round((100 * e.cached) / (e.made + e.cached))}%` : '';
        break;
      case 'trial-end': {
        const t = e.trial;
        const o = e.observation;
        if (e.best?.score !== undefined && e.best.ci) this.best = `leader ${e.best.score.toFixed(1)} ±${((e.best.ci[1] - e.best.ci[0]) / 2).toFixed(1)} on ${e.best.prompts} ${this.words.items}`;
        const result =
          o.state === 'COMPLETE' && t.score !== undefined && t.ci
            ? `${t.score.toFixed(1)} [${t.ci[0].toFixed(1)}, ${t.ci[1].toFixed(1)}] on ${t.prompts} ${this.words.items}${t.measurements! > 1 ? ` (${t.measurements} measurements)` : ''}`
            : `FAILED: ${o.error ?? 'unknown error'}`;
        if (!this.tty) this.print(`  → ${result}; ${this.best}; spent ${this.spend}${this.cacheRate ? `; ${this.cacheRate}` : ''}`);
        else {
          this.clear();
          this.out.write(`${this.trialNo}: ${this.label} → ${result}\n`);
        }
        break;
      }
      case 'stop':
        this.clear();
        this.out.write(`stopped (${e.reason})${e.detail ? `: ${e.detail}` : ''}\n`);
        return;
    }
    if (this.tty) this.redraw();
  };

  private redraw(): void {
    // The long mixture label goes last, so a narrow terminal cuts it rather than the numbers.
    const parts = [this.trialNo, this.prompts && `${this.words.items} ${this.prompts}`, this.best, this.spend && `spent ${this.spend}`, this.cacheRate, this.label].filter(Boolean);
    const cols = (this.out as NodeJS.WriteStream).columns ?? 120;
    let text = parts.join(' · ');
    if (text.length > cols - 1) text = text.slice(0, cols - 2) + '…';
    this.line = text;
    this.out.write(`\r\x1b[K${text}`);
  }

  private clear(): void {
    if (this.tty && this.line) this.out.write('\r\x1b[K');
    this.line = '';
  }

  private print(s: string): void {
    this.out.write(s + '\n');
  }
}
