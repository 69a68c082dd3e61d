import { runCatchUpSubscription, tracked } from '../catch-up-subscription';
import {
  DuplicateEventIdError,
  EventStoreError,
  InvalidCheckpointError,
  InvalidEventError,
  StoreUnavailableError,
  WrongExpectedVersionError,
} from '../errors';
import { prepareAppend } from '../append-validation';
import { ContentHashers, LINK_ROWS_SQL, linksInOrder, type LinkRow } from './content-hasher';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllBatch,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoredEvent,
  StoredLink,
  StreamHead,
  SubscribeOptions,
  Subscription,
} from '../port';
import { UpcasterRegistry } from '../upcasting';
import { Wakeup } from '../wakeup';
import { migrateEventStore } from './schema';
import type { ChainVerification } from '../hash-chain';
import { verifyPage } from '../verification';
import type { SqlDatabase } from './sql-database';
import { AppendGroups, type GroupRow, type HeadAppend } from './group-commit';

export interface SqlEventStoreOptions {
  /** Stream categories this store accepts (e.g. person, case, referral); any when omitted. */
  categories?: Iterable<string>;
  /** Largest serialized event (data + metadata) in bytes. */
  maxEventBytes?: number;
  upcasters?: UpcasterRegistry;
  /** How long an idle subscriber sleeps before it looks again without a wake-up. */
  pollIntervalMs?: number;
  /** NOTIFY channel that wakes subscribers in other processes (PostgreSQL only). */
  channel?: string;
  /** Apply pending schema migrations on open (default). Off for a reader without DDL rights. */
  migrate?: boolean;
  /** Worker threads that hash (and on PostgreSQL read) events for verification; 2 by default. */
  verificationThreads?: number;
  /**
   * Group commit: how many group statements may be under way at once (see AppendGroups); appends
   * arriving past that wait and go together. 0 sends every append on its own.
   */
  appendGroups?: number;
}

/**
 * One event appended onto a stream's head in one statement, no function: the head row is moved
 * (which locks it: appenders to one stream queue there and exactly one wins each version; under
 * READ COMMITTED a waiter re-checks the expected version against the head it finally sees) and the
 * event is written with the links the move computed. No row comes back when there is no head to
 * move (a new stream, an expected version that no longer holds): nothing was written, and the
 * caller asks es_append_one, which tells those apart. Same outcomes and locking as es_append_one,
 * at about half the server's work per event (no PL/pgSQL frame, no row set built and returned).
 * $2: the exact version expected, or NULL for any existing head.
 */
const APPEND_ONTO_HEAD = `WITH head AS (
    UPDATE es_streams s
       SET version = s.version + 1, previous_head = s.last_hash, last_hash = sha256(s.last_hash || decode($8, 'hex'))
     WHERE s.stream_id = $1 AND ($2::bigint IS NULL OR s.version = $2::bigint)
    RETURNING s.version, s.previous_head, s.last_hash)
  INSERT INTO es_events (stream_id, version, event_id, type, data, metadata, recorded_at, previous_hash, hash)
  SELECT $1, h.version, $3::uuid, $4, $5::jsonb, $6::jsonb, $7::timestamptz, h.previous_head, h.last_hash FROM head h
  RETURNING 'appended' AS outcome, version::text AS stream_version, position::text AS last_position,
            transaction_id::text AS last_transaction`;

/**
 * APPEND_ONTO_HEAD for a group of streams, each at most once (see AppendGroups): every head that
 * is where its member expects moves by one and its event is written with the links the move
 * computed; a member whose head did not move gets no row and nothing written. $1: a JSON array of
 * {s: stream, x: expected version or null, i: event id, t: type, d: data, m: metadata,
 * r: recorded at, c: content hash in hex}. A JSON null in d arrives as SQL NULL and is stored as
 * the jsonb null the single path stores.
 *
 * Why the heads are locked first, skipping those locked elsewhere: a group then never waits for a
 * head. It cannot deadlock with another group (in this process or another, whatever order the
 * planner visits the rows in), and a stream busy elsewhere holds up no other member: its member
 * gets no row and is appended alone, where it waits its turn as any single append does. Heads are
 * found by `= ANY(array)`, which the primary key serves whatever number of members the planner
 * guesses (jsonb_to_recordset is always guessed at 100 rows: with an IN join, a table of a few
 * thousand streams was scanned whole).
 */
