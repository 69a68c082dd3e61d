import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isConnectionFailure, StoreUnavailableError, type EventStore, type RecordedEvent, type SqlDatabase, type SqlQueryable, type Subscription } from '@caseline/event-store';
import { parkedBy } from './lease-parking';
import { byLockOrder, emptyRowCache, prepareBatch, projectBatch, rememberRows, writeBatch, type PreparedBatch, type Projection, type RowCache, type RowChanges, type TableNames } from './projection';
import { migrations } from './read-models/migrations';

export interface ProjectorOptions {
  store: EventStore;
  /** The read models' database (where the checkpoints live, in the same transactions as the rows). */
  db: SqlDatabase;
  projections: readonly Projection[];
  /** Names this process in the lease table (default: a random id). */
  owner?: string;
  /** How long a lease lasts without a heartbeat: a dead projector's projections move after this. */
  leaseMs?: number;
  batchSize?: number;
  /** Tries of a failing event before it is parked as a dead letter. */
  maxAttempts?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
}

/** Where a projection stands: its checkpoint, who holds it, and how far behind the store it is. */
export interface ProjectionStatus {
  name: string;
  checkpoint: string | null;
  owner: string | null;
  leaseExpiresAt: string | null;
  eventsProjected: number;
  /** Events stored after the checkpoint (counted up to `LAG_COUNT_LIMIT`; `eventsBehindAtLeast` when more). */
  eventsBehind: number;
  eventsBehindAtLeast: boolean;
  /** Age of the oldest event not yet projected; 0 when caught up. */
  secondsBehind: number;
  deadLetters: number;
}

const LAG_COUNT_LIMIT = 10_000;

