import { randomUUID } from 'node:crypto';
import { tracked } from '../catch-up-subscription';
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  START,
  jsonEvent,
  streamNameFilter,
  type AllStreamSubscription,
  type Filter,
  type JSONType,
  type Position,
  type ReadRevision,
} from '@kurrent/kurrentdb-client';
import { prepareAppend, type PreparedEvent } from '../append-validation';
import { DuplicateEventIdError, EventTooLargeError, InvalidEventError, StoreUnavailableError, WrongExpectedVersionError } from '../errors';
import { GENESIS_HASH, linkHash } from '../hash-chain';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllBatch,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoredEvent,
  StreamHead,
  SubscribeOptions,
  Subscription,
} from '../port';
import { parseStreamName } from '../stream-name';
import { UpcasterRegistry } from '../upcasting';
import {
  REPLAY_WINDOW_MS,
  RESERVED_METADATA_KEY,
  classifyPriorAppend,
  comparePositions,
  decodeEvent,
  decodeForVerification,
  expectationHolds,
  isErrorOfType,
  isStreamNotFound,
  isUnavailable,
  parseCheckpoint,
  priorAppendSearch,
  redactCredentials,
  revisionOfVersion,
  streamStateAt,
  toRecorded,
  translateError,
  versionOfStreamState,
  wrongExpectedVersionOf,
  type DecodedEvent,
  type PriorAppend,
  type RawEvent,
} from './kurrentdb-mapping';
import { runLiveSubscription, type SubscriptionSource } from './kurrentdb-subscription';

export interface KurrentDbEventStoreOptions {
  /** Stream categories this store accepts (e.g. person, case, referral); any when omitted. */
  categories?: Iterable<string>;
  /** Largest serialized event (data + metadata) in bytes. */
  maxEventBytes?: number;
  upcasters?: UpcasterRegistry;
  /** Read from the server once on connect so a wrong address fails start-up (default true). */
  verifyConnection?: boolean;
}

/** Appends that lost the race for the stream's head are retried this often (`any`, `stream_exists`). */
const MAX_APPEND_ATTEMPTS = 10;
/** Pauses before retrying after the server could not be reached (reads and appends alike). */
const RETRY_DELAYS_MS = [100, 500];
/** Events per page when scanning a stream's tail for an earlier attempt of an `any` append. */
const TAIL_PAGE = 32;
/** Events per page when reading `$all` to list streams. */
const INDEX_PAGE = 1000;
/** Concurrent stream reads in listStreams/readStored. */
const READ_CONCURRENCY = 8;

/** Only user streams: KurrentDB's own live in streams whose names start with `$`. */
const USER_STREAMS: Filter = streamNameFilter({ regex: '^[^$]' });

type AppendAttempt = { kind: 'done'; result: AppendResult } | { kind: 'conflict'; version: number } | { kind: 'raced'; version: number };

/**
 * The event store on KurrentDB, through the official Node client. It keeps the port's contract
 * as the PostgreSQL adapter does:
 *
 * - Hash chain: each event's metadata carries, under `$caseline`, the previous link and its own
 *   (the hash covers the caller's metadata only). To know the previous link an append reads the
 *   stream's last event and writes with that event's revision as the expected revision, so two
 *   writers cannot both chain onto the same link; the loser re-reads and, for `any` and
 *   `stream_exists`, tries again.
 * - Idempotency: KurrentDB deduplicates by event id only against an expected revision, so the
 *   adapter checks itself before writing: it reads where an earlier attempt of the same append
 *   would be (see `priorAppendSearch`) and, finding the same ids with the same content, answers
 *   with the original result and writes nothing. After writing it reads its events back; the
 *   `appendId` in their metadata tells our write from one the server silently deduplicated, and
 *   their `$all` positions make the result (the append reply's position is the commit record's,
 *   not the last event's). Unlike PostgreSQL there is no store-wide index of event ids: an id
 *   reused in another stream is not detected.
 * - Positions: `position` is the commit position in `$all`, `checkpoint` "<commit>:<prepare>".
 *   KurrentDB makes appends visible in `$all` order, so delivery has no out-of-order commits.
 */