const APPEND_GROUP_ONTO_HEADS = `WITH member AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS m(s text, x bigint, i uuid, t text, d jsonb, m jsonb, r timestamptz, c text)
  ), free AS (
    SELECT f.stream_id FROM es_streams f WHERE f.stream_id = ANY(ARRAY(SELECT s FROM member)) FOR NO KEY UPDATE SKIP LOCKED
  ), head AS (
    UPDATE es_streams h
       SET version = h.version + 1, previous_head = h.last_hash, last_hash = sha256(h.last_hash || decode(member.c, 'hex'))
      FROM member
     WHERE h.stream_id = ANY(ARRAY(SELECT stream_id FROM free)) AND h.stream_id = member.s AND (member.x IS NULL OR h.version = member.x)
    RETURNING h.stream_id, h.version, h.previous_head, h.last_hash, member.i, member.t, member.d, member.m, member.r)
  INSERT INTO es_events (stream_id, version, event_id, type, data, metadata, recorded_at, previous_hash, hash)
  SELECT stream_id, version, i, t, coalesce(d, 'null'::jsonb), m, r, previous_head, last_hash FROM head
  RETURNING stream_id, version::text AS stream_version, position::text AS last_position, transaction_id::text AS last_transaction`;

/**
 * A group of one (a lone writer, a quiet moment): APPEND_ONTO_HEAD, which costs less than the group
 * statement, but like it skipping a head another transaction holds, so that no group, of one or
 * more, ever waits for a lock while it takes one of the few places for groups under way.
 */
const APPEND_ONE_ONTO_FREE_HEAD = `WITH free AS (
    SELECT f.stream_id FROM es_streams f WHERE f.stream_id = $1 FOR NO KEY UPDATE SKIP LOCKED
  ), head AS (
    UPDATE es_streams s
       SET version = s.version + 1, previous_head = s.last_hash, last_hash = sha256(s.last_hash || decode($8, 'hex'))
     WHERE s.stream_id = (SELECT stream_id FROM free) AND ($2::bigint IS NULL OR s.version = $2::bigint)
    RETURNING s.version, s.previous_head, s.last_hash)
  INSERT INTO es_events (stream_id, version, event_id, type, data, metadata, recorded_at, previous_hash, hash)
  SELECT $1, h.version, $3::uuid, $4, $5::jsonb, $6::jsonb, $7::timestamptz, h.previous_head, h.last_hash FROM head h
  RETURNING version::text AS stream_version, position::text AS last_position, transaction_id::text AS last_transaction`;

/** The head an append onto an existing stream expects: a version, null for any; undefined when the stream may be new. */
function existingHead(expected: string): number | null | undefined {
  if (expected === 'stream_exists') return null;
  if (expected === 'any') return null;
  if (expected === 'no_stream' || expected === '0') return undefined;
  return Number(expected);
}

interface EventRow {
  position: string;
  transaction_id: string;
  stream_id: string;
  version: string | number;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  hash: string;
  previous_hash?: string;
}

// Always selected from `es_events e`. Why the alias matters: the text-cast output columns share
// the names of the table's columns, and an unqualified ORDER BY would sort by the text (9 > 10).
const EVENT_COLUMNS = `e.position::text AS position, e.transaction_id::text AS transaction_id, e.stream_id,
  e.version::int AS version, e.type, e.data, e.metadata, encode(e.hash, 'hex') AS hash`;

/** Checkpoint = "<transaction id>:<position>", the delivery order of readAll. */
const CHECKPOINT = /^(\d{1,20}):(\d{1,19})$/;
const START = { transactionId: '0', position: '0' };

/**
 * The event store on PostgreSQL or PGlite: the same schema, the same SQL, one round trip per
 * append (concurrent single-event appends share one: see AppendGroups), a hash chain per stream
 * and gap-free delivery.
 */
