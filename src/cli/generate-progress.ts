import type { GenerationProgress } from '../generate/run-generation.js';

type Out = { write(s: string): boolean; isTTY?: boolean; columns?: number };

/**
 * Progress of `generate` on stderr: on a terminal one live line (done/total, failures, dollars, rate, ETA);
 * on a pipe a plain line at every tenth of the work and at the end, so logs stay short.
 */
export class GenerateProgress {
  private readonly started = Date.now();
  private startDone = -1;
  private lastTenth = -1;
  private live = false;

  constructor(
    private readonly out: Out,
    private readonly label: string,
    private readonly tty = !!out.isTTY,
  ) {}

  handle = (p: GenerationProgress): void => {
    if (this.startDone < 0) this.startDone = p.done;
    const text = this.describe(p);
    if (this.tty) {
      const cols = this.out.columns ?? 120;
      this.out.write(`\r\x1b[K${text.length > cols - 1 ? text.slice(0, cols - 2) + '…' : text}`);
      this.live = true;
      return;
    }
    const tenth = p.total ? Math.floor((10 * p.done) / p.total) : 10;
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.out.write(text + '\n');
  };

  /** End the live line before other output. */
  done(): void {
    if (this.live) this.out.write('\n');
    this.live = false;
  }

  private describe(p: GenerationProgress): string {
    const parts = [`${this.label}: ${p.done}/${p.total} prompts`];
    if (p.done - p.ran > 0) parts.push(`${p.done - p.ran} from an earlier run`);
    if (p.failed) parts.push(`${p.failed} failed`);
    parts.push(`$${p.spentUsd.toFixed(4)} paid`);
    const secs = (Date.now() - this.started) / 1000;
    const ran = p.done - this.startDone;
    if (this.tty && ran > 0 && secs > 1) {
      const rate = ran / secs;
      parts.push(`${rate.toFixed(1)}/s`);
      const left = p.total - p.done;
      if (left > 0) parts.push(`ETA ${formatSecs(left / rate)}`);
    }
    return parts.join(' · ');
  }
}

function formatSecs(s: number): string {
  if (s < 90) return `${Math.ceil(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}