/** This projector no longer holds the projection: another took it over (or a rebuild swapped it). */
export class LeaseLostError extends Error {
  constructor(projection: string) {
    super(`the lease on projection ${projection} was lost`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Runs projections from the store's subscription to all events. For each projection: a fenced
 * lease (one active projector per projection across processes), then batches, each applied in
 * one transaction together with the new checkpoint — so an event's effect lands exactly once
 * whatever crashes when. A poison event is retried, then parked in projection_dead_letters.
 * The projections this process holds share one subscription and commit each batch in one
 * statement (see ProjectionGroup).
 */
export class Projector {
  readonly owner: string;
  private readonly group: ProjectionGroup;
  /** Emits 'progress' after every committed batch (read-your-writes waits listen here). */
  readonly events = new EventEmitter();

  constructor(private readonly options: ProjectorOptions) {
    this.owner = options.owner ?? `projector-${randomUUID()}`;
    this.events.setMaxListeners(0);
    this.group = new ProjectionGroup(options, this.owner, () => this.events.emit('progress'));
  }

  start(): void {
    this.group.start();
  }

  async stop(): Promise<void> {
    await this.group.stop();
  }

  async status(): Promise<ProjectionStatus[]> {
    return projectionStatus(this.options.store, this.options.db, this.options.projections.map((p) => p.name));
  }
}

export async function projectionStatus(store: EventStore, db: SqlQueryable, names: readonly string[]): Promise<ProjectionStatus[]> {
  const { rows } = await db.query<{
    name: string;
    checkpoint: string | null;
    owner: string | null;
    lease_expires_at: Date | string | null;
    events: string;
    dead_letters: string;
  }>(
    `SELECT n.name, c.checkpoint, c.owner, c.lease_expires_at, coalesce(c.events, 0)::text AS events,
            (SELECT count(*) FROM projection_dead_letters d WHERE d.projection = n.name)::text AS dead_letters
       FROM unnest($1::text[]) WITH ORDINALITY AS n(name, ord) LEFT JOIN projection_checkpoints c ON c.name = n.name
      ORDER BY n.ord`,
    [names],
  );
  const now = Date.now();
  return Promise.all(
    rows.map(async (row) => {
      const behind = await store.readAll({ after: row.checkpoint ?? undefined, maxCount: LAG_COUNT_LIMIT });
      const oldest = behind.events[0]?.metadata.recordedAt;
      return {
        name: row.name,
        checkpoint: row.checkpoint,
        owner: row.owner,
        leaseExpiresAt: row.lease_expires_at ? new Date(row.lease_expires_at).toISOString() : null,
        eventsProjected: Number(row.events),
        eventsBehind: behind.events.length,
        eventsBehindAtLeast: behind.events.length === LAG_COUNT_LIMIT,
        secondsBehind: oldest ? Math.max(0, (now - Date.parse(oldest)) / 1000) : 0,
        deadLetters: Number(row.dead_letters),
      };
    }),
  );
}

/** Leases parked by the read-model migrations this build knows: free for it to take (see lease-parking). */
const PARKED_BY_KNOWN_MIGRATIONS = migrations.map((migration) => parkedBy(new migration().name ?? migration.name));

/** Takes (or renews) a projection's lease; answers the fence and checkpoint when it is ours. */
export async function acquireLease(
  db: SqlQueryable,
  projection: string,
  owner: string,
  leaseMs: number,
): Promise<{ fence: string; checkpoint: string | undefined } | undefined> {
  await db.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [projection]);
  // Why the fence goes up on every acquisition: a projector that paused past its lease (GC,
  // network) and wakes up still believing it is the owner commits nothing, because each batch
  // checks the fence as it commits (see commitAtOnce and lockProjection).
  const { rows } = await db.query<{ fence: string; checkpoint: string | null }>(
    `UPDATE projection_checkpoints
        SET owner = $2, fence = fence + 1, lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
      WHERE name = $1 AND (owner IS NULL OR owner = $2 OR owner = ANY($4::text[]) OR lease_expires_at IS NULL OR lease_expires_at < now())
      RETURNING fence::text AS fence, checkpoint`,
    [projection, owner, leaseMs, PARKED_BY_KNOWN_MIGRATIONS],
  );
  return rows[0] ? { fence: rows[0].fence, checkpoint: rows[0].checkpoint ?? undefined } : undefined;
}

/** Holds the projection's row and checks this process still owns it under `fence` at `checkpoint`. */
export async function lockProjection(tx: SqlQueryable, projection: string, fence: string, checkpoint: string | undefined): Promise<void> {
  await lockProjections(tx, [{ name: projection, fence, checkpoint }]);
}

/** lockProjection for several projections in one statement (their rows locked in name order). */
export async function lockProjections(tx: SqlQueryable, held: readonly { name: string; fence: string; checkpoint: string | undefined }[]): Promise<void> {
  const { rows } = await tx.query<{ name: string; fence: string; checkpoint: string | null }>(
    `SELECT name, fence::text AS fence, checkpoint FROM projection_checkpoints WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
    [held.map((projection) => projection.name)],
  );
  for (const { name, fence, checkpoint } of held) {
    const row = rows.find((candidate) => candidate.name === name);
    if (row?.fence !== fence || (row.checkpoint ?? undefined) !== checkpoint) throw new LeaseLostError(name);
  }
}

export async function advanceCheckpoint(tx: SqlQueryable, projection: string, checkpoint: string, events: readonly RecordedEvent[]): Promise<void> {
  await advanceCheckpoints(tx, [{ name: projection, events }], checkpoint);
}

/** advanceCheckpoint for several projections, each with the events it projected, in one statement. */
export async function advanceCheckpoints(tx: SqlQueryable, moved: readonly { name: string; events: readonly RecordedEvent[] }[], checkpoint: string): Promise<void> {
  await tx.query(
    `UPDATE projection_checkpoints AS c
        SET checkpoint = $2, events = c.events + n.events, last_event_at = coalesce(n.last_event_at, c.last_event_at), updated_at = now()
       FROM unnest($1::text[], $3::bigint[], $4::timestamptz[]) AS n(name, events, last_event_at)
      WHERE c.name = n.name`,
    [moved.map((m) => m.name), checkpoint, moved.map((m) => m.events.length), moved.map((m) => m.events.at(-1)?.metadata.recordedAt ?? null)],
  );
}

/** A round of a ProjectionGroup ends: the group regroups, takes its leases again, resubscribes. */
class Regroup {
  constructor(readonly reason: 'lease_lost' | 'lease_free') {}
}

/**
 * Runs every projection whose lease this process can take from one subscription, each batch
 * committed for all of them in one statement (commitAtOnce). Why one group, not a loop per
 * projection: in the API process, every statement is a round trip the requests wait behind, and
 * four loops each read the log and committed on every wake-up. A projection held elsewhere is
 * left alone; the heartbeat tries its lease and, once it is free, the group regroups to take it
 * in. Projections may stand at different checkpoints (one rebuilt, one new): the group reads from
 * the earliest, and each writer takes only the events past its own.
 */
class ProjectionGroup {
  private running = false;
  private halt: () => void = () => undefined;
  private halted: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  private wake: (() => void) | undefined;
  /** The leases of the current round. */
  private writers: CheckpointedWriter[] = [];

  constructor(
    private readonly options: ProjectorOptions,
    private readonly owner: string,
    private readonly progressed: () => void,
  ) {}

  private get leaseMs(): number {
    return this.options.leaseMs ?? 10_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.halted = new Promise((resolve) => (this.halt = resolve));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.halt();
    this.wake?.();
    await this.subscription?.stop();
    await this.loop;
    // Hand the projections over at once rather than after the leases run out.
    for (const { held } of this.writers) {
      await this.options.db
        .query(`UPDATE projection_checkpoints SET owner = NULL, lease_expires_at = NULL WHERE name = $1 AND owner = $2 AND fence = $3`, [held.name, this.owner, held.fence])
        .catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const { db, store, projections } = this.options;
    const compare = (a: string, b: string) => store.compareCheckpoints(a, b);
    while (this.running) {
      const writers: CheckpointedWriter[] = [];
      try {
        for (const projection of projections) {
          const lease = await acquireLease(db, projection.name, this.owner, this.leaseMs);
          if (lease) writers.push(this.writer(projection, lease));
        }
      } catch (error) {
        this.log('warn', 'could not reach the read-model database to take the leases', error);
        this.writers = writers;
        await this.sleep(1_000);
        continue;
      }
      this.writers = writers;
      if (writers.length === 0) {
        // Others hold them all: try again a little after their leases could have run out.
        await this.sleep(this.leaseMs / 3 + Math.random() * 200);
        continue;
      }
      const checkpoints = writers.map((writer) => writer.checkpoint);
      const from = checkpoints.includes(undefined) ? undefined : (checkpoints as string[]).reduce((a, b) => (compare(a, b) <= 0 ? a : b));
      this.log('info', 'projecting', { projections: writers.map((writer) => writer.name), from: from ?? 'the beginning' });
      let endRound: (reason: Regroup) => void = () => undefined;
      const ended = new Promise<unknown>((resolve) => {
        // A lost (or newly free) lease found by the heartbeat ends this round like a failed batch does.
        endRound = resolve;
        this.subscription = store.subscribeToAll({
          after: from,
          batchSize: this.options.batchSize ?? 500,
          handle: (events, checkpoint) => projectGroup(db, writers, events, checkpoint, compare),
          onError: resolve,
        });
      });
      // Why the round's own end goes to its heartbeat: a renewal still under way when the round
      // ends holds the old fences, which the next round's leases have raised; it must not end that one.
      const heartbeat = setInterval(() => void this.renew(writers, endRound), Math.max(50, this.leaseMs / 3));
      const outcome = await Promise.race([ended, this.halted]);
      clearInterval(heartbeat);
      await this.subscription?.stop();
      this.subscription = undefined;
      if (!this.running) return;
      if (outcome instanceof Regroup && outcome.reason === 'lease_free') this.log('info', 'a projection held elsewhere came free; regrouping');
      else if (outcome instanceof Regroup || outcome instanceof LeaseLostError) this.log('info', 'lease lost; another projector or a rebuild holds a projection');
      else this.log('error', 'projection stopped; restarting from the checkpoints', outcome);
      await this.sleep(outcome instanceof Regroup || outcome instanceof LeaseLostError ? 50 : 1_000);
    }
  }

  private writer(projection: Projection, lease: { fence: string; checkpoint: string | undefined }): CheckpointedWriter {
    return new CheckpointedWriter({
      db: this.options.db,
      projection,
      checkpointName: projection.name,
      fence: lease.fence,
      checkpoint: lease.checkpoint,
      maxAttempts: this.options.maxAttempts,
      log: (level, message, details) => this.log(level, message, details, projection.name),
      committed: this.progressed,
    });
  }

  /**
   * Renews this round's leases, one statement each: a statement renewing several could lock their
   * rows in another order than a batch's commit does, and deadlock with it. Then tries the leases
   * held elsewhere, and regroups when one of them is free.
   */
  private async renew(writers: readonly CheckpointedWriter[], endRound: (reason: Regroup) => void): Promise<void> {
    try {
      for (const { held } of writers) {
        const { rows } = await this.options.db.query(
          `UPDATE projection_checkpoints SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000)
            WHERE name = $1 AND owner = $2 AND fence = $3 RETURNING 1`,
          [held.name, this.owner, held.fence, this.leaseMs],
        );
        if (rows.length === 0) return endRound(new Regroup('lease_lost'));
      }
      const mine = new Set(writers.map((writer) => writer.name));
      const others = this.options.projections.filter((projection) => !mine.has(projection.name)).map((projection) => projection.name);
      if (others.length === 0) return;
      const { rows } = await this.options.db.query(
        `SELECT 1 FROM projection_checkpoints WHERE name = ANY($1::text[]) AND (owner IS NULL OR owner = ANY($2::text[]) OR lease_expires_at IS NULL OR lease_expires_at < now()) LIMIT 1`,
        [others, PARKED_BY_KNOWN_MIGRATIONS],
      );
      if (rows.length > 0) endRound(new Regroup('lease_free'));
    } catch {
      // The next batch re-checks the fences; a missed heartbeat alone changes nothing.
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string, details?: unknown, projection?: string): void {
    const extra = details instanceof Error ? { error: details.message } : (details as Record<string, unknown> | undefined);
    this.options.log?.(level, projection ? `projection ${projection}: ${message}` : `projections: ${message}`, extra);
  }
}

/**
 * One batch of a ProjectionGroup: each writer's events past its checkpoint, applied in memory,
 * then committed together in one statement. When that fails for a reason of the events (a poison
 * event), each writer takes its part alone, with its own fallbacks; a lost lease ends the round.
 */
async function projectGroup(
  db: SqlDatabase,
  writers: readonly CheckpointedWriter[],
  events: RecordedEvent[],
  checkpoint: string,
  compare: (a: string, b: string) => number,
): Promise<void> {
  const parts = writers.map((writer) => ({ writer, events: writer.pending(events, compare) })).filter((part) => part.events.length > 0);
  if (parts.length === 0) return;
  try {
    const prepared: CommitPart[] = [];
    for (const part of parts) prepared.push({ held: part.writer.held, prepared: await part.writer.prepare(part.events), events: part.events });
    const committed = await commitAtOnce(db, prepared, checkpoint);
    for (const [i, part] of parts.entries()) if (committed.has(part.writer.name)) part.writer.committed(checkpoint, prepared[i].prepared.changes);
    const lost = parts.find((part) => !committed.has(part.writer.name));
    if (lost) throw new LeaseLostError(lost.writer.name);
  } catch (error) {
    if (!isRetryable(error)) throw error;
    for (const part of parts) await part.writer.project(part.events, checkpoint);
  }
}

/** A failure of this event (or batch), as opposed to losing the lease or the database. */
function isRetryable(error: unknown): boolean {
  return !(error instanceof LeaseLostError) && !(error instanceof StoreUnavailableError) && !isConnectionFailure(error) && !isTransient(error) && !isSchemaFault(error);
}

/**
 * SQLSTATE class 42 (undefined table or column, insufficient privilege, syntax): the statement
 * does not fit the database — a schema older or newer than this code, a revoked grant. No event
 * is at fault, so none is parked: the runner stops and restarts from its checkpoint until the
 * schema and the code agree again, and every event then projects.
 */
function isSchemaFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('42');
}

/**
 * Failures of the moment, not of the event: deadlocks and serialization failures (class 40),
 * resources (53), lock waits (55P03), cancellations and timeouts (57014). The runner restarts from
 * its checkpoint rather than parking events that nothing is wrong with.
 */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('40') || code.startsWith('53') || code === '55P03' || code === '57014');
}

export interface WriterOptions {
  db: SqlDatabase;
  projection: Projection;
  /** The checkpoint row (and lease) this writer commits under: the projection's, or its rebuild's. */
  checkpointName: string;
  fence: string;
  checkpoint: string | undefined;
  /** Live tables, or a rebuild's shadow tables. */
  tables?: TableNames;
  /** The writer's tables were created empty for it (a rebuild's fresh fill): its row cache then knows every row. */
  startsEmpty?: boolean;
  /**
   * Append rows known to be new with COPY (see BatchOptions.append): a rebuild's bulk fill. Such a
   * writer commits each batch in a transaction; the others in one statement (see commitAtOnce).
   */
  append?: boolean;
  maxAttempts?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: unknown) => void;
  committed?: () => void;
}

/**
 * Applies batches with their checkpoint in one transaction, under the fence. A batch that fails is
 * split into its events; an event that still fails after `maxAttempts` tries is parked in
 * projection_dead_letters, with the checkpoint moved past it in the same transaction.
 */
export class CheckpointedWriter {
  checkpoint: string | undefined;
  /** Rows this writer has committed (see RowCache): saves reading them back batch after batch. */
  private readonly cache: RowCache;
  /** The last event prepared ahead of its commit (see prepareAhead); undefined when none is. */
  private ahead: string | undefined;

  constructor(private readonly options: WriterOptions) {
    this.checkpoint = options.checkpoint;
    this.cache = emptyRowCache(options.startsEmpty);
  }

  get name(): string {
    return this.options.checkpointName;
  }

  /** The events of a batch this writer has not yet projected (a resumed rebuild may be ahead of others). */
  pending(events: RecordedEvent[], compare: (a: string, b: string) => number): RecordedEvent[] {
    const after = this.ahead ?? this.checkpoint;
    // Events come in delivery order: when the first is past the checkpoint, all are (the usual
    // case, decided with one comparison instead of one per event).
    if (after === undefined || events.length === 0 || compare(events[0].checkpoint, after) > 0) return events;
    return events.filter((event) => compare(event.checkpoint, after) > 0);
  }

  /** Projects inside a transaction shared with other writers; call `committed` once it commits. */
  async projectIn(tx: SqlQueryable, events: RecordedEvent[], checkpoint: string): Promise<RowChanges> {
    await lockProjection(tx, this.options.checkpointName, this.options.fence, this.checkpoint);
    const changes = await projectBatch(tx, this.options.projection, events, this.options.tables, { cache: this.cache, append: this.options.append });
    await advanceCheckpoint(tx, this.options.checkpointName, checkpoint, events);
    return changes;
  }

  /**
   * Applies a batch in memory before the batches prepared earlier have committed (a rebuild's
   * pipeline: the next batch is applied while this one is written). Its rows go into the cache at
   * once: the next batch must find them there, as the tables do not have them yet. Rows the cache
   * lacks are read from the database, where every batch that touched them has committed (only the
   * batch in flight has not, and its rows are cached). `forgetAhead` when a write fails.
   */
  async prepareAhead(events: RecordedEvent[], compare: (a: string, b: string) => number): Promise<AheadBatch | undefined> {
    const pending = this.pending(events, compare);
    if (pending.length === 0) return undefined;
    const { db, projection, tables, append } = this.options;
    const prepared = await prepareBatch(db, projection, pending, tables, { cache: this.cache, append: append && db.copyIn !== undefined, yieldEvery: 250 });
    rememberRows(this.cache, prepared.changes);
    this.ahead = pending[pending.length - 1].checkpoint;
    return { writer: this, events: pending, prepared };
  }

  /** The lease this writer commits under, as lockProjections checks it. */
  get held(): { name: string; fence: string; checkpoint: string | undefined } {
    return { name: this.options.checkpointName, fence: this.options.fence, checkpoint: this.checkpoint };
  }

  committedAhead(checkpoint: string): void {
    this.checkpoint = checkpoint;
    if (this.ahead === checkpoint) this.ahead = undefined;
    this.options.committed?.();
  }

  /** A write of prepared batches failed: the cache holds rows that were never stored. */
  forgetAhead(): void {
    this.cache.rows.clear();
    this.cache.complete = false;
    this.ahead = undefined;
  }

  committed(checkpoint: string, changes: RowChanges): void {
    rememberRows(this.cache, changes);
    this.checkpoint = checkpoint;
    this.options.committed?.();
  }

  async project(events: RecordedEvent[], checkpoint: string): Promise<void> {
    try {
      await this.commit(events, checkpoint);
      return;
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (events.length === 1) return this.projectAlone(events[0], error);
      this.options.log?.('warn', 'a batch failed; projecting its events one by one', error);
    }
    for (const event of events) {
      try {
        await this.commit([event], event.checkpoint);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        await this.projectAlone(event, error);
      }
    }
  }

  private async projectAlone(event: RecordedEvent, firstError: unknown): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    let error = firstError;
    for (let attempt = 2; attempt <= maxAttempts; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      try {
        await this.commit([event], event.checkpoint);
        return;
      } catch (next) {
        if (!isRetryable(next)) throw next;
        error = next;
      }
    }
    const { checkpointName } = this.options;
    await this.options.db.transaction(async (tx) => {
      await lockProjection(tx, checkpointName, this.options.fence, this.checkpoint);
      await tx.query(
        `INSERT INTO projection_dead_letters (projection, checkpoint, stream_id, version, event_id, event_type, error, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [checkpointName, event.checkpoint, event.streamId, event.version, event.metadata.eventId, event.type, String((error as Error)?.message ?? error).slice(0, 2000), maxAttempts],
      );
      await advanceCheckpoint(tx, checkpointName, event.checkpoint, [event]);
    });
    this.checkpoint = event.checkpoint;
    this.options.log?.('error', 'parked a poison event in projection_dead_letters', {
      eventId: event.metadata.eventId,
      type: event.type,
      streamId: event.streamId,
      error: String((error as Error)?.message ?? error),
    });
    this.options.committed?.();
  }

  /**
   * Applies a batch in memory for commitAtOnce. Rows it lacks are read before the write, outside
   * it: while this writer holds the lease nothing else writes its tables, and the write commits
   * nothing if it no longer does.
   */
  prepare(events: readonly RecordedEvent[]): Promise<PreparedBatch> {
    const { db, projection, tables } = this.options;
    return prepareBatch(db, projection, events, tables, { cache: this.cache });
  }

  private async commit(events: RecordedEvent[], checkpoint: string): Promise<void> {
    const { db, append } = this.options;
    if (!append) {
      const prepared = await this.prepare(events);
      const committed = await commitAtOnce(db, [{ held: this.held, prepared, events }], checkpoint);
      if (!committed.has(this.name)) throw new LeaseLostError(this.name);
      this.committed(checkpoint, prepared.changes);
      return;
    }
    const changes = await db.transaction((tx) => this.projectIn(tx, events, checkpoint));
    this.committed(checkpoint, changes);
  }
}