export class SqlEventStore implements EventStore {
  readonly adapterName: string;
  private readonly categories?: ReadonlySet<string>;
  private readonly maxEventBytes: number;
  private readonly upcasters: UpcasterRegistry;
  private readonly pollIntervalMs: number;
  private readonly channel: string;
  private readonly wakeup = new Wakeup();
  private unlisten?: Promise<() => Promise<void>>;
  private notifyState: 'idle' | 'sending' | 'again' = 'idle';
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;
  /** Content hashes for verification, in worker threads (which read the events too on PostgreSQL). */
  private readonly hasher: ContentHashers;
  private readonly groups?: AppendGroups;

  private constructor(
    readonly db: SqlDatabase,
    options: SqlEventStoreOptions,
  ) {
    this.adapterName = db.kind;
    this.categories = options.categories ? new Set(options.categories) : undefined;
    this.maxEventBytes = options.maxEventBytes ?? 256 * 1024;
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.channel = options.channel ?? 'caseline_events';
    const connection = db.threadConnection;
    this.hasher = new ContentHashers(options.verificationThreads, connection && { ...connection, driver: require.resolve('pg') });
    const groups = options.appendGroups ?? 2;
    if (groups > 0) this.groups = new AppendGroups((members) => this.sendGroup(members), groups);
  }