export class KurrentDbEventStore implements EventStore {
  readonly adapterName = 'kurrentdb';
  private readonly categories?: ReadonlySet<string>;
  private readonly maxEventBytes: number;
  private readonly upcasters: UpcasterRegistry;
  private readonly subscriptions = new Set<Subscription>();
  /** Stream names seen in `$all` so far, sorted, and where that read stopped (see listStreams). */
  private readonly streamIndex: { names: string[]; known: Set<string>; after?: Position; catchingUp?: Promise<void> } = {
    names: [],
    known: new Set(),
  };
  private closed = false;

  private constructor(
    private readonly client: KurrentDBClient,
    options: KurrentDbEventStoreOptions,
  ) {
    this.categories = options.categories ? new Set(options.categories) : undefined;
    this.maxEventBytes = options.maxEventBytes ?? 256 * 1024;
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
  }

  /**
   * Opens a client on `connectionString` (e.g. `kurrentdb://host:2113?tls=false`). The user in it
   * must be allowed to read `$all` (subscriptions, readAll, listStreams and ping need it).
   */
  static async connect(connectionString: string, options: KurrentDbEventStoreOptions = {}): Promise<KurrentDbEventStore> {
    let client: KurrentDBClient;
    try {
      client = KurrentDBClient.connectionString(connectionString);
    } catch (error) {
      throw new Error(`not a KurrentDB connection string: ${redactCredentials(String((error as Error)?.message ?? error))}`);
    }
    return KurrentDbEventStore.fromClient(client, options);
  }

