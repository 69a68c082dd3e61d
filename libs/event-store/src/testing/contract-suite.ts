import { randomUUID } from 'node:crypto';
import {
  DuplicateEventIdError,
  EventTooLargeError,
  InvalidCheckpointError,
  InvalidEventError,
  InvalidExpectedVersionError,
  InvalidStreamNameError,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from '../errors';
import type { EventStore, NewEvent, RecordedEvent } from '../port';
import { UpcasterRegistry } from '../upcasting';
import { readLinks } from '../hash-chain';
import { verifyChains, verifyPage, verifyStore, verifyStream } from '../verification';
import { testEvent, testStream } from './events';

/** What an adapter hands the contract suite: a store and the means to poke at it from outside. */
export interface ContractHarness {
  store: EventStore;
  /** A second store on the same data, as another process or a restart would open it. */
  reopen(options?: { upcasters?: UpcasterRegistry }): Promise<EventStore>;
  /**
   * Appends inside a transaction that stays open until `commit` — the out-of-order commit case.
   * Absent where the adapter runs one transaction at a time (PGlite) or has no client transactions.
   */
  holdOpenAppend?(streamId: string, events: NewEvent[]): Promise<{ commit(): Promise<void> }>;
  /** Direct writes to the stored rows, as an attacker with database access would make them. */
  tamper?: {
    alterData(streamId: string, version: number, data: unknown): Promise<void>;
    remove(streamId: string, version: number): Promise<void>;
    swap(streamId: string, versionA: number, versionB: number): Promise<void>;
    truncate(streamId: string, fromVersion: number): Promise<void>;
  };
  /** Kills the store's database connections from the server side. */
  interruptConnections?(): Promise<void>;
  /** A store whose database cannot be reached. */
  unreachableStore?(): Promise<EventStore>;
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads $all to its end and returns the last checkpoint: "everything so far". */
async function headCheckpoint(store: EventStore): Promise<string | undefined> {
  let checkpoint: string | undefined;
  for (;;) {
    const batch = await store.readAll({ after: checkpoint, maxCount: 5000 });
    if (batch.events.length === 0) return checkpoint;
    checkpoint = batch.checkpoint;
  }
}

async function readAllAfter(store: EventStore, after: string | undefined): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let checkpoint = after;
  for (;;) {
    const batch = await store.readAll({ after: checkpoint, maxCount: 1000 });
    if (batch.events.length === 0) return events;
    events.push(...batch.events);
    checkpoint = batch.checkpoint;
  }
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/**
 * The behaviour every event store adapter must show. Parameterised by adapter; each adapter's
 * test file calls it with a harness factory.
 */
export interface ContractCapabilities {
  /** Can transactions be held open concurrently (the out-of-order commit case)? */
  concurrentTransactions: boolean;
  /** Can the test edit stored rows directly (tamper cases)? */
  directRowAccess: boolean;
  /** Can the test cut connections or point at an unreachable server (fault cases)? */
  faultInjection: boolean;
  /** Does the store know every event id store-wide (KurrentDB deduplicates per stream only)? */
  storeWideEventIds: boolean;
}

export function eventStoreContract(adapter: string, capabilities: ContractCapabilities, open: () => Promise<ContractHarness>): void {
  const itWhen = (capable: boolean) => (capable ? it : it.skip);
  describe(`event store contract: ${adapter}`, () => {
    let harness: ContractHarness;
    let store: EventStore;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(async () => harness?.dispose());

    describe('append and read', () => {
      it('stores events with their metadata and gives versions 1..n', async () => {
        const stream = testStream();
        const events = [testEvent('CaseOpened', { reason: 'other', n: 1 }), testEvent('NoteAdded', { body: 'ünïcödé ✓', list: [1, 2.5, null] })];
        const result = await store.append(stream, events, { expectedVersion: 'no_stream' });
        expect(result).toMatchObject({ nextVersion: 2, replayed: false });
        const read = await store.readStream(stream);
        expect(read.map((e) => [e.version, e.type, e.data])).toEqual([
          [1, 'CaseOpened', { reason: 'other', n: 1 }],
          [2, 'NoteAdded', { body: 'ünïcödé ✓', list: [1, 2.5, null] }],
        ]);
        expect(read[1].metadata).toEqual(events[1].metadata);
        expect(read[1].position).toBe(result.position);
        expect(read[1].checkpoint).toBe(result.checkpoint);
        expect(read[0].position < read[1].position).toBe(true);
        expect(read[0].hash).toMatch(/^[0-9a-f]{64}$/);
        expect(await store.streamVersion(stream)).toBe(2);
        expect(await store.streamVersion(testStream())).toBe(0);
        expect(await store.readStream(testStream())).toEqual([]);
      });

      it('honours every kind of expected version and reports the actual version on conflict', async () => {
        const stream = testStream();
        await expect(store.append(stream, [testEvent('A', {})], { expectedVersion: 'stream_exists' })).rejects.toMatchObject({
          constructor: WrongExpectedVersionError,
          actualVersion: 0,
        });
        await expect(store.append(stream, [testEvent('A', {})], { expectedVersion: 3 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
        await store.append(stream, [testEvent('A', {})], { expectedVersion: 0 });
        await expect(store.append(stream, [testEvent('A', {})], { expectedVersion: 'no_stream' })).rejects.toMatchObject({ actualVersion: 1 });
        await store.append(stream, [testEvent('A', {})], { expectedVersion: 'stream_exists' });
        await store.append(stream, [testEvent('A', {}), testEvent('B', {})], { expectedVersion: 2 });
        await expect(store.append(stream, [testEvent('A', {})], { expectedVersion: 2 })).rejects.toMatchObject({ actualVersion: 4, expected: 2 });
        await store.append(stream, [testEvent('A', {})], { expectedVersion: 'any' });
        await store.append(stream, [testEvent('A', {})]);
        expect(await store.streamVersion(stream)).toBe(6);
      });

      it('rejects malformed input with typed errors and writes nothing', async () => {
        const stream = testStream();
        await expect(store.append('not a stream', [testEvent('A', {})])).rejects.toBeInstanceOf(InvalidStreamNameError);
        await expect(store.append('case-123', [testEvent('A', {})])).rejects.toBeInstanceOf(InvalidStreamNameError);
        for (const bad of [-1, 1.5, 'latest', null, Number.NaN]) {
          await expect(store.append(stream, [testEvent('A', {})], { expectedVersion: bad as never })).rejects.toBeInstanceOf(
            InvalidExpectedVersionError,
          );
        }
        await expect(store.append(stream, [testEvent('A', { blob: 'x'.repeat(300 * 1024) })])).rejects.toBeInstanceOf(EventTooLargeError);
        await expect(store.append(stream, [])).rejects.toBeInstanceOf(InvalidEventError);
        await expect(store.append(stream, [testEvent('A', {}, { eventId: 'nope' })])).rejects.toBeInstanceOf(InvalidEventError);
        await expect(store.append(stream, [testEvent('A', { text: 'nul\u0000' })])).rejects.toBeInstanceOf(InvalidEventError);
        const twice = testEvent('A', {});
        await expect(store.append(stream, [twice, twice])).rejects.toBeInstanceOf(InvalidEventError);
        expect(await store.streamVersion(stream)).toBe(0);
      });

      it('reads backwards, from and up to a version, a number of events, and as of a time', async () => {
        const stream = testStream();
        const times = ['2026-01-01T10:00:00.000Z', '2026-01-02T10:00:00.000Z', '2026-01-03T10:00:00.000Z', '2026-01-04T10:00:00.000Z'];
        await store.append(stream, times.map((recordedAt, i) => testEvent('Tick', { i }, { recordedAt })));
        const versions = (events: RecordedEvent[]) => events.map((e) => e.version);
        expect(versions(await store.readStream(stream, { direction: 'backwards' }))).toEqual([4, 3, 2, 1]);
        expect(versions(await store.readStream(stream, { direction: 'backwards', fromVersion: 3, maxCount: 2 }))).toEqual([3, 2]);
        expect(versions(await store.readStream(stream, { fromVersion: 2 }))).toEqual([2, 3, 4]);
        expect(versions(await store.readStream(stream, { fromVersion: 2, toVersion: 3 }))).toEqual([2, 3]);
        expect(versions(await store.readStream(stream, { maxCount: 1 }))).toEqual([1]);
        expect(versions(await store.readStream(stream, { asOf: '2026-01-02T10:00:00.000Z' }))).toEqual([1, 2]);
        expect(versions(await store.readStream(stream, { asOf: '2025-12-31T00:00:00Z' }))).toEqual([]);
      });

      it('reads everything in order from a checkpoint', async () => {
        const start = await headCheckpoint(store);
        const a = testStream();
        const b = testStream();
        await store.append(a, [testEvent('A1', {}), testEvent('A2', {})]);
        await store.append(b, [testEvent('B1', {})]);
        await store.append(a, [testEvent('A3', {})]);
        const all = await readAllAfter(store, start);
        expect(all.map((e) => e.type)).toEqual(['A1', 'A2', 'B1', 'A3']);
        const page = await store.readAll({ after: start, maxCount: 2 });
        expect(page.events.map((e) => e.type)).toEqual(['A1', 'A2']);
        const rest = await store.readAll({ after: page.checkpoint, maxCount: 10 });
        expect(rest.events.map((e) => e.type)).toEqual(['B1', 'A3']);
        const empty = await store.readAll({ after: rest.checkpoint });
        expect(empty).toEqual({ events: [], checkpoint: rest.checkpoint });
        // Checkpoints compare in delivery order (read models hold consistency tokens against them).
        const delivered = all.map((e) => e.checkpoint);
        for (let i = 1; i < delivered.length; i++) {
          expect(store.compareCheckpoints(delivered[i - 1], delivered[i])).toBeLessThan(0);
          expect(store.compareCheckpoints(delivered[i], delivered[i - 1])).toBeGreaterThan(0);
          expect(store.compareCheckpoints(delivered[i], delivered[i])).toBe(0);
        }
        expect(() => store.compareCheckpoints('not a checkpoint', delivered[0])).toThrow(InvalidCheckpointError);
      });
    });

    it('keeps store-wide order across many commits, page after page', async () => {
      const start = await headCheckpoint(store);
      const appended: string[] = [];
      // Enough commits that positions and transaction ids cross decimal boundaries (9 → 10 …).
      for (let i = 0; i < 120; i++) {
        const event = testEvent('Ordered', { i });
        await store.append(testStream(), [event]);
        appended.push(event.metadata.eventId);
      }
      const seen: string[] = [];
      for (let checkpoint = start; ; ) {
        const batch = await store.readAll({ after: checkpoint, maxCount: 7 });
        if (batch.events.length === 0) break;
        seen.push(...batch.events.map((e) => e.metadata.eventId));
        checkpoint = batch.checkpoint;
      }
      expect(seen).toEqual(appended);
    });

    describe('idempotent appends', () => {
      it('answers a retry with the original result and stores nothing twice', async () => {
        const stream = testStream();
        const events = [testEvent('A', { n: 1 }), testEvent('B', { n: 2 })];
        const first = await store.append(stream, events, { expectedVersion: 'no_stream' });
        await store.append(stream, [testEvent('C', {})]);
        // The retry carries the original expected version, which no longer holds: still the same answer.
        const retry = await store.append(stream, events, { expectedVersion: 'no_stream' });
        expect(retry).toEqual({ ...first, replayed: true });
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('treats concurrent retries of the same events as one append', async () => {
        const stream = testStream();
        const events = [testEvent('A', {})];
        const results = await Promise.all(Array.from({ length: 8 }, () => store.append(stream, events)));
        expect(new Set(results.map((r) => r.position)).size).toBe(1);
        expect(results.filter((r) => !r.replayed)).toHaveLength(1);
        expect(await store.streamVersion(stream)).toBe(1);
      });

      it('refuses an event id reused with other content or in another stream', async () => {
        const stream = testStream();
        const event = testEvent('A', { n: 1 });
        await store.append(stream, [event]);
        await expect(store.append(stream, [{ ...event, data: { n: 2 } }])).rejects.toBeInstanceOf(DuplicateEventIdError);
        await expect(store.append(stream, [event, testEvent('B', {})])).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await store.streamVersion(stream)).toBe(1);
      });

      itWhen(capabilities.storeWideEventIds)('refuses an event id reused in another stream', async () => {
        const event = testEvent('A', { n: 1 });
        await store.append(testStream(), [event]);
        const other = testStream();
        await expect(store.append(other, [event])).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await store.streamVersion(other)).toBe(0);
      });
    });

    describe('concurrency', () => {
      it('lets exactly one of many appenders win a version', async () => {
        const stream = testStream();
        await store.append(stream, [testEvent('Opened', {})]);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => store.append(stream, [testEvent('Racer', { i })], { expectedVersion: 1 })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(await store.streamVersion(stream)).toBe(2);
      });

      // A store may send concurrent appends to its database together (group commit); whatever it
      // does, each append keeps the outcome it would have had on its own.
      it('answers each of many concurrent single-event appends as it would answer it alone', async () => {
        const streams = Array.from({ length: 30 }, () => testStream());
        await Promise.all(streams.map((stream) => store.append(stream, [testEvent('Opened', {})])));
        const retried = testEvent('Stored', { n: 0 });
        const original = await store.append(streams[0], [retried], { expectedVersion: 1 });
        const reused = testEvent('Stored', { n: 1 });
        await store.append(streams[1], [reused], { expectedVersion: 1 });
        const shared = streams[2];
        const fresh = [testStream(), testStream(), testStream()];
        const appended = (version: number) => ({ status: 'fulfilled', value: expect.objectContaining({ nextVersion: version, replayed: false }) });
        const conflict = (actualVersion: number) => ({ status: 'rejected', reason: expect.objectContaining({ constructor: WrongExpectedVersionError, actualVersion }) });
        // Two waves: the first holds only appends a group can take (a stale version merely gets
        // no row); the second mixes a retry and a reused id with good appends, as a failed group.
        const first: { run: () => Promise<unknown>; expected: unknown }[] = [
          ...streams.slice(3, 15).map((stream, i) => ({
            run: () => store.append(stream, [testEvent('Next', { i })], { expectedVersion: 1 }),
            expected: appended(2),
          })),
          ...streams.slice(15, 19).map((stream) => ({ run: () => store.append(stream, [testEvent('Next', null)]), expected: appended(2) })),
          ...streams.slice(19, 22).map((stream) => ({
            run: () => store.append(stream, [testEvent('Next', {})], { expectedVersion: 'stream_exists' }),
            expected: appended(2),
          })),
          ...streams.slice(22, 26).map((stream) => ({
            run: () => store.append(stream, [testEvent('Stale', {})], { expectedVersion: 5 }),
            expected: conflict(1),
          })),
          ...Array.from({ length: 4 }, (_, i) => ({
            run: () => store.append(shared, [testEvent('Shared', { i })]),
            expected: { status: 'fulfilled', value: expect.objectContaining({ replayed: false }) },
          })),
          { run: () => store.append(fresh[0], [testEvent('New', {})]), expected: appended(1) },
          { run: () => store.append(fresh[1], [testEvent('New', {})], { expectedVersion: 'no_stream' }), expected: appended(1) },
          { run: () => store.append(fresh[2], [testEvent('New', {})], { expectedVersion: 'stream_exists' }), expected: conflict(0) },
        ];
        const second: { run: () => Promise<unknown>; expected: unknown }[] = [
          ...streams.slice(26, 30).map((stream) => ({ run: () => store.append(stream, [testEvent('Next', {})], { expectedVersion: 1 }), expected: appended(2) })),
          { run: () => store.append(streams[0], [retried], { expectedVersion: 1 }), expected: { status: 'fulfilled', value: { ...original, replayed: true } } },
          {
            run: () => store.append(streams[1], [{ ...reused, data: { n: 2 } }]),
            expected: { status: 'rejected', reason: expect.any(DuplicateEventIdError) },
          },
        ];
        const outcomes = await Promise.allSettled(first.map((c) => c.run()));
        outcomes.push(...(await Promise.allSettled(second.map((c) => c.run()))));
        const cases = [...first, ...second];
        outcomes.forEach((outcome, i) => expect({ case: i, ...outcome }).toEqual({ case: i, ...(cases[i].expected as object) }));

        const sharedEvents = await store.readStream(shared);
        expect(sharedEvents.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
        expect(sharedEvents.slice(1).map((e) => (e.data as { i: number }).i).sort()).toEqual([0, 1, 2, 3]);
        expect((await store.readStream(streams[15])).map((e) => e.data)).toEqual([{}, null]);
        expect(await store.streamVersion(streams[1])).toBe(2);
        expect(await store.streamVersion(fresh[2])).toBe(0);
        for (const stream of [...streams, ...fresh.slice(0, 2)]) {
          const events = await store.readStream(stream);
          expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
          expect((await verifyStream(store, stream)).ok).toBe(true);
        }
        // Each answer names its own event: the checkpoint it reports is the one read back.
        for (const [i, outcome] of outcomes.entries()) {
          if (outcome.status !== 'fulfilled' || i >= 19) continue;
          const result = outcome.value as { nextVersion: number; checkpoint: string };
          const [event] = await store.readStream(streams[i + 3], { fromVersion: result.nextVersion, maxCount: 1 });
          expect(event.checkpoint).toBe(result.checkpoint);
        }
      });

      it('loses and duplicates nothing when concurrent writers retry on conflict', async () => {
        const stream = testStream();
        const writers = 8;
        const perWriter = 6;
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let n = 0; n < perWriter; n++) {
              const event = testEvent('Written', { w, n });
              for (;;) {
                const version = await store.streamVersion(stream);
                try {
                  await store.append(stream, [event], { expectedVersion: version });
                  break;
                } catch (error) {
                  if (!(error instanceof WrongExpectedVersionError)) throw error;
                }
              }
            }
          }),
        );
        const events = await store.readStream(stream);
        expect(events.map((e) => e.version)).toEqual(Array.from({ length: writers * perWriter }, (_, i) => i + 1));
        const written = events.map((e) => JSON.stringify(e.data)).sort();
        expect(new Set(written).size).toBe(writers * perWriter);
        expect((await verifyStream(store, stream)).ok).toBe(true);
      });
    });

    describe('subscriptions', () => {
      it('catches up, then delivers live appends in order', async () => {
        const start = await headCheckpoint(store);
        const stream = testStream();
        await store.append(stream, [testEvent('Before', {})]);
        const seen: string[] = [];
        const subscription = store.subscribeToAll({ after: start, handle: async (events) => void seen.push(...events.map((e) => e.type)) });
        await until(() => seen.length === 1);
        await store.append(stream, [testEvent('Live1', {}), testEvent('Live2', {})]);
        await until(() => seen.length === 3);
        await subscription.stop();
        expect(seen).toEqual(['Before', 'Live1', 'Live2']);
      });

      itWhen(capabilities.concurrentTransactions)('never delivers a later commit before an earlier-started transaction, and never skips it', async () => {
        if (!harness.holdOpenAppend) throw new Error('harness lacks holdOpenAppend');
        const start = await headCheckpoint(store);
        const seen: string[] = [];
        const subscription = store.subscribeToAll({ after: start, handle: async (events) => void seen.push(...events.map((e) => e.type)) });
        const held = await harness.holdOpenAppend(testStream(), [testEvent('A', {})]);
        await store.append(testStream(), [testEvent('B', {})]);
        await sleep(700);
        expect(seen).toEqual([]);
        expect((await store.readAll({ after: start })).events).toEqual([]);
        await held.commit();
        await until(() => seen.length === 2);
        await subscription.stop();
        expect(seen).toEqual(['A', 'B']);
        expect((await readAllAfter(store, start)).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('after a crash, a subscriber restarted from its checkpoint sees every event exactly once', async () => {
        const start = await headCheckpoint(store);
        const appended: string[] = [];
        const writing = (async () => {
          for (let i = 0; i < 60; i++) {
            const event = testEvent('Numbered', { i });
            await store.append(testStream(), [event]);
            appended.push(event.metadata.eventId);
            if (i % 10 === 0) await sleep(5);
          }
        })();
        // The subscriber "commits" a batch and its checkpoint together, as a projector does in one
        // transaction; a crash is a batch that throws before committing.
        const committed: string[] = [];
        let savedCheckpoint = start;
        let crashes = 0;
        const runUntilCrash = (crashAfterBatches: number, from: EventStore) =>
          new Promise<void>((resolve) => {
            let batches = 0;
            const subscription = from.subscribeToAll({
              after: savedCheckpoint,
              batchSize: 7,
              handle: async (events, checkpoint) => {
                if (++batches > crashAfterBatches) throw new Error('crash');
                committed.push(...events.map((e) => e.metadata.eventId));
                savedCheckpoint = checkpoint;
              },
              onError: () => {
                crashes++;
                resolve();
              },
            });
            void until(() => committed.length >= 60 && appended.length === 60, 30_000).then(async () => {
              await subscription.stop();
              resolve();
            }, resolve);
          });
        const restarted = await harness.reopen();
        for (let round = 0; round < 4; round++) await runUntilCrash(2, round % 2 ? restarted : store);
        await writing;
        await runUntilCrash(Number.POSITIVE_INFINITY, restarted);
        expect(crashes).toBeGreaterThan(0);
        expect(committed).toEqual(appended);
      });
    });

    describe('tamper evidence', () => {
      it('verifies intact chains, one stream or the whole store', async () => {
        const stream = testStream();
        await store.append(stream, [testEvent('A', { n: 1 }), testEvent('B', { n: 2 })]);
        await store.append(stream, [testEvent('C', { n: 3 })]);
        expect(await verifyStream(store, stream)).toEqual({ ok: true, checkedEvents: 3, checkedStreams: 1 });
        const whole = await verifyStore(store);
        expect(whole.ok).toBe(true);
        expect(whole.checkedEvents).toBeGreaterThanOrEqual(3);
      });

      itWhen(capabilities.directRowAccess)('names the first altered, removed, reordered or truncated event', async () => {
        if (!harness.tamper) throw new Error('harness lacks tamper');
        const fresh = async () => {
          const stream = testStream();
          await store.append(stream, [1, 2, 3, 4, 5].map((n) => testEvent('E', { n })));
          return stream;
        };
        const altered = await fresh();
        await harness.tamper.alterData(altered, 3, { n: 33 });
        expect(await verifyStream(store, altered)).toMatchObject({ ok: false, firstBadVersion: 3, checkedEvents: 2 });

        const removed = await fresh();
        await harness.tamper.remove(removed, 2);
        expect(await verifyStream(store, removed)).toMatchObject({ ok: false, firstBadVersion: 2 });

        const reordered = await fresh();
        await harness.tamper.swap(reordered, 2, 4);
        expect(await verifyStream(store, reordered)).toMatchObject({ ok: false, firstBadVersion: 2 });

        const truncated = await fresh();
        await harness.tamper.truncate(truncated, 4);
        expect(await verifyStream(store, truncated)).toMatchObject({ ok: false, firstBadVersion: 4 });

        const whole = await verifyStore(store);
        expect(whole.ok).toBe(false);
        expect([altered, removed, reordered, truncated]).toContain(whole.streamId);

        // The adapter's own walk (a worker thread on PostgreSQL) answers what the links walked here do.
        const intact = await fresh();
        const streams = [altered, removed, reordered, truncated, intact].sort();
        const heads = await Promise.all(streams.map(async (streamId) => (await store.streamHead(streamId)) ?? { streamId, version: 0, hash: '0'.repeat(64) }));
        const walked = verifyPage({ heads, events: await readLinks(store, streams) });
        expect(walked.map((result) => result.problem ?? 'ok').sort()).toEqual(['altered', 'head_mismatch', 'missing_or_reordered', 'missing_or_reordered', 'ok']);
        expect(await verifyChains(store, heads)).toEqual(walked);
      });
    });

    describe('event versioning', () => {
      it('reads old event shapes as the current shape through upcasters, without touching what is stored', async () => {
        const upcasters = new UpcasterRegistry().register(
          { type: 'WelfareChecked', fromVersion: 1, upcast: (data) => ({ data: { ...(data as object), location: (data as { place: string }).place } }) },
          { type: 'WelfareChecked', fromVersion: 2, upcast: (data) => ({ type: 'WelfareCheckRecorded', data: { ...(data as object), outcome: 'safe' } }) },
        );
        const reader = await harness.reopen({ upcasters });
        const stream = testStream();
        const start = await headCheckpoint(store);
        await store.append(stream, [testEvent('WelfareChecked', { place: 'Main St' }), testEvent('Other', { x: 1 }, { schemaVersion: 3 })]);
        const [upcast, untouched] = await reader.readStream(stream);
        expect(upcast).toMatchObject({ type: 'WelfareCheckRecorded', data: { place: 'Main St', location: 'Main St', outcome: 'safe' } });
        expect(upcast.metadata.schemaVersion).toBe(3);
        expect(untouched).toMatchObject({ type: 'Other', data: { x: 1 } });
        expect((await readAllAfter(reader, start))[0].type).toBe('WelfareCheckRecorded');
        expect((await store.readStream(stream))[0]).toMatchObject({ type: 'WelfareChecked', data: { place: 'Main St' } });
        expect((await verifyStream(reader, stream)).ok).toBe(true);
      });
    });

    describe('faults', () => {
      itWhen(capabilities.faultInjection)('reports an unreachable database as StoreUnavailableError', async () => {
        if (!harness.unreachableStore) throw new Error('harness lacks unreachableStore');
        const unreachable = await harness.unreachableStore();
        await expect(unreachable.append(testStream(), [testEvent('A', {})])).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(unreachable.readStream(testStream())).rejects.toBeInstanceOf(StoreUnavailableError);
        await unreachable.close();
      });

      itWhen(capabilities.faultInjection)('recovers by itself when its connections are cut', async () => {
        if (!harness.interruptConnections) throw new Error('harness lacks interruptConnections');
        const stream = testStream();
        await store.append(stream, [testEvent('Before', {})]);
        await harness.interruptConnections();
        const outcome = await store.append(stream, [testEvent('During', {})]).catch((error: unknown) => error);
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(StoreUnavailableError);
        await store.append(stream, [testEvent('After', { id: randomUUID() })]);
        expect((await store.readStream(stream)).map((e) => e.type).filter((t) => t !== 'During')).toEqual(['Before', 'After']);
      });
    });
  });
}
