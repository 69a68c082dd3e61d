/**
 * Emmett's side of `npm run bench:projections`: the same history, projected by Emmett's PostgreSQL
 * projections, rebuilt the way Emmett rebuilds them, timed the same way as ours.
 *
 * 1. Copy (not timed): our events go into Emmett's PostgreSQL event store (`emt_*` tables) in a
 *    database of its own, in our store order, through Emmett's append function (see copyIntoEmmett).
 * 2. Projections, one Emmett processor for each of ours, each writing what ours writes:
 *    - people    → `pongoSingleStreamProjection`, one document per person (rm_people);
 *    - cases     → `pongoProjection` over three Pongo collections: the case document (rm_cases:
 *                  status, risk, assigned worker, scheduled follow-ups, next due, last contact)
 *                  through `collection.handle` as the single-stream projection does, plus the
 *                  follow-up (rm_follow_ups) and welfare-check (rm_welfare_checks) documents, which
 *                  take the case's person and team as ours do — hence one projection, not three;
 *    - referrals → `pongoSingleStreamProjection`, one document per referral (rm_referrals);
 *    - timeline  → `postgreSQLRawSQLProjection`, one row per event in a table shaped and indexed like
 *                  rm_timeline, the referral → case map in a second table (rm_timeline_referrals).
 * 3. Rebuild (timed): `rebuildPostgreSQLProjections` — a consumer that reads Emmett's store from the
 *    beginning and stops when no messages are left — with all four projections in one consumer
 *    (or, in `separately` mode, one consumer per projection, one after another).
 *
 * Run directly for a standalone check on ~20,000 generated events (a fresh database, dropped after),
 * which also compares every Emmett document with what our projections compute from the same events:
 *   TS_NODE_PROJECT=tsconfig.scripts.json node -r ts-node/register -r tsconfig-paths/register test/bench/emmett-projections.ts
 * Knobs: CHECK_CASES (560 ≈ 20k events), CHECK_MAX_EVENTS, CHECK_MODE=separately,
 * CHECK_COPY=appendToStream, CHECK_MIRROR_INDEXES=0, BENCH_KEEP_DATABASE=1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql, type SQL } from '@event-driven-io/dumbo';
import type { DefaultRecord, Event, ReadEvent } from '@event-driven-io/emmett';
import {
  callAppendToStream,
  defaultTag,
  DefaultPostgreSQLEventStoreProcessorBatchSize,
  DefaultPostgreSQLEventStoreProcessorPullingFrequencyInMs,
  getPostgreSQLEventStore,
  pongoProjection,
  pongoSingleStreamProjection,
  postgreSQLRawSQLProjection,
  rebuildPostgreSQLProjections,
  unknownTag,
  type PostgreSQLProjectionDefinition,
  type PostgresReadEventMetadata,
} from '@event-driven-io/emmett-postgresql';
import { pongoClient } from '@event-driven-io/pongo';
import { Client, Pool } from 'pg';
import { caseEventTypes, referralEventTypes, streamCategories, type CaselineEvent } from '@caseline/domain';
import { canonicalJson, PostgresDatabase, SqlEventStore, type EventMetadata, type RecordedEvent } from '@caseline/event-store';
import { caseworkProjections, type Projection, type Row, type Rows } from '@caseline/projections';
import { createTestDatabase } from '@caseline/event-store/testing';
import { table } from './bench-kit';
import { generateHistory } from './history';

// ---------------------------------------------------------------------------------------------
// Public surface

/** One of our events as read from our store (a `RecordedEvent` fits). */
export type CaselineEventLike = Pick<RecordedEvent, 'streamId' | 'type' | 'data' | 'metadata'>;
type Batches = AsyncIterable<readonly CaselineEventLike[]> | Iterable<readonly CaselineEventLike[]>;
/** Our events in store order, in batches; or a function that starts such a sequence. */
export type CaselineEventSource = Batches | (() => Batches);

export type CopyWith = 'append-function' | 'appendToStream';

export interface EmmettProjectionRebuildOptions {
  /**
   * Events per read of Emmett's consumer (`pulling.batchSize`); each processor handles a read in
   * one transaction. Default 5,000, our rebuild's default batch (Emmett's own default is 100).
   */
  batchSize?: number;
  /**
   * Emmett's puller sleeps this long after every batch that was full (`pulling.pullingFrequencyInMs`).
   * Default 0 (a 0 ms timer); Emmett's default of 50 ms is meant for tailing a live store and would
   * cap a rebuild at batchSize / 50 ms whatever the projections cost.
   */
  pullingFrequencyInMs?: number;
  /**
   * `together` (default): one consumer, all four projections, one pass over the store — as Emmett's
   * rebuild is meant to run, and as our `rebuildProjections` rebuilds every read model.
   * `separately`: one consumer per projection, one after another, each timed on its own (each reads
   * the whole store).
   */
  mode?: 'together' | 'separately';
  /**
   * Index the Pongo collections like our read-model tables (expression indexes on the same fields)
   * so that both sides maintain the same indexes. Default true. Pongo itself creates only `_id`.
   */
  mirrorIndexes?: boolean;
  /**
   * How the (untimed) copy appends: `append-function` (default) or the store's `appendToStream`;
   * both in our store order and through Emmett's `emt_append_to_stream` (see `copyIntoEmmett`).
   */
  copyWith?: CopyWith;
  /**
   * Copy and rebuild only the first `maxEvents` events of the history (Emmett's rebuild runs at about
   * a thousand events a second here). Smaller read models make Emmett's per-event work a little
   * cheaper, so a rate from a prefix flatters it slightly; `notes` says so when this is used.
   */
  maxEvents?: number;
  /**
   * `own` (default): a new database beside the one named by `connectionString`, on the same server,
   * created for Emmett and dropped afterwards; `given`: Emmett's tables go into that database itself
   * (its `emt_*` and `emt_rm_*` names do not collide with ours, but it must hold no Emmett events).
   */
  database?: 'own' | 'given';
  /** Keep the `own` database (see `emmettDatabase` in the result; drop it yourself). */
  keepDatabase?: boolean;
  /** Progress lines (copy and rebuild phases). */
  log?: (line: string) => void;
}