  /** Opens the store on a client configured by the caller (credentials provider, TLS files…). */
  static async fromClient(client: KurrentDBClient, options: KurrentDbEventStoreOptions = {}): Promise<KurrentDbEventStore> {
    const store = new KurrentDbEventStore(client, options);
    if (options.verifyConnection !== false) {
      try {
        await store.ping();
      } catch (error) {
        await client.dispose().catch(() => undefined);
        throw error;
      }
    }
    return store;
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, options.expectedVersion, {
      categories: this.categories,
      maxEventBytes: this.maxEventBytes,
    });
    for (const event of prepared.events) {
      if (Object.prototype.hasOwnProperty.call(event.metadata, RESERVED_METADATA_KEY)) {
        throw new InvalidEventError(`${event.type}: metadata key ${RESERVED_METADATA_KEY} is reserved for the event store`);
      }
    }
    const expected: ExpectedVersion = options.expectedVersion ?? 'any';
    const appendId = randomUUID();
    let attempts = 0;
    let outages = 0;
    let actualVersion = 0;
    while (attempts < MAX_APPEND_ATTEMPTS) {
      let attempt: AppendAttempt;
      try {
        attempt = await this.appendOnce(streamId, prepared.events, expected, appendId);
      } catch (error) {
        const failure = translateError(error);
        // Safe to try again: the next attempt first looks for this one's events (by appendId).
        if (failure instanceof StoreUnavailableError && outages < RETRY_DELAYS_MS.length) {
          await sleep(RETRY_DELAYS_MS[outages++]);
          continue;
        }
        throw failure;
      }
      attempts++;
      if (attempt.kind === 'done') return attempt.result;
      if (attempt.kind === 'conflict') throw new WrongExpectedVersionError(streamId, expected, attempt.version);
      // Raced: another writer moved the stream between our read of its head and our write. For an
      // exact version or no_stream the next attempt reports the conflict (or finds a concurrent
      // retry of these very events); for any/stream_exists it chains onto the new head.
      actualVersion = attempt.version;
      await sleep(Math.random() * 10 * attempts);
    }
    throw new WrongExpectedVersionError(streamId, expected, actualVersion);
  }

  private async appendOnce(streamId: string, events: PreparedEvent[], expected: ExpectedVersion, appendId: string): Promise<AppendAttempt> {
    const scan = expected === 'any' || expected === 'stream_exists';
    const tail = await this.readDecoded(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: scan ? TAIL_PAGE : 1 });
    const head = tail[0];
    const version = head?.version ?? 0;

    const prior = await this.findPriorAppend(streamId, events, expected, version, tail);
    if (prior.kind === 'same') return { kind: 'done', result: resultOf(prior.last, appendId) };
    if (prior.kind === 'different') throw new DuplicateEventIdError(events.map((event) => event.eventId).join(', '));
    if (!expectationHolds(expected, version)) return { kind: 'conflict', version };

    let previousHash = head?.hash ?? GENESIS_HASH;
    const data = events.map((event) => {
      const hash = linkHash(previousHash, event.contentHash);
      const stored = jsonEvent({
        id: event.eventId,
        type: event.type,
        // The client writes JSON.stringify(data); any JSON value round-trips, not only objects.
        data: event.data as JSONType,
        metadata: { ...event.metadata, [RESERVED_METADATA_KEY]: { previousHash, hash, appendId } },
      });
      previousHash = hash;
      return stored;
    });
    try {
      // Expected revision = the head just read, whatever the caller expected: the chain cannot fork.
      await guard(() => this.client.appendToStream(streamId, data, { streamState: streamStateAt(version) }), []);
    } catch (error) {
      const conflict = wrongExpectedVersionOf(error);
      if (conflict) return { kind: 'raced', version: versionOfStreamState(conflict.actualState) };
      if (isErrorOfType(error, 'maximum-append-size-exceeded')) {
        const bytes = events.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event.data)) + Buffer.byteLength(JSON.stringify(event.metadata)), 0);
        const limit = (error as { maxAppendSize?: number }).maxAppendSize ?? 0;
        throw new EventTooLargeError(`an append of ${events.length} events`, bytes, limit);
      }
      throw error;
    }
    // Read back what is now at those versions: its positions make the result, and its appendId
    // says whether the server wrote our events or answered for an identical earlier write.
    const written = classifyPriorAppend(await this.readDecoded(streamId, sliceRead(version + 1, events.length)), events);
    if (written.kind !== 'same') throw new DuplicateEventIdError(events.map((event) => event.eventId).join(', '));
    return { kind: 'done', result: resultOf(written.last, appendId) };
  }

  /** Looks for an earlier attempt of this append where it could have landed (see priorAppendSearch). */
  private async findPriorAppend(
    streamId: string,
    events: PreparedEvent[],
    expected: ExpectedVersion,
    currentVersion: number,
    tail: DecodedEvent[],
  ): Promise<PriorAppend> {
    const search = priorAppendSearch(expected, currentVersion);
    if (search.kind === 'none') return { kind: 'absent' };
    if (search.kind === 'slot') {
      return classifyPriorAppend(await this.readDecoded(streamId, sliceRead(search.fromVersion, events.length)), events);
    }
    // any / stream_exists: walk back from the head until an event older than the batch's
    // recordedAt (minus the skew margin); a retry's events cannot be behind that.
    const indexOfId = new Map(events.map((event, index) => [event.eventId, index]));
    const cutoff = Math.min(...events.map((event) => Date.parse(event.recordedAt))) - REPLAY_WINDOW_MS;
    let page = tail;
    for (;;) {
      for (const stored of page) {
        const index = indexOfId.get(stored.eventId);
        if (index !== undefined) {
          const start = stored.version - index;
          if (start < 1) return { kind: 'different' };
          return classifyPriorAppend(await this.readDecoded(streamId, sliceRead(start, events.length)), events);
        }
        if (stored.recordedAtMs < cutoff) return { kind: 'absent' };
      }
      const oldest = page[page.length - 1];
      if (!oldest || oldest.version <= 1 || page.length < TAIL_PAGE) return { kind: 'absent' };
      page = await this.readDecoded(streamId, { direction: BACKWARDS, fromRevision: revisionOfVersion(oldest.version - 1), maxCount: TAIL_PAGE });
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const asOf = options.asOf === undefined ? undefined : Date.parse(options.asOf);
    if (asOf !== undefined && Number.isNaN(asOf)) throw new InvalidEventError(`asOf ${options.asOf} is not a date`);
    if (!isStreamName(streamId)) return [];
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const backwards = options.direction === 'backwards';
    let fromRevision: ReadRevision;
    let serverLimit = asOf === undefined ? limit : Number.POSITIVE_INFINITY;
    if (backwards) {
      const upper = Math.min(options.fromVersion ?? Number.POSITIVE_INFINITY, options.toVersion ?? Number.POSITIVE_INFINITY);
      if (upper < 1) return [];
      fromRevision = upper <= Number.MAX_SAFE_INTEGER ? revisionOfVersion(Math.floor(upper)) : END;
    } else {
      const lower = Math.max(1, Math.ceil(options.fromVersion ?? 1));
      if (!(lower <= Number.MAX_SAFE_INTEGER)) return [];
      fromRevision = lower > 1 ? revisionOfVersion(lower) : START;
      if (options.toVersion !== undefined) {
        const span = Math.floor(options.toVersion) - lower + 1;
        if (span <= 0) return [];
        serverLimit = Math.min(serverLimit, span);
      }
    }
    const events: RecordedEvent[] = [];
    await guard(async () => {
      events.length = 0;
      await this.visit(streamId, { direction: backwards ? BACKWARDS : FORWARDS, fromRevision, maxCount: toMaxCount(serverLimit) }, (raw) => {
        const decoded = decodeOwn(raw);
        if (!backwards && options.toVersion !== undefined && decoded.version > options.toVersion) return false;
        if (asOf !== undefined && !(decoded.recordedAtMs <= asOf)) return true;
        events.push(this.upcasters.upcast(toRecorded(decoded)));
        return events.length < limit;
      });
    });
    return events;
  }

  async streamVersion(streamId: string): Promise<number> {
    return (await this.streamHead(streamId))?.version ?? 0;
  }

  /**
   * Everything after `after` in `$all` order, user streams only (filtered by the server on stream
   * name; events of types starting with `$` and events not written by this adapter are skipped
   * here). A KurrentDB append is in `$all` when it is acknowledged and later appends come after
   * it, so a reader following positions never passes an event that appears later.
   */
  async readAll(options: ReadAllOptions = {}): Promise<ReadAllBatch> {
    let cursor = options.after === undefined ? undefined : parseCheckpoint(options.after);
    const maxCount = options.maxCount ?? 1000;
    if (maxCount <= 0) return { events: [], checkpoint: options.after };
    const events: RecordedEvent[] = [];
    for (;;) {
      // Reading from a position includes the event there, so ask for one more and drop it.
      const page = await guard(() => this.readAllRaw(cursor, maxCount + 1));
      let fresh = 0;
      for (const raw of page) {
        if (!raw.position || (cursor && comparePositions(raw.position, cursor) <= 0)) continue;
        fresh++;
        cursor = raw.position;
        const decoded = decodeEvent(raw);
        if (decoded) events.push(this.upcasters.upcast(toRecorded(decoded)));
        if (events.length >= maxCount) break;
      }
      // Stop at the end of $all, or once something was found; a page of only skipped events is
      // passed over so a caller never sees an empty batch while there is more to read.
      if (events.length > 0 || page.length < maxCount + 1 || fresh === 0) break;
    }
    return { events, checkpoint: events.length ? events[events.length - 1].checkpoint : options.after };
  }

  /** Catch-up then live through the server's own subscription (see runLiveSubscription). */
  compareCheckpoints(a: string, b: string): number {
    return comparePositions(parseCheckpoint(a), parseCheckpoint(b));
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    if (this.closed) throw new StoreUnavailableError('the event store is closed');
    const highWaterMark = Math.max(16, options.batchSize ?? 500);
    const subscription = runLiveSubscription<{ event?: RawEvent }>(
      {
        open: (after) => sourceOf(this.client.subscribeToAll({ fromPosition: after === undefined ? START : parseCheckpoint(after), filter: USER_STREAMS }, { highWaterMark })),
        decode: (item) => {
          const decoded = item.event ? decodeEvent(rawOf(item.event)) : undefined;
          return decoded && this.upcasters.upcast(toRecorded(decoded));
        },
        isAfter: (checkpoint, cursor) => cursor === undefined || comparePositions(parseCheckpoint(checkpoint), parseCheckpoint(cursor)) > 0,
        isTransient: isUnavailable,
        translate: translateError,
      },
      options,
    );
    return tracked(this.subscriptions, subscription);
  }

  /**
   * The stream's last event and its link (empty if another program wrote that event, which then
   * fails verification). KurrentDB keeps no separate head record, so a removed tail goes unseen.
   */
  async streamHead(streamId: string): Promise<StreamHead | undefined> {
    if (!isStreamName(streamId)) return undefined;
    let head: StreamHead | undefined;
    await guard(() =>
      this.visit(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }, (raw) => {
        const last = decodeForVerification(raw);
        head = { streamId, version: last.version, hash: last.hash };
        return false;
      }),
    );
    return head;
  }

  /**
   * Stream heads in stream-id order. KurrentDB has no listing of streams without system
   * projections, so the adapter reads `$all` (user streams) and keeps the names it has seen with
   * the position it reached: the first call reads every event in the store once, later calls only
   * what was appended since. Memory grows with the number of streams.
   */
  async listStreams(options: { afterStreamId?: string; limit: number }): Promise<StreamHead[]> {
    await this.catchUpStreamIndex();
    const names = this.streamIndex.names;
    const after = options.afterStreamId ?? '';
    let low = 0;
    let high = names.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (names[middle] <= after) low = middle + 1;
      else high = middle;
    }
    const page = names.slice(low, low + Math.max(0, options.limit));
    const heads = await mapLimited(page, READ_CONCURRENCY, (streamId) => this.streamHead(streamId));
    return heads.filter((head): head is StreamHead => head !== undefined);
  }

  /** Raw stored events, not upcast, in stream-id then version order; foreign events get empty links. */
  async readStored(streamIds: string[]): Promise<StoredEvent[]> {
    const ids = [...new Set(streamIds)].filter((streamId) => isStreamName(streamId)).sort();
    const perStream = await mapLimited(ids, READ_CONCURRENCY, (streamId) =>
      guard(async () => {
        const stored: StoredEvent[] = [];
        await this.visit(streamId, { direction: FORWARDS, fromRevision: START }, (raw) => {
          stored.push(decodeForVerification(raw));
          return true;
        });
        return stored;
      }),
    );
    return perStream.flat();
  }

  async ping(): Promise<void> {
    await guard(async () => {
      for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
    }, []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
  }

  private async catchUpStreamIndex(): Promise<void> {
    const index = this.streamIndex;
    // One catch-up at a time; callers arriving meanwhile share it.
    index.catchingUp ??= (async () => {
      for (;;) {
        const page = await guard(() => this.readAllRaw(index.after, INDEX_PAGE));
        let fresh = 0;
        for (const raw of page) {
          if (!raw.position || (index.after && comparePositions(raw.position, index.after) <= 0)) continue;
          fresh++;
          index.after = raw.position;
          if (!index.known.has(raw.streamId) && isStreamName(raw.streamId, this.categories)) index.known.add(raw.streamId);
        }
        if (page.length < INDEX_PAGE || fresh === 0) break;
      }
      // Plain sort compares UTF-16 code units: byte order for these ASCII names, as PostgreSQL's "C".
      if (index.names.length !== index.known.size) index.names = [...index.known].sort();
    })().finally(() => {
      index.catchingUp = undefined;
    });
    await index.catchingUp;
  }

  /** Reads `$all` forwards from `after` (inclusive), user streams only. Not guarded. */
  private async readAllRaw(after: Position | undefined, maxCount: number): Promise<RawEvent[]> {
    const raws: RawEvent[] = [];
    for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition: after ?? START, maxCount, filter: USER_STREAMS })) {
      if (resolved.event) raws.push(rawOf(resolved.event));
    }
    return raws;
  }

  /** Reads this adapter's events of one stream; a missing stream reads as empty. Not guarded. */
  private async readDecoded(streamId: string, options: StreamReadOptions): Promise<DecodedEvent[]> {
    const decoded: DecodedEvent[] = [];
    await this.visit(streamId, options, (raw) => {
      decoded.push(decodeOwn(raw));
      return true;
    });
    return decoded;
  }

  /** Feeds one stream's events to `visit` until it returns false. Not guarded. */
  private async visit(streamId: string, options: StreamReadOptions, visit: (raw: RawEvent) => boolean): Promise<void> {
    try {
      for await (const resolved of this.client.readStream(streamId, options)) {
        if (resolved.event && !visit(rawOf(resolved.event))) break;
      }
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
  }
}