/** A batch one writer has applied in memory ahead of its commit (see CheckpointedWriter.prepareAhead). */
export interface AheadBatch {
  writer: CheckpointedWriter;
  events: RecordedEvent[];
  prepared: PreparedBatch;
}

/** One writer's part of a batch for commitAtOnce: its lease, its prepared writes, its events. */
export interface CommitPart {
  held: { name: string; fence: string; checkpoint: string | undefined };
  prepared: PreparedBatch;
  events: readonly RecordedEvent[];
}

/**
 * Commits prepared batches of one or more writers (upserts and deletes only) and their checkpoints
 * in one statement, answering the writers whose batches committed. Each checkpoint row moves only
 * under its writer's fence and from its checkpoint, and each write happens only if its writer's
 * row moved: a writer that lost its lease commits nothing, and the others commit all of theirs.
 * Why one statement: a projector inside a busy API process waits behind the requests for every
 * round trip, and a transaction of its own took six or more.
 */
export async function commitAtOnce(db: SqlQueryable, parts: readonly CommitPart[], checkpoint: string): Promise<Set<string>> {
  const params: unknown[] = [
    parts.map((part) => part.held.name),
    parts.map((part) => part.held.fence),
    parts.map((part) => part.held.checkpoint ?? null),
    parts.map((part) => part.events.length),
    parts.map((part) => part.events.at(-1)?.metadata.recordedAt ?? null),
    checkpoint,
  ];
  const sqlWrites = parts.flatMap((part, i) =>
    part.prepared.writes.map((write) => {
      if ('copy' in write) throw new Error('a batch committed in one statement cannot COPY: prepare it without append');
      return { write, guard: `EXISTS (SELECT 1 FROM lease WHERE lease.name = ($1::text[])[${i + 1}])` };
    }),
  );
  // The statement locks its tables in the order it names them: the order a rebuild's swap takes.
  const writes = sqlWrites
    .sort((a, b) => byLockOrder(a.write.table, b.write.table))
    .map(({ write, guard }, i) => {
      params.push(write.params[0]);
      return `, w${i} AS (${write.guarded(`$${params.length}`, guard)})`;
    });
  const { rows } = await db.query<{ name: string }>(
    `WITH lease AS (
       UPDATE projection_checkpoints AS c
          SET checkpoint = $6, events = c.events + n.events, last_event_at = coalesce(n.last_event_at, c.last_event_at), updated_at = now()
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[]) AS n(name, fence, checkpoint, events, last_event_at)
        WHERE c.name = n.name AND c.fence = n.fence AND c.checkpoint IS NOT DISTINCT FROM n.checkpoint
       RETURNING c.name)
     ${writes.join('\n     ')}
     SELECT name FROM lease`,
    params,
  );
  return new Set(rows.map((row) => row.name));
}

