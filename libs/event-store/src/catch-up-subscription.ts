import { StoreUnavailableError } from './errors';
import type { ReadAllBatch, SubscribeOptions, Subscription } from './port';
import type { Wakeup } from './wakeup';

/**
 * Catch up, then live: read batches after the cursor until none is left, then wait for a wake-up
 * (an append in this process, a NOTIFY from another, or the poll interval as the fallback).
 * The cursor moves only after `handle` resolves, so a batch is delivered again rather than lost
 * if the handler fails; a database outage pauses the loop and it resumes where it stood. Any other
 * failure (the handler throws, a read is refused) stops the subscription and goes to `onError`:
 * the owner decides whether to restart from its checkpoint.
 */
export function runCatchUpSubscription(
  readAll: (after: string | undefined, maxCount: number) => Promise<ReadAllBatch>,
  wakeup: Wakeup,
  options: SubscribeOptions,
  pollIntervalMs: number,
): Subscription {
  let cursor = options.after;
  let stopped = false;
  let retryDelay = 100;
  const loop = (async () => {
    while (!stopped) {
      const seen = wakeup.current;
      let batch: ReadAllBatch;
      try {
        batch = await readAll(cursor, options.batchSize ?? 500);
        retryDelay = 100;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) {
          stopped = true;
          options.onError?.(error);
          return;
        }
        await wakeup.wait(wakeup.current, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 5_000);
        continue;
      }
      if (stopped) return;
      if (batch.events.length === 0) {
        await wakeup.wait(seen, pollIntervalMs);
        continue;
      }
      try {
        await options.handle(batch.events, batch.checkpoint as string);
      } catch (error) {
        stopped = true;
        options.onError?.(error);
        return;
      }
      cursor = batch.checkpoint;
    }
  })();
  return {
    get checkpoint() {
      return cursor;
    },
    async stop() {
      stopped = true;
      wakeup.signal();
      await loop;
    },
  };
}

/** Registers a subscription with its store (which stops it on close) until it is stopped. */
export function tracked(subscriptions: Set<Subscription>, subscription: Subscription): Subscription {
  subscriptions.add(subscription);
  return {
    get checkpoint() {
      return subscription.checkpoint;
    },
    stop: async () => {
      subscriptions.delete(subscription);
      await subscription.stop();
    },
  };
}
