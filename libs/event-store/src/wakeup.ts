/**
 * A wake-up signal for subscribers waiting for new events. The generation counter closes the
 * lost-wake-up window: a signal that arrives between "read found nothing" and "wait" makes the
 * wait return at once instead of sleeping through it.
 */
export class Wakeup {
  private generation = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.generation;
  }

  signal(): void {
    this.generation++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  wait(seenGeneration: number, timeoutMs: number): Promise<void> {
    if (seenGeneration !== this.generation) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      this.waiters.add(done);
    });
  }
}