export interface EmmettProjectionFigures {
  name: string;
  /** Events of the store this projection's `canHandle` accepts (the others it skips). */
  handledEvents: number;
  /** Documents / rows it wrote, checked against what the events imply. */
  rows: Record<string, number>;
  /** Only in `separately` mode: this projection's own rebuild. */
  seconds?: number;
}

export interface EmmettProjectionRebuildResult {
  /** Events in Emmett's store, all read by the rebuild. */
  events: number;
  /** Wall-clock of the rebuild alone (in `separately` mode: the sum of the projections' rebuilds). */
  seconds: number;
  eventsPerSecond: number;
  /** What was measured, how, and how the work differs from ours. */
  notes: string;
  /** The untimed copy into Emmett's store. */
  copySeconds: number;
  /** A short label: which projections, and how they were run. */
  projections: string;
  perProjection: EmmettProjectionFigures[];
  /** Only with `keepDatabase`: the database Emmett used. */
  emmettDatabase?: { name: string; url: string; drop(): Promise<void> };
}

/**
 * Copies `events` into Emmett's PostgreSQL event store — by default in a database of its own,
 * created beside the one `connectionString` names (same server) and dropped afterwards — then
 * rebuilds Emmett equivalents of our read models with `rebuildPostgreSQLProjections` and times that.
 * Throws if the rebuilt documents do not account for every event (Emmett's consumer swallows a
 * processor's errors, so this is checked rather than assumed).
 */
export async function emmettProjectionRebuild(
  connectionString: string,
  events: CaselineEventSource,
  options: EmmettProjectionRebuildOptions = {},
): Promise<EmmettProjectionRebuildResult> {
  const batchSize = options.batchSize ?? 5_000;
  const pullingFrequencyInMs = options.pullingFrequencyInMs ?? 0;
  const mode = options.mode ?? 'together';
  const mirrorIndexes = options.mirrorIndexes ?? true;
  const copyWith = options.copyWith ?? 'append-function';
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  const log = options.log ?? (() => undefined);

  const own = options.database === 'given' ? undefined : await createSiblingDatabase(connectionString);
  if (own) log(`Emmett's database: ${own.name}`);
  try {
    const result = await copyAndRebuild(own?.url ?? connectionString, events, {
      batchSize,
      pullingFrequencyInMs,
      mode,
      mirrorIndexes,
      copyWith,
      maxEvents,
      log,
      where: own ? `its own database (${own.name}) on the same server` : 'the given database',
    });
    if (own && options.keepDatabase) return { ...result, emmettDatabase: own };
    return result;
  } finally {
    if (own && !options.keepDatabase) await own.drop();
  }
}

interface Settings {
  batchSize: number;
  pullingFrequencyInMs: number;
  mode: 'together' | 'separately';
  mirrorIndexes: boolean;
  copyWith: CopyWith;
  maxEvents: number;
  log: (line: string) => void;
  where: string;
}

