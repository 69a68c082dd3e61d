import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { DuplicateEventIdError, InvalidEventError, StoreUnavailableError, WrongExpectedVersionError } from '../errors';
import type { RecordedEvent } from '../port';
import { testEvent, testStream } from '../testing/events';
import { verifyStore, verifyStream } from '../verification';
import { KurrentDbEventStore } from './kurrentdb-event-store';

interface LogRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  dataJson: string;
  metaJson: string;
  position: { commit: bigint; prepare: bigint };
}

/**
 * An in-memory model of the client calls the adapter makes, with KurrentDB's documented behaviour:
 * revisions from 0, reads of a missing stream fail with stream-not-found, reading $all from a
 * position includes the event there while a subscription starts after it, and an append whose
 * event ids already follow the expected revision succeeds without writing (idempotency by id).
 * It checks the adapter's logic, not the server: that takes the contract suite run against a real KurrentDB.
 */
class ClientModel {
  log: LogRecord[] = [];
  streams = new Map<string, LogRecord[]>();
  subs = new Set<{ stream: Readable; after: bigint; filter?: { regex: string } }>();
  nextPos = 100n;
  down = false;

  private view(r: LogRecord) {
    return { streamId: r.streamId, id: r.id, revision: r.revision, type: r.type, isJson: r.isJson, data: JSON.parse(r.dataJson), metadata: JSON.parse(r.metaJson), created: new Date(), position: r.position };
  }
  private check() {
    if (this.down) throw Object.assign(new Error('down'), { type: 'unavailable' });
  }

  readStream(name: string, o: { direction?: string; fromRevision?: bigint | string; maxCount?: number | bigint } = {}) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return (async function* () {
      await Promise.resolve();
      self.check();
      const s = self.streams.get(name);
      if (!s) throw Object.assign(new Error('not found'), { type: 'stream-not-found' });
      const max = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
      let out: LogRecord[];
      if (o.direction === 'backwards') {
        const from = o.fromRevision === undefined || o.fromRevision === 'end' ? BigInt(s.length - 1) : (o.fromRevision as bigint);
        out = s.filter((r) => r.revision <= from).reverse().slice(0, max);
      } else {
        const from = o.fromRevision === undefined || o.fromRevision === 'start' ? 0n : (o.fromRevision as bigint);
        out = s.filter((r) => r.revision >= from).slice(0, max);
      }
      for (const r of out) yield { event: self.view(r) };
    })();
  }

  readAll(o: { direction?: string; fromPosition?: unknown; maxCount?: number | bigint; filter?: { regex: string } } = {}) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return (async function* () {
      await Promise.resolve();
      self.check();
      const max = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
      const re = o.filter ? new RegExp(o.filter.regex) : undefined;
      let out = self.log.filter((r) => !re || re.test(r.streamId));
      if (o.direction === 'backwards') out = out.reverse();
      else if (o.fromPosition && typeof o.fromPosition === 'object') {
        const p = o.fromPosition as { commit: bigint };
        out = out.filter((r) => r.position.commit >= p.commit);
      }
      for (const r of out.slice(0, max)) yield { event: self.view(r) };
    })();
  }

  async appendToStream(name: string, events: { id: string; type: string; data: unknown; metadata: unknown }[], o: { streamState: 'no_stream' | bigint }) {
    await Promise.resolve();
    this.check();
    const s = this.streams.get(name) ?? [];
    const current = s.length ? BigInt(s.length - 1) : -1n;
    const expected = o.streamState === 'no_stream' ? -1n : o.streamState;
    // Idempotency: same ids after the expected revision → success, nothing written.
    const after = s.filter((r) => r.revision > expected).slice(0, events.length);
    if (after.length === events.length && after.every((r, i) => r.id === events[i].id)) {
      return { success: true, nextExpectedRevision: after[after.length - 1].revision, position: undefined };
    }
    if (current !== expected) throw Object.assign(new Error('wev'), { type: 'wrong-expected-version', actualState: current < 0n ? 'no_stream' : current });
    for (const e of events) {
      const pos = this.nextPos;
      this.nextPos += 100n;
      const r: LogRecord = { streamId: name, id: e.id, revision: BigInt(s.length), type: e.type, isJson: true, dataJson: JSON.stringify(e.data), metaJson: JSON.stringify(e.metadata), position: { commit: pos, prepare: pos } };
      s.push(r);
      this.log.push(r);
    }
    this.streams.set(name, s);
    for (const sub of this.subs) this.feed(sub);
    return { success: true, nextExpectedRevision: BigInt(s.length - 1), position: undefined };
  }

  /** Something other than the adapter writes to $all: KurrentDB's own events, another program's. */
  writeOther(streamId: string, type: string, metadata: unknown = {}) {
    const s = this.streams.get(streamId) ?? [];
    const pos = this.nextPos;
    this.nextPos += 100n;
    const r: LogRecord = { streamId, id: randomUUID(), revision: BigInt(s.length), type, isJson: true, dataJson: '{}', metaJson: JSON.stringify(metadata), position: { commit: pos, prepare: pos } };
    s.push(r);
    this.streams.set(streamId, s);
    this.log.push(r);
    for (const sub of this.subs) this.feed(sub);
  }

  private feed(sub: { stream: Readable; after: bigint; filter?: { regex: string } }) {
    const re = sub.filter ? new RegExp(sub.filter.regex) : undefined;
    for (const r of this.log) {
      if (r.position.commit <= sub.after) continue;
      sub.after = r.position.commit;
      if (re && !re.test(r.streamId)) continue;
      sub.stream.push({ event: this.view(r) });
    }
  }

  subscribeToAll(o: { fromPosition?: unknown; filter?: { regex: string } }) {
    const stream = new Readable({ objectMode: true, read() {} });
    const sub = { stream, after: typeof o.fromPosition === 'object' ? (o.fromPosition as { commit: bigint }).commit : 0n, filter: o.filter };
    this.subs.add(sub);
    setImmediate(() => this.feed(sub));
    return Object.assign(stream, {
      unsubscribe: async () => {
        this.subs.delete(sub);
      },
    });
  }

  async dispose() {}
}


