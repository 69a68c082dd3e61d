import type { RecordedEvent, SubscribeOptions, Subscription } from '../port';

/**
 * One server-side subscription as the runner sees it: a pull-based stream of items (the client's
 * subscription is a Node Readable, so not pulling pauses it and gRPC flow control stops the
 * server), how many items are already buffered, and how to end it.
 */
export interface SubscriptionSource<Item> extends AsyncIterable<Item> {
  readonly readableLength: number;
  close(): Promise<void>;
}

export interface LiveSubscriptionDriver<Item> {
  /** Opens a subscription delivering what comes strictly after `after` (undefined: the start). */
  open(after: string | undefined): SubscriptionSource<Item>;
  /** The event an item carries, or undefined to skip it (system or foreign events). */
  decode(item: Item): RecordedEvent | undefined;
  /** Is `checkpoint` strictly after `cursor`? Guards against a server that resends the boundary. */
  isAfter(checkpoint: string, cursor: string | undefined): boolean;
  /** A lost connection: reopen from the cursor after a pause instead of stopping. */
  isTransient(error: unknown): boolean;
  /** The error `onError` reports for a failure that is not the handler's. */
  translate(error: unknown): unknown;
  /** Pause before reopening after the n-th consecutive failure (0-based). */
  retryDelayMs?(failures: number): number;
}

/** Marks a failure of the caller's handler, so it is never mistaken for a dropped connection. */
class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Catch up, then live, over the server's own subscription: items are read one at a time and
 * gathered into a batch that goes to `handle` when it is full or nothing more is buffered. The
 * next item is pulled only after `handle` resolves, so batches are sequential and the cursor moves
 * only past handled events. A handler error stops the subscription (reported through `onError`);
 * a dropped connection reopens it from the cursor, so nothing is skipped and, with the handler
 * committing its checkpoint atomically, nothing is applied twice.
 */
export function runLiveSubscription<Item>(driver: LiveSubscriptionDriver<Item>, options: SubscribeOptions): Subscription {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  let cursor = options.after;
  let stopped = false;
  let source: SubscriptionSource<Item> | undefined;
  let wakeFromPause: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      function done() {
        clearTimeout(timer);
        wakeFromPause = undefined;
        resolve();
      }
      wakeFromPause = done;
    });

  const fail = (error: unknown) => {
    stopped = true;
    options.onError?.(error);
  };

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      let batch: RecordedEvent[] = [];
      try {
        source = driver.open(cursor);
        for await (const item of source) {
          if (stopped) break;
          const event = driver.decode(item);
          const last = batch.length ? batch[batch.length - 1].checkpoint : cursor;
          if (event && driver.isAfter(event.checkpoint, last)) batch.push(event);
          if (batch.length > 0 && (batch.length >= batchSize || source.readableLength === 0)) {
            const handled = batch;
            batch = [];
            const checkpoint = handled[handled.length - 1].checkpoint;
            try {
              await options.handle(handled, checkpoint);
            } catch (error) {
              throw new HandlerFailure(error);
            }
            cursor = checkpoint;
            failures = 0;
          }
        }
        // The server ended the subscription without an error: open it again from the cursor.
      } catch (error) {
        if (error instanceof HandlerFailure) {
          fail(error.cause);
          break;
        }
        if (stopped) break;
        if (!driver.isTransient(error)) {
          fail(driver.translate(error));
          break;
        }
      } finally {
        const ending = source;
        source = undefined;
        await ending?.close().catch(() => undefined);
      }
      if (stopped) break;
      await pause(driver.retryDelayMs?.(failures) ?? Math.min(100 * 2 ** failures, 5_000));
      failures++;
    }
  })();

  return {
    get checkpoint() {
      return cursor;
    },
    async stop() {
      stopped = true;
      wakeFromPause?.();
      // Ends a wait for the next item; a batch being handled finishes first (the loop awaits it).
      await source?.close().catch(() => undefined);
      await loop;
    },
  };
}