async function copyAndRebuild(connectionString: string, events: CaselineEventSource, settings: Settings): Promise<EmmettProjectionRebuildResult> {
  const { batchSize, pullingFrequencyInMs, mode, mirrorIndexes, copyWith, maxEvents, log } = settings;
  const copyStarted = process.hrtime.bigint();
  const counts = await copyIntoEmmett(connectionString, typeof events === 'function' ? events() : events, copyWith, maxEvents, log);
  const copySeconds = Number(process.hrtime.bigint() - copyStarted) / 1e9;
  log(`copied ${counts.total} events into Emmett's store in ${copySeconds.toFixed(1)} s`);

  await prepareCollections(connectionString, mirrorIndexes);

  const errors: { projection: string; error: unknown }[] = [];
  const projections = emmettProjections().map((projection) => recordingErrors(projection, errors));
  const rebuild = async (selected: PostgreSQLProjectionDefinition<EmmettEvent>[]): Promise<number> => {
    const consumer = rebuildPostgreSQLProjections<EmmettEvent>({
      connectionString,
      pulling: { batchSize, pullingFrequencyInMs },
      projections: selected,
    });
    try {
      const started = process.hrtime.bigint();
      await consumer.start();
      return Number(process.hrtime.bigint() - started) / 1e9;
    } finally {
      await consumer.close();
    }
  };

  const perProjection = new Map<string, number>();
  let seconds = 0;
  if (mode === 'together') {
    log(`rebuilding ${projections.length} Emmett projections together…`);
    seconds = await rebuild(projections);
  } else {
    for (const projection of projections) {
      log(`rebuilding Emmett projection ${projection.name}…`);
      const took = await rebuild([projection]);
      perProjection.set(projection.name as string, took);
      seconds += took;
    }
  }
  log(`Emmett rebuild: ${counts.total} events in ${seconds.toFixed(2)} s`);
  if (errors.length) {
    const first = errors[0];
    throw new Error(`Emmett projection ${first.projection} failed during the rebuild (${errors.length} failed batches): ${String(first.error)}`, {
      cause: first.error,
    });
  }

  const rows = await countRows(connectionString);
  const expected: Record<string, number> = {
    [TABLES.people]: counts.types.PersonRegistered ?? 0,
    [TABLES.cases]: counts.types.CaseOpened ?? 0,
    [TABLES.followUps]: counts.types.FollowUpScheduled ?? 0,
    [TABLES.welfareChecks]: counts.types.WelfareCheckRecorded ?? 0,
    [TABLES.referrals]: counts.types.ReferralMade ?? 0,
    [TABLES.timeline]: counts.caseEvents + counts.referralEvents,
    [TABLES.timelineReferrals]: counts.types.ReferralMade ?? 0,
  };
  const wrong = Object.entries(expected).filter(([name, count]) => rows[name] !== count);
  if (wrong.length) {
    throw new Error(`Emmett rebuild incomplete: ${wrong.map(([name, count]) => `${name} has ${rows[name]} rows, expected ${count}`).join('; ')}`);
  }

  const pick = (...names: string[]) => Object.fromEntries(names.map((name) => [name, rows[name]]));
  const figures: EmmettProjectionFigures[] = [
    { name: 'people', handledEvents: counts.personHandled, rows: pick(TABLES.people) },
    { name: 'cases', handledEvents: counts.caseEvents, rows: pick(TABLES.cases, TABLES.followUps, TABLES.welfareChecks) },
    { name: 'referrals', handledEvents: counts.referralEvents, rows: pick(TABLES.referrals) },
    { name: 'timeline', handledEvents: counts.caseEvents + counts.referralEvents, rows: pick(TABLES.timeline, TABLES.timelineReferrals) },
  ].map((figure) => {
    const took = perProjection.get(PROJECTION_NAMES[figure.name as keyof typeof PROJECTION_NAMES]);
    return took === undefined ? figure : { ...figure, seconds: took };
  });

  const notes = [
    `Measured: wall-clock of ${mode === 'together' ? 'one' : 'four successive'} @event-driven-io/emmett-postgresql ${EMMETT_VERSION} rebuildPostgreSQLProjections consumer${mode === 'together' ? '' : 's'} (consumer.start() until it stops at the end of the store), over ${counts.total} events copied beforehand into Emmett's store in ${settings.where} (copy not timed: ${copySeconds.toFixed(1)} s, in our store order, ${copyWith === 'appendToStream' ? 'one appendToStream per stream run' : "Emmett's emt_append_to_stream per stream run, one transaction per input batch"}). Included: projection registration and processor locks, truncate-on-start, reading emt_messages in batches of ${batchSize}, the projection handlers, Emmett's per-event checkpoint write, one transaction per projection per batch, and the puller's pauses (a fixed 100 ms after the first batch, then ${pullingFrequencyInMs} ms after each full batch; Emmett's defaults are ${DefaultPostgreSQLEventStoreProcessorBatchSize} events and ${DefaultPostgreSQLEventStoreProcessorPullingFrequencyInMs} ms). Excluded: the copy, index creation, pool shutdown, the row-count check. The rebuild's connections use the server's default settings (synchronous_commit on); only the copy ran with synchronous_commit off.${counts.truncated ? ` ONLY THE FIRST ${counts.total} EVENTS of the history were copied and rebuilt (maxEvents): Emmett's read models were smaller than ours at the end, which makes its per-event reads and index updates slightly cheaper.` : ''}`,
    `Work: the same four read models — people (${rows[TABLES.people]} docs), cases (${rows[TABLES.cases]} case docs with status, risk, worker, scheduled follow-ups, next due, last contact; ${rows[TABLES.followUps]} follow-up and ${rows[TABLES.welfareChecks]} welfare-check docs carrying the case's person and team), referrals (${rows[TABLES.referrals]} docs), timeline (${rows[TABLES.timeline]} rows, one per case/referral event) — with the same fields and values as ours (the standalone check compares them document by document).`,
    `Differences from ours: Emmett handles events one at a time — per event and per projection, a Pongo read of the document (SELECT) then an INSERT or an UPDATE (a welfare check or a new follow-up: an INSERT only), a new Pongo client with a CREATE TABLE IF NOT EXISTS for each collection it touches (Pongo's auto-migration, not configurable through these projection helpers), and a checkpoint write (a stored-function call) — where ours loads the rows a batch needs in one query per table, applies the batch in memory and writes each table with one upsert (and may serve reads from its row cache); the timeline issues 1–2 SQL statements per event. Documents are JSONB rows (_id, data, metadata, _version, …) instead of typed columns${mirrorIndexes ? '; the Pongo collections were given expression indexes on the same fields as our read-model indexes' : '; the Pongo collections have only their _id key, while our tables carry secondary indexes'}. ${mode === 'together' ? 'The four projections run concurrently, each in its own transaction on its own connection, and the next batch is read only when all four are done (mode "separately" rebuilds them one at a time).' : 'Each projection is rebuilt on its own, one after another, each reading the whole store.'} Emmett rebuilds into the live collections (truncate, then refill), with no shadow tables and no swap, and reads with no upcasting configured. Its 0.42 reader orders by transaction id but resumes from the last global position, which skips events appended by concurrent writers (fixed upstream after 0.42, emmett PR #336); the copy appends one batch at a time so that cannot happen here, but it means Emmett's read is lighter than a gap-safe one.`,
  ].join(' ');

  return {
    events: counts.total,
    seconds,
    eventsPerSecond: counts.total / seconds,
    notes,
    copySeconds,
    projections: `people, cases, referrals, timeline; ${mode}`,
    perProjection: figures,
  };
}