interface StreamReadOptions {
  direction: typeof FORWARDS | typeof BACKWARDS;
  fromRevision: ReadRevision;
  maxCount?: number;
}

function sliceRead(fromVersion: number, count: number): StreamReadOptions {
  return { direction: FORWARDS, fromRevision: revisionOfVersion(fromVersion), maxCount: count };
}

function toMaxCount(limit: number): number | undefined {
  return Number.isFinite(limit) ? Math.ceil(limit) : undefined;
}

function resultOf(last: DecodedEvent, appendId: string): AppendResult {
  return { nextVersion: last.version, position: last.position, checkpoint: last.checkpoint, replayed: last.appendId !== appendId };
}

/** A stream read through the port holds only our events; anything else is a corrupted stream. */
function decodeOwn(raw: RawEvent): DecodedEvent {
  const decoded = decodeEvent(raw);
  if (!decoded) throw new Error(`event ${raw.id} at ${raw.streamId}@${raw.revision} was not written by Caseline's event store`);
  return decoded;
}

function rawOf(event: RawEvent): RawEvent {
  return {
    streamId: event.streamId,
    id: event.id,
    revision: event.revision,
    type: event.type,
    isJson: event.isJson,
    data: event.data,
    metadata: event.metadata,
    position: event.position,
  };
}

