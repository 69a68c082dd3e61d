/** Progress of a long walk (verification): done, total, rate and the time left at that rate. */
export interface ProgressReading {
  done: number;
  total: number;
  /** 0…1 (1 when the total is 0). */
  fraction: number;
  /** Items per second since the start. */
  rate: number;
  elapsedSeconds: number;
  /** Seconds left at the rate so far; undefined before anything was done. */
  etaSeconds: number | undefined;
}

/** Measures progress against a known total; the clock comes in so that tests are deterministic. */
export class ProgressMeter {
  private readonly started: number;

  constructor(
    readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** `total` replaces the one given at the start where the walk has since learnt the true one. */
  read(done: number, total = this.total): ProgressReading {
    const elapsedSeconds = Math.max(0, (this.now() - this.started) / 1000);
    const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
    const left = Math.max(0, total - done);
    return {
      done,
      total,
      fraction: total === 0 ? 1 : Math.min(1, done / total),
      rate,
      elapsedSeconds,
      etaSeconds: rate > 0 ? left / rate : undefined,
    };
  }
}

/** `1:05:09`, `4:07`, `0:03`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}