/** A new, empty database beside the given one (same server, same credentials). */
async function createSiblingDatabase(connectionString: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const url = new URL(connectionString);
  const base = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const name = `${base.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_emmett_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new Client({ connectionString });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

// ---------------------------------------------------------------------------------------------
// Emmett's view of our events

type ToEmmett<E> = E extends { type: infer T extends string; data: infer D } ? (D extends DefaultRecord ? Event<T, D, EventMetadata> : never) : never;
/** Our events as Emmett types them (type, data, and our metadata). */
type EmmettEvent = ToEmmett<CaselineEvent>;
type Read = ReadEvent<EmmettEvent, PostgresReadEventMetadata>;

const EMMETT_VERSION = ((): string => {
  try {
    // The package's `exports` hide package.json from require(); read it next to the entry point.
    const entry = require.resolve('@event-driven-io/emmett-postgresql');
    return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(version unknown)';
  }
})();

const TABLES = {
  people: 'emt_rm_people',
  cases: 'emt_rm_cases',
  followUps: 'emt_rm_follow_ups',
  welfareChecks: 'emt_rm_welfare_checks',
  referrals: 'emt_rm_referrals',
  timeline: 'emt_rm_timeline',
  timelineReferrals: 'emt_rm_timeline_referrals',
} as const;
const PROJECTION_NAMES = { people: TABLES.people, cases: 'emt_rm_cases_projection', referrals: TABLES.referrals, timeline: TABLES.timeline } as const;

// Documents: type aliases (Pongo documents must be indexable records), fields named as our columns.
type PersonDoc = {
  person_id: string;
  team: string;
  given_name: { event: string; value: string } | null;
  family_name: { event: string; value: string } | null;
  erased: boolean;
  registered_at: string;
};
type CaseDoc = {
  case_id: string;
  person_id: string;
  team: string;
  status: 'open' | 'closed';
  reason: string;
  risk: string;
  assigned_worker_id: string | null;
  opened_at: string;
  closed_at: string | null;
  disposition: string | null;
  last_contact_at: string | null;
  scheduled_follow_ups: Record<string, string>;
  next_follow_up_due_at: string | null;
  version: number;
};
type FollowUpDoc = {
  follow_up_id: string;
  case_id: string;
  team: string;
  assignee_id: string;
  due_at: string;
  scheduled_at: string;
  status: 'scheduled' | 'completed' | 'cancelled';
  completed_at: string | null;
  cancelled_at: string | null;
};
type WelfareCheckDoc = {
  welfare_check_id: string;
  case_id: string;
  person_id: string;
  team: string;
  performed_at: string;
  outcome: string;
};
type ReferralDoc = {
  referral_id: string;
  case_id: string;
  person_id: string;
  team: string;
  type: string;
  provider: string;
  urgency: string;
  status: string;
  made_at: string;
  first_response_at: string | null;
  accepted_at: string | null;
  declined_at: string | null;
  declined_by: string | null;
  service_started_at: string | null;
  closed_at: string | null;
  outcome: string | null;
  revoked_at: string | null;
  version: number;
};

class UnprojectableEvent extends Error {
  constructor(event: Read, why: string) {
    super(`${event.type} ${event.metadata.streamName}@${event.metadata.streamPosition}: ${why}`);
    this.name = 'UnprojectableEvent';
  }
}

const later = (a: string | null, b: string): string => (a !== null && Date.parse(a) >= Date.parse(b) ? a : b);
const earliest = (scheduled: Record<string, string>): string | null =>
  Object.values(scheduled).sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;

// ---------------------------------------------------------------------------------------------
// Projections (the evolve functions follow libs/projections/src/casework-projections.ts)

function evolvePerson(person: PersonDoc | null, event: Read): PersonDoc | null {
  switch (event.type) {
    case 'PersonRegistered':
      return {
        person_id: event.data.personId,
        team: event.metadata.actor.team,
        given_name: { event: event.type, value: event.data.givenName },
        family_name: { event: event.type, value: event.data.familyName },
        erased: false,
        registered_at: event.data.registeredAt,
      };
    case 'PersonDetailsCorrected': {
      if (!person) throw new UnprojectableEvent(event, 'no person document');
      if (person.erased) return person;
      const { changes } = event.data;
      return {
        ...person,
        given_name: changes.givenName ? { event: event.type, value: changes.givenName } : person.given_name,
        family_name: changes.familyName ? { event: event.type, value: changes.familyName } : person.family_name,
      };
    }
    case 'PersonErased':
      if (!person) throw new UnprojectableEvent(event, 'no person document');
      return { ...person, given_name: null, family_name: null, erased: true };
    default:
      return person;
  }
}

function evolveCase(current: CaseDoc | null, event: Read): CaseDoc {
  const version = Number(event.metadata.streamPosition);
  if (event.type === 'CaseOpened') {
    const { data } = event;
    return {
      case_id: data.caseId,
      person_id: data.personId,
      team: data.team,
      status: 'open',
      reason: data.reason,
      risk: data.risk,
      assigned_worker_id: null,
      opened_at: data.openedAt,
      closed_at: null,
      disposition: null,
      last_contact_at: null,
      scheduled_follow_ups: {},
      next_follow_up_due_at: null,
      version,
    };
  }
  if (!current) throw new UnprojectableEvent(event, 'no case document');
  let next: CaseDoc = { ...current, version };
  const scheduled = { ...current.scheduled_follow_ups };
  switch (event.type) {
    case 'CaseAssigned':
      next.assigned_worker_id = event.data.workerId;
      break;
    case 'RiskLevelChanged':
      next.risk = event.data.to;
      break;
    case 'WelfareCheckRecorded':
      next.last_contact_at = later(current.last_contact_at, event.data.performedAt);
      break;
    case 'NoteAdded':
      break;
    case 'FollowUpScheduled':
      scheduled[event.data.followUpId] = event.data.dueAt;
      break;
    case 'FollowUpCompleted':
      delete scheduled[event.data.followUpId];
      next.last_contact_at = later(current.last_contact_at, event.data.completedAt);
      break;
    case 'FollowUpCancelled':
      delete scheduled[event.data.followUpId];
      break;
    case 'CaseClosed':
      next = { ...next, status: 'closed', closed_at: event.data.closedAt, disposition: event.data.disposition };
      break;
    case 'CaseReopened':
      next = { ...next, status: 'open', closed_at: null, disposition: null };
      break;
    default:
      throw new UnprojectableEvent(event, 'not a case event');
  }
  return { ...next, scheduled_follow_ups: scheduled, next_follow_up_due_at: earliest(scheduled) };
}

const REFERRAL_STATUS: Record<string, string> = {
  ReferralAccepted: 'accepted',
  ReferralDeclined: 'declined',
  ReferralServiceStarted: 'service_started',
  ReferralClosed: 'closed',
  ReferralRevoked: 'revoked',
};

function evolveReferral(current: ReferralDoc | null, event: Read): ReferralDoc {
  const version = Number(event.metadata.streamPosition);
  if (event.type === 'ReferralMade') {
    const { data } = event;
    return {
      referral_id: data.referralId,
      case_id: data.caseId,
      person_id: data.personId,
      team: data.team,
      type: data.type,
      provider: data.provider.name,
      urgency: data.urgency,
      status: 'made',
      made_at: data.madeAt,
      first_response_at: null,
      accepted_at: null,
      declined_at: null,
      declined_by: null,
      service_started_at: null,
      closed_at: null,
      outcome: null,
      revoked_at: null,
      version,
    };
  }
  const status = REFERRAL_STATUS[event.type];
  if (!status) throw new UnprojectableEvent(event, 'not a referral event');
  if (!current) throw new UnprojectableEvent(event, 'no referral document');
  const next: ReferralDoc = { ...current, status, version };
  switch (event.type) {
    case 'ReferralAccepted':
      next.accepted_at = event.data.acceptedAt;
      next.first_response_at = current.first_response_at ?? event.data.acceptedAt;
      break;
    case 'ReferralDeclined':
      next.declined_at = event.data.declinedAt;
      next.declined_by = event.data.by;
      next.first_response_at = current.first_response_at ?? event.data.declinedAt;
      break;
    case 'ReferralServiceStarted':
      next.service_started_at = event.data.startedAt;
      break;
    case 'ReferralClosed':
      next.closed_at = event.data.closedAt;
      next.outcome = event.data.outcome;
      break;
    case 'ReferralRevoked':
      next.revoked_at = event.data.revokedAt;
      break;
  }
  return next;
}

/** A field every event of these types carries in its data (their aggregate's id). */
const idOf = (event: Read, field: 'personId' | 'referralId'): string => {
  const id = (event.data as Record<string, unknown>)[field];
  if (typeof id !== 'string') throw new UnprojectableEvent(event, `no ${field}`);
  return id;
};

/** The timeline's SQL for one event: Emmett's raw-SQL projections return statements, not rows. */
function timelineStatements(event: Read): SQL[] {
  const isCase = event.metadata.streamName.startsWith('case-');
  let visibility = 'team';
  if (isCase) {
    if (event.type === 'NoteAdded' && event.data.visibility === 'confidential') visibility = 'confidential';
  } else visibility = 'referral';
  const values = [
    event.metadata.eventId,
    event.metadata.globalPosition.toString(),
    event.metadata.recordedAt,
    visibility,
    event.metadata.streamName,
    event.metadata.streamPosition.toString(),
  ];
  const columns = `(event_id, seq, at, visibility, stream_id, version, case_id)`;
  const row = `%L::uuid, %L::bigint, %L::timestamptz, %L, %L, %L::integer`;
  if (isCase) {
    const caseId = (event.data as { caseId: string }).caseId;
    return [sql(`INSERT INTO ${TABLES.timeline} ${columns} VALUES (${row}, %L::uuid) ON CONFLICT (event_id) DO NOTHING`, ...values, caseId)];
  }
  const referralId = idOf(event, 'referralId');
  if (event.type === 'ReferralMade') {
    return [
      sql(
        `INSERT INTO ${TABLES.timelineReferrals} (referral_id, case_id) VALUES (%L::uuid, %L::uuid) ON CONFLICT (referral_id) DO UPDATE SET case_id = EXCLUDED.case_id`,
        referralId,
        event.data.caseId,
      ),
      sql(`INSERT INTO ${TABLES.timeline} ${columns} VALUES (${row}, %L::uuid) ON CONFLICT (event_id) DO NOTHING`, ...values, event.data.caseId),
    ];
  }
  // The case comes from the referral → case map, in the same statement (ours loads it per batch).
  return [
    sql(
      `INSERT INTO ${TABLES.timeline} ${columns} SELECT ${row}, r.case_id FROM ${TABLES.timelineReferrals} r WHERE r.referral_id = %L::uuid ON CONFLICT (event_id) DO NOTHING`,
      ...values,
      referralId,
    ),
  ];
}

function emmettProjections(): PostgreSQLProjectionDefinition<EmmettEvent>[] {
  const people = pongoSingleStreamProjection<PersonDoc, EmmettEvent>({
    collectionName: TABLES.people,
    canHandle: ['PersonRegistered', 'PersonDetailsCorrected', 'PersonErased'],
    getDocumentId: (event) => idOf(event as Read, 'personId'),
    evolve: (person: PersonDoc | null, event: Read) => evolvePerson(person, event),
  });

  const cases = pongoProjection<EmmettEvent>({
    name: PROJECTION_NAMES.cases,
    canHandle: [...caseEventTypes],
    handle: async (events, { pongo }) => {
      const db = pongo.db();
      const caseDocs = db.collection<CaseDoc>(TABLES.cases);
      const followUps = db.collection<FollowUpDoc>(TABLES.followUps);
      const welfareChecks = db.collection<WelfareCheckDoc>(TABLES.welfareChecks);
      for (const event of events as Read[]) {
        const caseId = (event.data as { caseId: string }).caseId;
        // As pongoSingleStreamProjection does: read the document, evolve it, write it back.
        const { document: current } = await caseDocs.handle(caseId, (doc) => evolveCase(doc, event));
        if (!current) throw new UnprojectableEvent(event, 'case document not written');
        switch (event.type) {
          case 'WelfareCheckRecorded':
            await welfareChecks.insertOne({
              _id: event.data.welfareCheckId,
              welfare_check_id: event.data.welfareCheckId,
              case_id: caseId,
              person_id: current.person_id,
              team: current.team,
              performed_at: event.data.performedAt,
              outcome: event.data.outcome,
            });
            break;
          case 'FollowUpScheduled':
            await followUps.insertOne({
              _id: event.data.followUpId,
              follow_up_id: event.data.followUpId,
              case_id: caseId,
              team: current.team,
              assignee_id: event.data.assigneeId,
              due_at: event.data.dueAt,
              scheduled_at: event.data.scheduledAt,
              status: 'scheduled',
              completed_at: null,
              cancelled_at: null,
            });
            break;
          case 'FollowUpCompleted':
          case 'FollowUpCancelled': {
            const closing = event;
            await followUps.handle(closing.data.followUpId, (followUp) => {
              if (!followUp) throw new UnprojectableEvent(closing, 'no follow-up document');
              return closing.type === 'FollowUpCompleted'
                ? { ...followUp, status: 'completed', completed_at: closing.data.completedAt }
                : { ...followUp, status: 'cancelled', cancelled_at: closing.data.cancelledAt };
            });
            break;
          }
        }
      }
    },
    truncate: async ({ pongo }) => {
      for (const name of [TABLES.cases, TABLES.followUps, TABLES.welfareChecks]) await pongo.db().collection(name).deleteMany();
    },
  });

  const referrals = pongoSingleStreamProjection<ReferralDoc, EmmettEvent>({
    collectionName: TABLES.referrals,
    canHandle: [...referralEventTypes],
    getDocumentId: (event) => idOf(event as Read, 'referralId'),
    evolve: (referral: ReferralDoc | null, event: Read) => evolveReferral(referral, event),
  });

  const timeline = postgreSQLRawSQLProjection<EmmettEvent>({
    name: PROJECTION_NAMES.timeline,
    canHandle: [...caseEventTypes, ...referralEventTypes],
    // Shaped and indexed as rm_timeline / rm_timeline_referrals (read-models migration).
    init: () => [
      sql(`CREATE TABLE IF NOT EXISTS ${TABLES.timeline} (event_id uuid PRIMARY KEY, case_id uuid NOT NULL, seq bigint NOT NULL,
        at timestamptz NOT NULL, visibility text NOT NULL, stream_id text NOT NULL, version integer NOT NULL)`),
      sql(`CREATE INDEX IF NOT EXISTS ${TABLES.timeline}_case_idx ON ${TABLES.timeline} (case_id, at, seq)`),
      sql(`CREATE TABLE IF NOT EXISTS ${TABLES.timelineReferrals} (referral_id uuid PRIMARY KEY, case_id uuid NOT NULL)`),
    ],
    evolve: (event) => timelineStatements(event as Read),
  });

  return [people, cases, referrals, timeline];
}

/** Keeps a projection's failures: Emmett's consumer settles its processors and drops their errors. */
function recordingErrors(
  projection: PostgreSQLProjectionDefinition<EmmettEvent>,
  errors: { projection: string; error: unknown }[],
): PostgreSQLProjectionDefinition<EmmettEvent> {
  return {
    ...projection,
    handle: async (events, context) => {
      try {
        await projection.handle(events, context);
      } catch (error) {
        errors.push({ projection: projection.name ?? '?', error });
        throw error;
      }
    },
  };
}

// Expression indexes on the documents matching our read-model tables' indexes (not the timeline's,
// whose table the projection itself creates with its index).
const MIRRORED_INDEXES: [table: string, fields: string[]][] = [
  [TABLES.cases, ['closed_at']],
  [TABLES.cases, ['team', 'next_follow_up_due_at']],
  [TABLES.cases, ['assigned_worker_id', 'case_id']],
  [TABLES.cases, ['team', 'case_id']],
  [TABLES.followUps, ['case_id']],
  [TABLES.followUps, ['due_at']],
  [TABLES.welfareChecks, ['performed_at']],
  [TABLES.welfareChecks, ['person_id', 'performed_at']],
  [TABLES.referrals, ['team', 'made_at']],
  [TABLES.referrals, ['made_at']],
  [TABLES.referrals, ['case_id', 'status']],
];

async function prepareCollections(connectionString: string, mirrorIndexes: boolean): Promise<void> {
  if (!mirrorIndexes) return;
  const pongo = pongoClient(connectionString);
  try {
    for (const name of [TABLES.people, TABLES.cases, TABLES.followUps, TABLES.welfareChecks, TABLES.referrals]) {
      await pongo.db().collection(name).createCollection();
    }
    for (const [index, [name, fields]] of MIRRORED_INDEXES.entries()) {
      await pongo
        .db()
        .sql.command(sql(`CREATE INDEX IF NOT EXISTS %I ON %I (${fields.map((field) => `(data->>'${field}')`).join(', ')})`, `${name}_mirror_${index}`, name));
    }
  } finally {
    await pongo.close();
  }
}

async function countRows(connectionString: string): Promise<Record<string, number>> {
  const pool = new Pool({ connectionString, max: 1 });
  try {
    const counts: Record<string, number> = {};
    for (const name of Object.values(TABLES)) {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`);
      counts[name] = rows[0].n;
    }
    return counts;
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The copy into Emmett's store

