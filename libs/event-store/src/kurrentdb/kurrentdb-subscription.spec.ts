import { Readable } from 'node:stream';
import type { RecordedEvent } from '../port';
import { runLiveSubscription, type LiveSubscriptionDriver, type SubscriptionSource } from './kurrentdb-subscription';

/** A stand-in for the server: an object-mode stream per subscription, fed by the test. */
interface Item {
  n: number;
  system?: boolean;
}

class FakeServer {
  readonly log: Item[] = [];
  readonly opened: (string | undefined)[] = [];
  private live = new Set<Readable>();

  append(...items: Item[]) {
    this.log.push(...items);
    for (const stream of this.live) for (const item of items) stream.push(item);
  }

  /** Breaks every open subscription as a lost connection would. */
  drop(error: Error) {
    for (const stream of this.live) stream.destroy(error);
  }

  open(after: string | undefined): SubscriptionSource<Item> {
    this.opened.push(after);
    const from = after === undefined ? 0 : Number(after);
    const stream = new Readable({ objectMode: true, read() {} });
    for (const item of this.log.filter((entry) => entry.n > from)) stream.push(item);
    this.live.add(stream);
    return {
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
      get readableLength() {
        return stream.readableLength;
      },
      close: async () => {
        this.live.delete(stream);
        stream.destroy();
      },
    };
  }
}

const event = (n: number): RecordedEvent => ({
  streamId: 'case-1',
  version: n,
  position: BigInt(n),
  checkpoint: String(n),
  type: 'Numbered',
  data: { n },
  metadata: {} as RecordedEvent['metadata'],
  hash: '',
});

function driverFor(server: FakeServer): LiveSubscriptionDriver<Item> {
  return {
    open: (after) => server.open(after),
    decode: (item) => (item.system ? undefined : event(item.n)),
    isAfter: (checkpoint, cursor) => cursor === undefined || Number(checkpoint) > Number(cursor),
    isTransient: (error) => (error as Error).message === 'connection lost',
    translate: (error) => error,
    retryDelayMs: () => 5,
  };
}

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

const numbers = (...ranges: [number, number][]) => ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));

describe('live subscription over a KurrentDB subscription', () => {
  it('catches up in batches of at most batchSize, then delivers live events in order', async () => {
    const server = new FakeServer();
    server.append(...numbers([1, 10]).map((n) => ({ n })));
    const batches: number[][] = [];
    const subscription = runLiveSubscription(driverFor(server), {
      batchSize: 4,
      handle: async (events, checkpoint) => {
        expect(checkpoint).toBe(events[events.length - 1].checkpoint);
        batches.push(events.map((e) => e.version));
      },
    });
    await until(() => batches.flat().length === 10);
    server.append({ n: 11 }, { n: 12 });
    await until(() => batches.flat().length === 12);
    await subscription.stop();
    expect(batches.flat()).toEqual(numbers([1, 12]));
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(4);
    expect(subscription.checkpoint).toBe('12');
  });

  it('hands over one batch at a time and pulls nothing while a batch is being handled', async () => {
    const server = new FakeServer();
    server.append(...numbers([1, 6]).map((n) => ({ n })));
    let running = 0;
    let overlapped = false;
    const seen: number[] = [];
    const subscription = runLiveSubscription(driverFor(server), {
      batchSize: 2,
      handle: async (events) => {
        overlapped ||= ++running > 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(...events.map((e) => e.version));
        running--;
      },
    });
    await until(() => seen.length === 6);
    await subscription.stop();
    expect(overlapped).toBe(false);
  });

  it('skips system events and anything at or before the cursor', async () => {
    const server = new FakeServer();
    server.append({ n: 1 }, { n: 2, system: true }, { n: 3 }, { n: 3 }, { n: 2 }, { n: 4 });
    const seen: number[] = [];
    const subscription = runLiveSubscription(driverFor(server), { after: '1', handle: async (events) => void seen.push(...events.map((e) => e.version)) });
    await until(() => seen.includes(4));
    await subscription.stop();
    expect(seen).toEqual([3, 4]);
  });

  it('stops on a handler error, reports it, and keeps the checkpoint of the last handled batch', async () => {
    const server = new FakeServer();
    server.append(...numbers([1, 6]).map((n) => ({ n })));
    const failure = new Error('projection failed');
    const errors: unknown[] = [];
    let calls = 0;
    const subscription = runLiveSubscription(driverFor(server), {
      batchSize: 3,
      handle: async () => {
        if (++calls === 2) throw failure;
      },
      onError: (error) => errors.push(error),
    });
    await until(() => errors.length === 1);
    expect(errors[0]).toBe(failure);
    expect(subscription.checkpoint).toBe('3');
    server.append({ n: 7 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(2);
    await subscription.stop();
  });

  it('reopens from the cursor after a lost connection, delivering nothing twice and skipping nothing', async () => {
    const server = new FakeServer();
    server.append({ n: 1 }, { n: 2 });
    const seen: number[] = [];
    const subscription = runLiveSubscription(driverFor(server), { handle: async (events) => void seen.push(...events.map((e) => e.version)) });
    await until(() => seen.length === 2);
    server.drop(new Error('connection lost'));
    server.append({ n: 3 }, { n: 4 });
    await until(() => seen.length === 4);
    await subscription.stop();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(server.opened).toEqual([undefined, '2']);
  });

  it('stops and reports an error that is not an outage', async () => {
    const server = new FakeServer();
    const errors: unknown[] = [];
    const subscription = runLiveSubscription(driverFor(server), { handle: async () => undefined, onError: (error) => errors.push(error) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.drop(new Error('access denied'));
    await until(() => errors.length === 1);
    expect((errors[0] as Error).message).toBe('access denied');
    await subscription.stop();
    expect(server.opened).toHaveLength(1);
  });

  it('stop waits for the batch in hand, then ends without reopening', async () => {
    const server = new FakeServer();
    server.append({ n: 1 });
    let release!: () => void;
    const handled: number[] = [];
    const subscription = runLiveSubscription(driverFor(server), {
      handle: async (events) => {
        await new Promise<void>((resolve) => (release = resolve));
        handled.push(...events.map((e) => e.version));
      },
    });
    await until(() => release !== undefined);
    const stopping = subscription.stop();
    release();
    await stopping;
    expect(handled).toEqual([1]);
    expect(subscription.checkpoint).toBe('1');
    server.append({ n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(handled).toEqual([1]);
    expect(server.opened).toHaveLength(1);
  });
});