function sourceOf(subscription: AllStreamSubscription): SubscriptionSource<{ event?: RawEvent }> {
  let closed = false;
  // The iteration sees every error; this listener only keeps a late one (after the iteration
  // ended) from becoming an uncaught 'error' event that would end the process.
  subscription.on('error', () => undefined);
  return {
    [Symbol.asyncIterator]: () => subscription[Symbol.asyncIterator](),
    get readableLength() {
      return subscription.readableLength;
    },
    async close() {
      if (closed) return;
      closed = true;
      // unsubscribe cancels the gRPC call; destroy ends an iteration waiting for the next event.
      await subscription.unsubscribe().catch(() => undefined);
      subscription.destroy();
    },
  };
}

/** Only names of the form <category>-<uuid> can be in this store; others read as absent. */
function isStreamName(streamId: string, categories?: ReadonlySet<string>): boolean {
  try {
    parseStreamName(streamId, categories);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a call to KurrentDB and turns "cannot reach the server" into StoreUnavailableError after
 * a few retries (the client reconnects in between). Retrying reads is harmless; appends are
 * retried one level up, where the next attempt first looks for the earlier one's events.
 */
async function guard<T>(work: () => Promise<T>, retryDelaysMs: number[] = RETRY_DELAYS_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (isUnavailable(error) && !(error instanceof StoreUnavailableError) && attempt < retryDelaysMs.length) {
        await sleep(retryDelaysMs[attempt]);
        continue;
      }
      throw translateError(error);
    }
  }
}

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