  /** Applies pending schema migrations, then opens the store. */
  static async open(db: SqlDatabase, options: SqlEventStoreOptions = {}): Promise<SqlEventStore> {
    if (options.migrate !== false) await guard(() => migrateEventStore(db));
    return new SqlEventStore(db, options);
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, options.expectedVersion, {
      categories: this.categories,
      maxEventBytes: this.maxEventBytes,
    });
    const payload = prepared.events.length === 1 ? '' : JSON.stringify(prepared.events);
    type Outcome = { outcome: string | null; stream_version: string | null; last_position: string | null; last_transaction: string | null };
    const columns = `outcome, stream_version::text AS stream_version, last_position::text AS last_position,
                last_transaction::text AS last_transaction`;
    let rows: Outcome[];
    try {
      const [one] = prepared.events;
      const onto = prepared.events.length === 1 ? existingHead(prepared.expected) : undefined;
      // The common case, one event onto a stream that exists, in one statement (see APPEND_ONTO_HEAD);
      // a new stream, a conflict or a retry finds no head to move and goes through es_append_one.
      const grouped = onto === undefined || !this.groups ? 'alone' : this.groups.append({ streamId, expected: onto, event: one });
      if (onto === undefined) rows = [];
      else if (grouped !== 'alone') {
        // Appended in a group, or not (a new stream, a stale version, a failed group): then alone.
        const row = await grouped;
        rows = row ? [{ outcome: 'appended', ...row }] : [];
      } else {
        rows = (
          await guard(() =>
            this.db.query<Outcome>(
              APPEND_ONTO_HEAD,
              [streamId, onto, one.eventId, one.type, JSON.stringify(one.data), JSON.stringify(one.metadata), one.recordedAt, one.contentHash],
              'caseline_append_onto_head',
            ),
          )
        ).rows;
      }
      if (rows.length === 0) {
        ({ rows } = await guard(() =>
          prepared.events.length === 1
            ? this.db.query<Outcome>(`SELECT ${columns} FROM es_append_one($1, $2, $3, $4::uuid, $5, $6::jsonb, $7::jsonb, $8::timestamptz, decode($9, 'hex'))`,
                [streamId, prepared.category, prepared.expected, one.eventId, one.type, JSON.stringify(one.data), JSON.stringify(one.metadata), one.recordedAt, one.contentHash],
                'caseline_append_one',
              )
            : this.db.query<Outcome>(`SELECT ${columns} FROM es_append($1, $2, $3, $4::jsonb)`, [streamId, prepared.category, prepared.expected, payload], 'caseline_append'),
        ));
      }
    } catch (error) {
      // An event id is already stored: a retry whose expected version still held, or two retries
      // that raced. Look the batch up and answer with the original result, as any retry gets.
      if (!isUniqueViolation(error, 'es_events_event_id_key')) throw error;
      ({ rows } = await guard(() =>
        this.db.query<Outcome>(`SELECT ${columns} FROM es_find_appended($1, $2::jsonb)`, [streamId, JSON.stringify(prepared.events)]),
      ));
    }
    const row = rows[0];
    switch (row.outcome) {
      case 'conflict':
        throw new WrongExpectedVersionError(streamId, options.expectedVersion ?? 'any', Number(row.stream_version));
      case 'duplicate':
      case null:
        throw new DuplicateEventIdError(prepared.events.map((event) => event.eventId).join(', '));
      case 'appended':
      case 'replayed': {
        if (row.outcome === 'appended') this.announce();
        return {
          nextVersion: Number(row.stream_version),
          position: BigInt(row.last_position as string),
          checkpoint: `${row.last_transaction}:${row.last_position}`,
          replayed: row.outcome === 'replayed',
        };
      }
      default:
        throw new Error(`es_append answered ${row.outcome}`);
    }
  }

  /** One group statement (see AppendGroups); its failure is the group's, and each member then goes alone. */
  private async sendGroup(members: HeadAppend[]): Promise<GroupRow[]> {
    if (members.length === 1) {
      const [{ streamId, expected, event }] = members;
      const { rows } = await this.db.query<Omit<GroupRow, 'stream_id'>>(
        APPEND_ONE_ONTO_FREE_HEAD,
        [streamId, expected, event.eventId, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata), event.recordedAt, event.contentHash],
        'caseline_append_one_onto_free_head',
      );
      return rows.map((row) => ({ ...row, stream_id: streamId }));
    }
    const payload = JSON.stringify(
      members.map(({ streamId, expected, event }) => ({
        s: streamId,
        x: expected,
        i: event.eventId,
        t: event.type,
        d: event.data,
        m: event.metadata,
        r: event.recordedAt,
        c: event.contentHash,
      })),
    );
    const { rows } = await this.db.query<GroupRow>(APPEND_GROUP_ONTO_HEADS, [payload], 'caseline_append_group');
    return rows;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const conditions = ['e.stream_id = $1'];
    const params: unknown[] = [streamId];
    const bound = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (options.fromVersion !== undefined) bound(backwards ? 'e.version <= ?' : 'e.version >= ?', options.fromVersion);
    if (options.toVersion !== undefined) bound('e.version <= ?', options.toVersion);
    if (options.asOf !== undefined) {
      if (Number.isNaN(Date.parse(options.asOf))) throw new InvalidEventError(`asOf ${options.asOf} is not a date`);
      // As of a time = the prefix of the stream up to its last event recorded by then, so a state
      // "as of" is always one the stream really passed through.
      bound('e.version <= (SELECT coalesce(max(p.version), 0) FROM es_events p WHERE p.stream_id = $1 AND p.recorded_at <= ?::timestamptz)', options.asOf);
    }
    let sql = `SELECT ${EVENT_COLUMNS} FROM es_events e WHERE ${conditions.join(' AND ')} ORDER BY e.version ${backwards ? 'DESC' : 'ASC'}`;
    if (options.maxCount !== undefined) {
      params.push(options.maxCount);
      sql += ` LIMIT $${params.length}`;
    }
    const { rows } = await guard(() => this.db.query<EventRow>(sql, params));
    return rows.map((row) => this.upcasters.upcast(toRecorded(row)));
  }

  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await guard(() =>
      this.db.query<{ version: string }>(`SELECT version::text AS version FROM es_streams WHERE stream_id = $1`, [streamId]),
    );
    return rows.length ? Number(rows[0].version) : 0;
  }

  /**
   * Everything after `after`, in (transaction id, position) order, and only events of
   * transactions older than the oldest one still running. Why: positions are taken before commit
   * and transactions commit out of order; a reader that followed positions alone would pass a
   * position whose transaction commits later and skip it forever. Below the snapshot's xmin every
   * transaction has finished, so nothing can appear behind the cursor. No gap is ever skipped
   * because time passed; a long-running transaction delays delivery instead.
   */
  async readAll(options: ReadAllOptions = {}): Promise<ReadAllBatch> {
    const from = options.after === undefined ? START : parseCheckpoint(options.after);
    const { rows } = await guard(() =>
      this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM es_events e
          WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint)
            AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY e.transaction_id, e.position
          LIMIT $3`,
        [from.transactionId, from.position, options.maxCount ?? 1000],
        'caseline_read_all',
      ),
    );
    const events = rows.map((row) => this.upcasters.upcast(toRecorded(row)));
    return { events, checkpoint: events.length ? events[events.length - 1].checkpoint : options.after };
  }

  compareCheckpoints(a: string, b: string): number {
    // Delivery order is (transaction id, position): see readAll.
    const x = parseCheckpoint(a);
    const y = parseCheckpoint(b);
    const byTransaction = compareDecimal(x.transactionId, y.transactionId);
    return byTransaction !== 0 ? byTransaction : compareDecimal(x.position, y.position);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    if (this.closed) throw new StoreUnavailableError('the event store is closed');
    if (this.db.listen && !this.unlisten) {
      this.unlisten = this.db.listen(this.channel, () => this.wakeup.signal()).catch(() => async () => undefined);
    }
    const subscription = runCatchUpSubscription(
      (after, maxCount) => this.readAll({ after, maxCount }),
      this.wakeup,
      options,
      this.pollIntervalMs,
    );
    return tracked(this.subscriptions, subscription);
  }

  async streamHead(streamId: string): Promise<StreamHead | undefined> {
    const { rows } = await guard(() =>
      this.db.query<{ stream_id: string; version: string; hash: string }>(
        `SELECT stream_id, version::text AS version, encode(last_hash, 'hex') AS hash FROM es_streams WHERE stream_id = $1`,
        [streamId],
      ),
    );
    return rows.length ? { streamId: rows[0].stream_id, version: Number(rows[0].version), hash: rows[0].hash } : undefined;
  }

  async listStreams(options: { afterStreamId?: string; limit: number }): Promise<StreamHead[]> {
    const { rows } = await guard(() =>
      this.db.query<{ stream_id: string; version: string; hash: string }>(
        `SELECT stream_id, version::text AS version, encode(last_hash, 'hex') AS hash FROM es_streams
          WHERE stream_id COLLATE "C" > $1 ORDER BY stream_id COLLATE "C" LIMIT $2`,
        [options.afterStreamId ?? '', options.limit],
      ),
    );
    return rows.map((row) => ({ streamId: row.stream_id, version: Number(row.version), hash: row.hash }));
  }

  async readStored(streamIds: string[]): Promise<StoredEvent[]> {
    if (streamIds.length === 0) return [];
    const { rows } = await guard(() =>
      this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS}, encode(e.previous_hash, 'hex') AS previous_hash FROM es_events e
          WHERE e.stream_id = ANY($1::text[]) ORDER BY e.stream_id COLLATE "C", e.version`,
        [streamIds],
      ),
    );
    return rows.map((row) => ({ ...toRecorded(row), previousHash: row.previous_hash as string }));
  }

  /**
   * Links with content hashes computed from the jsonb text PostgreSQL writes (see
   * canonicalJsonOfJsonbText): no JSON.parse, no object built per event. On PostgreSQL a worker
   * thread reads and hashes the page over its own connection; otherwise this thread reads it.
   */
  async readStoredLinks(streamIds: string[]): Promise<StoredLink[]> {
    if (streamIds.length === 0) return [];
    const read = await guard(() => this.hasher.readLinks(streamIds));
    if (read) return read;
    const { rows } = await guard(() =>
      this.db.query<{ stream_id: string; version: number; type: string; data: string; metadata: string; previous_hash: string; hash: string }>(LINK_ROWS_SQL, [streamIds], 'caseline_read_contents'),
    );
    const runs = linksInOrder(
      streamIds,
      rows.map((row): LinkRow => [row.stream_id, Number(row.version), row.type, row.data, row.metadata, row.previous_hash, row.hash]),
    );
    const ordered = runs.flat();
    const hashes = await this.hasher.hashAll(ordered.map(([streamId, , type, data, metadata]) => ({ streamId, type, data, metadata })));
    return ordered.map(([streamId, version, , , , previousHash, hash], index) => ({ streamId, version, contentHash: hashes[index], previousHash, hash }));
  }

  /**
   * On PostgreSQL a worker thread reads, hashes and walks each page over its own connection and
   * answers only the verdicts: no link of a million events is built in this thread. Otherwise
   * (PGlite, or no worker) the walk goes over readStoredLinks.
   */
  async verifyStoredChains(heads: StreamHead[]): Promise<ChainVerification[]> {
    const verdicts = await guard(() => this.hasher.verifyChains(heads));
    if (verdicts) return verdicts;
    return verifyPage({ heads, events: await this.readStoredLinks(heads.map((head) => head.streamId)) });
  }

  appendGroupCounts(): { groups: number; failed: number } {
    return { ...(this.groups?.counts ?? { groups: 0, failed: 0 }) };
  }

  async ping(): Promise<void> {
    await guard(() => this.db.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    if (this.unlisten) await (await this.unlisten)();
    while (this.notifyState !== 'idle') await new Promise((resolve) => setTimeout(resolve, 5));
    await this.hasher.close();
    await this.db.close();
  }

  /**
   * Wakes subscribers after a commit: those in this process at once, those in other processes by a
   * NOTIFY. Why not NOTIFY inside the append: PostgreSQL serialises the commits of notifying
   * transactions behind one lock, which would cap concurrent appends; one coalesced NOTIFY at a
   * time outside the append keeps the latency and not the cost.
   */
  private announce(): void {
    this.wakeup.signal();
    if (!this.db.listen || this.closed) return;
    if (this.notifyState !== 'idle') {
      this.notifyState = 'again';
      return;
    }
    this.notifyState = 'sending';
    const send = (): void => {
      this.db
        .query(`SELECT pg_notify($1, '')`, [this.channel])
        .catch(() => undefined)
        .finally(() => {
          if (this.notifyState === 'again' && !this.closed) {
            this.notifyState = 'sending';
            send();
          } else this.notifyState = 'idle';
        });
    };
    send();
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    streamId: row.stream_id,
    version: Number(row.version),
    position: BigInt(row.position),
    checkpoint: `${row.transaction_id}:${row.position}`,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    hash: row.hash,
  };
}