/**
 * Writes batches from prepareAhead, of several writers, in the caller's transaction: one statement
 * checks every writer's lease, one moves every checkpoint (a rebuild's write waits on each round
 * trip while this process applies the next batch). `committedAhead` on each once it commits.
 */
export async function writeAheadTogether(tx: SqlQueryable, batches: readonly AheadBatch[], checkpoint: string): Promise<void> {
  if (batches.length === 0) return;
  await lockProjections(tx, batches.map((batch) => batch.writer.held));
  for (const batch of batches) await writeBatch(tx, batch.prepared);
  await advanceCheckpoints(tx, batches.map((batch) => ({ name: batch.writer.name, events: batch.events })), checkpoint);
}

/**
 * Several writers, one transaction per batch (a rebuild of many projections reads the log once).
 * When the shared transaction fails, each writer takes the batch alone, with its own fallbacks.
 */
export async function projectTogether(
  db: SqlDatabase,
  writers: readonly CheckpointedWriter[],
  events: RecordedEvent[],
  checkpoint: string,
  compare: (a: string, b: string) => number,
): Promise<void> {
  try {
    const done = await db.transaction(async (tx) => {
      const results: [CheckpointedWriter, RowChanges][] = [];
      for (const writer of writers) {
        const pending = writer.pending(events, compare);
        if (pending.length) results.push([writer, await writer.projectIn(tx, pending, checkpoint)]);
      }
      return results;
    });
    for (const [writer, changes] of done) writer.committed(checkpoint, changes);
  } catch (error) {
    if (!isRetryable(error)) throw error;
    for (const writer of writers) {
      const pending = writer.pending(events, compare);
      if (pending.length) await writer.project(pending, checkpoint);
    }
  }
}