const openOn = (model: ClientModel, options: { categories?: string[] } = {}) => KurrentDbEventStore.fromClient(model as unknown as KurrentDBClient, options);

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

describe('KurrentDB event store (against an in-memory model of the client)', () => {
  let model: ClientModel;
  let store: KurrentDbEventStore;
  beforeEach(async () => {
    model = new ClientModel();
    store = await openOn(model);
  });
  afterEach(() => store.close());

  it('chains each event onto the stream head and stores the links beside the caller metadata', async () => {
    const stream = testStream();
    const first = testEvent('CaseOpened', { n: 1 });
    await store.append(stream, [first, testEvent('NoteAdded', { n: 2 })], { expectedVersion: 'no_stream' });
    await store.append(stream, [testEvent('NoteAdded', { n: 3 })], { expectedVersion: 2 });
    const stored = model.streams.get(stream) ?? [];
    expect(stored.map((r) => r.revision)).toEqual([0n, 1n, 2n]);
    const links = stored.map((r) => JSON.parse(r.metaJson).$caseline);
    expect(links[1].previousHash).toBe(links[0].hash);
    expect(links[2].previousHash).toBe(links[1].hash);
    expect((await store.readStream(stream))[0].metadata).toEqual(first.metadata);
    expect(await verifyStream(store, stream)).toEqual({ ok: true, checkedEvents: 3, checkedStreams: 1 });
  });

  it('refuses metadata that uses the reserved key', async () => {
    const event = testEvent('A', {}, { $caseline: { hash: 'mine' } });
    await expect(store.append(testStream(), [event])).rejects.toBeInstanceOf(InvalidEventError);
  });

  it('answers a retry with the original result, whatever the expected version, and writes nothing', async () => {
    for (const expectedVersion of ['no_stream', 0, 'any'] as const) {
      const stream = testStream();
      const events = [testEvent('A', {}), testEvent('B', {})];
      const first = await store.append(stream, events, { expectedVersion });
      await store.append(stream, [testEvent('C', {})]);
      expect(await store.append(stream, events, { expectedVersion })).toEqual({ ...first, replayed: true });
      expect(model.streams.get(stream)?.length).toBe(3);
    }
  });

  it('refuses an id reused in the same stream with other content or as part of another batch', async () => {
    const stream = testStream();
    const event = testEvent('A', { n: 1 });
    await store.append(stream, [event]);
    await expect(store.append(stream, [{ ...event, data: { n: 2 } }])).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(store.append(stream, [testEvent('B', {}), event])).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(store.append(stream, [{ ...event, data: { n: 2 } }], { expectedVersion: 0 })).rejects.toBeInstanceOf(DuplicateEventIdError);
    expect(model.streams.get(stream)?.length).toBe(1);
  });

  it('tells its own write from a concurrent identical one the server deduplicated', async () => {
    const stream = testStream();
    const events = [testEvent('A', {})];
    const results = await Promise.all(Array.from({ length: 6 }, () => store.append(stream, events, { expectedVersion: 'no_stream' })));
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(new Set(results.map((result) => result.checkpoint)).size).toBe(1);
    expect(model.streams.get(stream)?.length).toBe(1);
  });

  it('reports the actual version when an exact expected version loses a race', async () => {
    const stream = testStream();
    await store.append(stream, [testEvent('A', {})]);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.append(stream, [testEvent('Racer', { i })], { expectedVersion: 1 })));
    const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason);
    expect(losers).toHaveLength(4);
    for (const loser of losers) expect(loser).toMatchObject({ constructor: WrongExpectedVersionError, actualVersion: 2, expected: 1 });
  });

  it('retries an append whose reply was lost and finds its own write', async () => {
    const stream = testStream();
    await store.append(stream, [testEvent('A', {})]);
    const append = model.appendToStream.bind(model);
    let loseReply = true;
    model.appendToStream = async (...args: Parameters<typeof append>) => {
      const result = await append(...args);
      if (loseReply) {
        loseReply = false;
        throw Object.assign(new Error('connection reset'), { type: 'unavailable' });
      }
      return result;
    };
    expect(await store.append(stream, [testEvent('B', {})], { expectedVersion: 1 })).toMatchObject({ nextVersion: 2, replayed: false });
    loseReply = true;
    expect(await store.append(stream, [testEvent('C', {})])).toMatchObject({ nextVersion: 3, replayed: false });
    expect(model.streams.get(stream)?.length).toBe(3);
  });

  it('reports an unreachable server as StoreUnavailableError, and refuses to open on one', async () => {
    model.down = true;
    await expect(store.append(testStream(), [testEvent('A', {})])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.readStream(testStream())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(openOn(model)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reads all user events in order, passing over system and foreign events', async () => {
    const a = testStream();
    const b = testStream();
    await store.append(a, [testEvent('A1', {})]);
    for (let i = 0; i < 5; i++) model.writeOther('$stats-127.0.0.1:2113', '$statsCollected');
    model.writeOther(testStream(), 'WrittenByAnotherTool');
    model.writeOther(`$$${b}`, '$metadata');
    await store.append(b, [testEvent('B1', {})]);
    const first = await store.readAll({ maxCount: 1 });
    expect(first.events.map((e) => e.type)).toEqual(['A1']);
    const second = await store.readAll({ after: first.checkpoint, maxCount: 1 });
    expect(second.events.map((e) => e.type)).toEqual(['B1']);
    expect(await store.readAll({ after: second.checkpoint })).toEqual({ events: [], checkpoint: second.checkpoint });
  });

  it('subscribes: catches up, goes live, and resumes after its checkpoint', async () => {
    const stream = testStream();
    await store.append(stream, [testEvent('Before', {})]);
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ handle: async (events) => void seen.push(...events) });
    await until(() => seen.length === 1);
    model.writeOther('$stats-127.0.0.1:2113', '$statsCollected');
    await store.append(stream, [testEvent('Live1', {}), testEvent('Live2', {})]);
    await until(() => seen.length === 3);
    await subscription.stop();
    expect(seen.map((e) => e.type)).toEqual(['Before', 'Live1', 'Live2']);
    expect(subscription.checkpoint).toBe(seen[2].checkpoint);

    await store.append(stream, [testEvent('After', {})]);
    const resumed: string[] = [];
    const again = store.subscribeToAll({ after: seen[1].checkpoint, handle: async (events) => void resumed.push(...events.map((e) => e.type)) });
    await until(() => resumed.length === 2);
    await again.stop();
    expect(resumed).toEqual(['Live2', 'After']);
  });

  it('lists streams in id order a page at a time, including streams created since the last call', async () => {
    const streams = Array.from({ length: 7 }, () => testStream());
    for (const s of streams) await store.append(s, [testEvent('A', {}), testEvent('B', {})]);
    model.writeOther(testStream('other'), 'WrittenByAnotherTool');
    const scoped = await openOn(model, { categories: ['case'] });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await scoped.listStreams({ afterStreamId: after, limit: 3 });
      if (page.length === 0) break;
      expect(page.every((head) => head.version === 2)).toBe(true);
      seen.push(...page.map((head) => head.streamId));
      after = page[page.length - 1].streamId;
    }
    expect(seen).toEqual([...streams].sort());
    expect(await verifyStore(scoped, { pageSize: 2 })).toMatchObject({ ok: true, checkedStreams: 7, checkedEvents: 14 });
    const late = testStream();
    await store.append(late, [testEvent('C', {})]);
    expect((await scoped.listStreams({ limit: 100 })).map((head) => head.streamId)).toContain(late);
    await scoped.close();
  });

  it('verification names a foreign event in a stream as the first bad version', async () => {
    const stream = testStream();
    await store.append(stream, [testEvent('A', {})]);
    model.writeOther(stream, 'WrittenByAnotherTool');
    expect(await verifyStream(store, stream)).toMatchObject({ ok: false, firstBadVersion: 2 });
  });
});