function parseCheckpoint(checkpoint: string): { transactionId: string; position: string } {
  const match = typeof checkpoint === 'string' ? CHECKPOINT.exec(checkpoint) : null;
  if (!match) throw new InvalidCheckpointError(String(checkpoint));
  return { transactionId: match[1], position: match[2] };
}

function compareDecimal(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** Is this a failure to reach the database (as opposed to a bug or a rejected statement)? */
export function isConnectionFailure(error: unknown): boolean {
  // Duck-typed, not instanceof: driver errors may come from another realm (Jest's VM contexts).
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P') || code === '53300')) {
    return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|PGlite is closed/i.test(
    String((error as { message?: unknown }).message ?? ''),
  );
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  return (error as { code?: string; constraint?: string })?.code === '23505' && (error as { constraint?: string }).constraint === constraint;
}

const RETRY_DELAYS_MS = [50, 250];

/**
 * Runs a database call and turns connection failures into StoreUnavailableError, after two quick
 * retries. Why retrying is safe: every store operation is idempotent — reads trivially, appends by
 * their event ids (a retry of an append that did commit answers with the original result). The
 * retries absorb the pool handing out a connection the server has just closed.
 */
export async function guard<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (isConnectionFailure(error) && !(error instanceof EventStoreError) && attempt < RETRY_DELAYS_MS.length) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
        continue;
      }
      throw translate(error);
    }
  }
}

function translate(error: unknown): unknown {
  {
    if (error instanceof EventStoreError) return error;
    if (isConnectionFailure(error)) return new StoreUnavailableError('the event store database is unavailable', error);
    const code = (error as { code?: unknown })?.code;
    // Class 22 is "data exception": e.g. a string PostgreSQL cannot store in jsonb.
    if (typeof code === 'string' && code.startsWith('22')) return new InvalidEventError((error as Error).message);
    return error;
  }
}