interface CopyCounts {
  total: number;
  types: Record<string, number>;
  caseEvents: number;
  referralEvents: number;
  /** Person events the people projection handles (consents it skips, as ours does). */
  personHandled: number;
  /** Stopped at `maxEvents` before the end of the history. */
  truncated: boolean;
}

/**
 * Appends every event to Emmett's store, in our store order: consecutive events of one stream in
 * one append. Never in parallel: Emmett 0.42's consumer resumes from the last global position of a
 * batch read in (transaction id, position) order, so appends committing out of position order
 * make it skip events (fixed upstream later, emmett PR #336).
 *
 * `appendToStream`: the store's own method, one transaction per append (~3k events/s here).
 * `append-function` (default): the same `emt_append_to_stream` calls, built by Emmett's exported
 * `callAppendToStream` as `appendToStream` builds them, but all of one input batch sent in one
 * transaction and one round trip — the rows are the same, only the commits are fewer.
 */
async function copyIntoEmmett(connectionString: string, source: Batches, copyWith: CopyWith, maxEvents: number, log: (line: string) => void): Promise<CopyCounts> {
  // The copy is not measured: commits need not wait for the disk.
  const pool = new Pool({ connectionString, max: 2, options: '-c synchronous_commit=off' });
  const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { pool } });
  const counts: CopyCounts = { total: 0, types: {}, caseEvents: 0, referralEvents: 0, personHandled: 0, truncated: false };
  const caseTypes = new Set<string>(caseEventTypes);
  const referralTypes = new Set<string>(referralEventTypes);
  try {
    await store.schema.migrate();
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM emt_messages`);
    if (rows[0].n > 0) throw new Error(`Emmett's store at ${redact(connectionString)} already holds ${rows[0].n} events: give it an empty database`);
    let reported = 0;
    for await (const whole of source) {
      const batch = counts.total + whole.length > maxEvents ? whole.slice(0, Math.max(0, maxEvents - counts.total)) : whole;
      const runs: [streamId: string, events: EmmettEvent[]][] = [];
      for (const event of batch) {
        const last = runs[runs.length - 1];
        const emmettEvent = { type: event.type, data: event.data, metadata: event.metadata } as EmmettEvent;
        if (last && last[0] === event.streamId) last[1].push(emmettEvent);
        else runs.push([event.streamId, [emmettEvent]]);
        counts.total++;
        counts.types[event.type] = (counts.types[event.type] ?? 0) + 1;
        if (caseTypes.has(event.type)) counts.caseEvents++;
        else if (referralTypes.has(event.type)) counts.referralEvents++;
        else if (event.type === 'PersonRegistered' || event.type === 'PersonDetailsCorrected' || event.type === 'PersonErased') counts.personHandled++;
      }
      if (copyWith === 'appendToStream') {
        for (const [streamId, events] of runs) await store.appendToStream(streamId, events);
      } else if (runs.length) {
        const statements = runs.map(([streamId, events]) => `${appendCall(streamId, events)};`).join('\n');
        const client = await pool.connect();
        try {
          const results = await client.query(`BEGIN;\n${statements}\nCOMMIT;`);
          const appended = (results as unknown as { command: string; rows: { success: boolean }[] }[]).filter((result) => result.command === 'SELECT');
          if (appended.length !== runs.length || appended.some((result) => result.rows[0]?.success !== true)) {
            throw new Error(`emt_append_to_stream refused a batch (${appended.length} of ${runs.length} appends answered)`);
          }
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      }
      if (counts.total - reported >= 100_000) {
        reported = counts.total;
        log(`  copied ${counts.total} events into Emmett's store`);
      }
      if (counts.total >= maxEvents) {
        counts.truncated = true;
        break;
      }
    }
    const { rows: stored } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM emt_messages`);
    if (stored[0].n !== counts.total) throw new Error(`Emmett's store holds ${stored[0].n} events after copying ${counts.total}`);
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
  return counts;
}

/** One `emt_append_to_stream` call with the arguments `appendToStream` passes (no expected version). */
function appendCall(streamId: string, events: EmmettEvent[]): string {
  const list = (values: string[]) => values.map((value) => sql('%L', value)).join(',');
  const dash = streamId.indexOf('-');
  return callAppendToStream({
    messageIds: list(events.map(() => randomUUID())),
    messagesData: list(events.map((event) => JSON.stringify(event.data))),
    messagesMetadata: list(events.map((event) => JSON.stringify(event.metadata))),
    schemaVersions: events.map(() => `'1'`).join(','),
    messageTypes: list(events.map((event) => event.type)),
    messageKinds: events.map(() => `'E'`).join(','),
    streamId,
    streamType: dash > 0 ? streamId.slice(0, dash) : unknownTag,
    expectedStreamPosition: 'NULL',
    partition: defaultTag,
  });
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//…@');

// ---------------------------------------------------------------------------------------------
// Standalone check: ~20,000 events of the benchmarks' history, Emmett's rebuild, and a document-by-document
// comparison with what our projections compute from the same events.

/** Our projections' final rows for `events`, computed in memory with their own `apply`. */
function ourRows(events: readonly CaselineEventLike[]): Map<string, Map<string, Row>> {
  const tables = new Map<string, Map<string, Row>>();
  const versions = new Map<string, number>();
  const rowsFor = (projection: Projection): Rows => ({
    get: (name, key) => tables.get(name)?.get(key),
    put: (name, row) => {
      const key = projection.tables.find((t) => t.name === name)?.key as string;
      if (!tables.has(name)) tables.set(name, new Map());
      tables.get(name)?.set(String(row[key]), row);
    },
    remove: (name, key) => void tables.get(name)?.delete(key),
  });
  events.forEach((event, index) => {
    const version = (versions.get(event.streamId) ?? 0) + 1;
    versions.set(event.streamId, version);
    const recorded: RecordedEvent = { ...event, version, position: BigInt(index + 1), checkpoint: String(index + 1), hash: '' };
    for (const projection of caseworkProjections) projection.apply(recorded, rowsFor(projection));
  });
  return tables;
}

/** Compares Emmett's documents with our rows, field by field (every field of ours). */
async function compareWithOurs(connectionString: string, events: readonly CaselineEventLike[]): Promise<string[][]> {
  const ours = ourRows(events);
  const pool = new Pool({ connectionString, max: 1 });
  const report: string[][] = [];
  try {
    const pairs: [ours: string, theirs: string][] = [
      ['rm_people', TABLES.people],
      ['rm_cases', TABLES.cases],
      ['rm_follow_ups', TABLES.followUps],
      ['rm_welfare_checks', TABLES.welfareChecks],
      ['rm_referrals', TABLES.referrals],
    ];
    for (const [name, theirs] of pairs) {
      const { rows } = await pool.query<{ id: string; data: Row }>(`SELECT _id AS id, data FROM ${theirs}`);
      report.push([name, theirs, ...compare(ours.get(name) ?? new Map(), new Map(rows.map((row) => [row.id, row.data])), [])]);
    }
    // The timeline: `seq` is each store's own position, so it differs by construction.
    const { rows } = await pool.query<{ id: string; data: Row }>(
      `SELECT event_id::text AS id, jsonb_build_object('event_id', event_id, 'case_id', case_id, 'visibility', visibility, 'stream_id', stream_id, 'version', version,
              'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS data FROM ${TABLES.timeline}`,
    );
    report.push(['rm_timeline', TABLES.timeline, ...compare(ours.get('rm_timeline') ?? new Map(), new Map(rows.map((row) => [row.id, row.data])), ['seq'])]);
  } finally {
    await pool.end();
  }
  return report;
}

// JSONB does not keep key order: values are compared in canonical JSON.
const canonical = (value: unknown): string => (value === undefined ? 'undefined' : canonicalJson(value));

function compare(ours: Map<string, Row>, theirs: Map<string, Row>, skip: string[]): [string, string, string] {
  let same = 0;
  const differences: string[] = [];
  for (const [key, row] of ours) {
    const other = theirs.get(key);
    const fields = Object.keys(row).filter((field) => !skip.includes(field) && canonical(row[field]) !== canonical(other?.[field]));
    if (other && fields.length === 0) same++;
    else if (differences.length < 3) differences.push(other ? `${key}: ${fields.map((f) => `${f} ${canonical(row[f])}≠${canonical(other[f])}`).join(', ')}` : `${key}: missing`);
  }
  const extra = [...theirs.keys()].filter((key) => !ours.has(key)).length;
  return [`${ours.size}`, `${same}${extra ? ` (+${extra} extra)` : ''}`, differences.join('; ') || '—'];
}

async function main(): Promise<void> {
  const cases = Number(process.env.CHECK_CASES ?? 1_700);
  const database = await createTestDatabase('caseline_emmett_check');
  let emmettDatabase: EmmettProjectionRebuildResult['emmettDatabase'];
  try {
    // The benchmarks' own history (test/bench/history.ts), read back in store order.
    const store = await SqlEventStore.open(new PostgresDatabase({ connectionString: database.url, max: 8 }), { categories: streamCategories });
    await generateHistory(store, { cases, seed: 7 });
    const events: RecordedEvent[] = [];
    for (let after: string | undefined; ; ) {
      const batch = await store.readAll({ after, maxCount: 5_000 });
      if (batch.events.length === 0) break;
      events.push(...batch.events);
      after = batch.checkpoint;
    }
    await store.close();
    console.log(`generated ${events.length} events (${cases} cases with their people and referrals)`);
    const batches = function* (): Generator<CaselineEventLike[]> {
      for (let i = 0; i < events.length; i += 1_000) yield events.slice(i, i + 1_000);
    };
    const result = await emmettProjectionRebuild(database.url, batches, {
      mode: process.env.CHECK_MODE === 'separately' ? 'separately' : 'together',
      copyWith: process.env.CHECK_COPY === 'appendToStream' ? 'appendToStream' : 'append-function',
      mirrorIndexes: process.env.CHECK_MIRROR_INDEXES !== '0',
      maxEvents: process.env.CHECK_MAX_EVENTS ? Number(process.env.CHECK_MAX_EVENTS) : undefined,
      keepDatabase: true,
      log: (line) => console.log(line),
    });
    emmettDatabase = result.emmettDatabase;
    console.log(`\nEmmett projection rebuild (${result.projections})`);
    console.log(table(['events', 'seconds', 'events/s', 'copy (untimed) s'], [[result.events, result.seconds, result.eventsPerSecond, result.copySeconds]]));
    console.log(
      table(
        ['projection', 'events handled', 'rows', 'seconds'],
        result.perProjection.map((p) => [
          p.name,
          p.handledEvents,
          Object.entries(p.rows)
            .map(([name, n]) => `${name}=${n}`)
            .join(' '),
          p.seconds === undefined ? '—' : p.seconds,
        ]),
      ),
    );
    console.log('\nSame documents as our projections compute from the same events?');
    const comparison = await compareWithOurs(emmettDatabase?.url ?? database.url, events.slice(0, result.events));
    console.log(table(['ours', 'emmett', 'our rows', 'identical', 'first differences'], comparison));
    console.log(`\nnotes: ${result.notes}`);
    if (comparison.some((row) => row[4] !== '—' || row[3] !== row[2])) throw new Error('Emmett documents differ from ours');
  } finally {
    if (process.env.BENCH_KEEP_DATABASE) console.log(`kept databases ${database.name}, ${emmettDatabase?.name}`);
    else {
      await emmettDatabase?.drop();
      await database.drop();
    }
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
