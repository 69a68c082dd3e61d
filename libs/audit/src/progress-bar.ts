import { formatDuration, ProgressMeter } from './progress';

export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal: the bar is redrawn in place; otherwise a line is written now and then. */
  isTTY?: boolean;
}

/**
 * A one-line progress bar on stderr: done/total, rate and time left, e.g.
 *   verify [##########----------]  50.0%  500,000/1,000,000 events  121,400 events/s  ETA 0:04
 * Redrawn at most every `intervalMs` on a terminal (every 5 s as plain lines otherwise).
 */
export class ProgressBar {
  private readonly meter: ProgressMeter;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    readonly total: number,
    private readonly options: { unit?: string; width?: number; intervalMs?: number; now?: () => number } = {},
  ) {
    this.meter = new ProgressMeter(total, options.now);
    this.intervalMs = options.intervalMs ?? (out.isTTY ? 100 : 5000);
  }

  update(done: number): void {
    const now = (this.options.now ?? (() => performance.now()))();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw(done, false);
  }

  /**
   * The last drawing, ended with a new line. `total`: where the total at the start was an estimate
   * (a rebuild's is the last position handed out, past any gap a failed append left), the count
   * the finished walk found instead.
   */
  finish(done: number, total = this.total): void {
    this.draw(done, true, total);
  }

  /** The bar's text for `done` (no control characters). */
  render(done: number, total = this.total): string {
    const reading = this.meter.read(done, total);
    const width = this.options.width ?? 20;
    const filled = Math.round(reading.fraction * width);
    const count = (n: number) => Math.round(n).toLocaleString('en-US');
    return [
      `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${(reading.fraction * 100).toFixed(1).padStart(5)}%`,
      `${count(done)}/${count(total)} ${this.options.unit ?? 'events'}`,
      `${count(reading.rate)} ${this.options.unit ?? 'events'}/s`,
      `ETA ${formatDuration(reading.etaSeconds)}`,
    ].join('  ');
  }

  private draw(done: number, last: boolean, total = this.total): void {
    if (this.out.isTTY) this.out.write(`\r${this.render(done, total)}\x1b[K${last ? '\n' : ''}`);
    else this.out.write(`${this.render(done, total)}\n`);
  }
}
