/** A one-line progress bar on stderr: done/total, rate and ETA (redrawn in place on a terminal). */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastDone = -1;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, force = false): void {
    const now = Date.now();
    if ((!force && now - this.lastDraw < 200) || (force && done === this.lastDone)) return;
    this.lastDraw = now;
    this.lastDone = done;
    if (done > this.total) this.total = done;
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    const rate = done / seconds;
    const fraction = this.total ? done / this.total : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done.toLocaleString('en')}/${this.total.toLocaleString('en')} ${Math.round(rate).toLocaleString('en')} ev/s ETA ${formatSeconds(eta)}`;
    this.stream.write(this.stream.isTTY ? `\r${line}` : `${line}\n`);
  }

  finish(done: number): void {
    this.update(done, true);
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
