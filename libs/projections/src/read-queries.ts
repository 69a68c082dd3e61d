import type { DataSource } from 'typeorm';
import type { EventStore, RecordedEvent } from '@caseline/event-store';
import { CaseRow, PersonRow, ReferralRow, TimelineEntryRow } from './read-models/entities';

// Queries on the read models. Callers pass the scope already decided by the access policy
// (`team` for team-scoped roles); these functions only filter.

/** An opaque keyset cursor: the sort key of the last row of the previous page. */
export const encodeCursor = (parts: readonly string[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');

type CursorPart = 'uuid' | 'instant' | 'integer';
const CURSOR_PART: Record<CursorPart, (value: string) => boolean> = {
  uuid: (value) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  instant: (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value) && !Number.isNaN(Date.parse(value)),
  integer: (value) => /^\d{1,18}$/.test(value),
};

/** The parts of a cursor this service gave out, each checked for its kind (a forged one is a 400, not a database error). */
export function decodeCursor(cursor: string | undefined, kinds: readonly CursorPart[]): string[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(parts) && parts.length === kinds.length && parts.every((part, i) => typeof part === 'string' && CURSOR_PART[kinds[i]](part))) return parts;
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
}

export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor is not one this service gave out');
    this.name = 'InvalidCursorError';
  }
}

const iso = (value: unknown): string | null => (value === null || value === undefined ? null : new Date(value as string).toISOString());

export interface CaseloadFilter {
  team?: string;
  workerId?: string;
  status?: string;
  overdue?: boolean;
  cursor?: string;
  limit: number;
  now: string;
}

export interface CaseloadItem {
  caseId: string;
  personId: string;
  /** Sealed name parts as stored (opened by the caller, who holds the keys): `{ from, value }`. */
  personName: { givenName: unknown; familyName: unknown; erased: boolean };
  team: string;
  reason: string;
  risk: string;
  status: string;
  assignedWorkerId: string | null;
  openedAt: string;
  lastContactAt: string | null;
  nextFollowUpDueAt: string | null;
  overdueFollowUps: number;
  openReferrals: number;
}

/** The caseload: cases in case-id order (a stable keyset), with overdue follow-ups and open referrals. */
export async function caseload(dataSource: DataSource, filter: CaseloadFilter): Promise<{ items: CaseloadItem[]; nextCursor: string | null }> {
  const after = decodeCursor(filter.cursor, ['uuid']);
  const query = dataSource
    .getRepository(CaseRow)
    .createQueryBuilder('c')
    .leftJoin(PersonRow, 'p', 'p.person_id = c.person_id')
    .select(['c.case_id', 'c.person_id', 'c.team', 'c.reason', 'c.risk', 'c.status', 'c.assigned_worker_id', 'c.opened_at', 'c.last_contact_at', 'c.next_follow_up_due_at'])
    .addSelect('p.given_name', 'given_name')
    .addSelect('p.family_name', 'family_name')
    .addSelect('coalesce(p.erased, false)', 'erased')
    .addSelect(`(SELECT count(*) FROM jsonb_each_text(c.scheduled_follow_ups) f WHERE f.value::timestamptz < :now)`, 'overdue_follow_ups')
    .addSelect(`(SELECT count(*) FROM rm_referrals r WHERE r.case_id = c.case_id AND r.status IN ('made', 'accepted', 'service_started'))`, 'open_referrals')
    .setParameter('now', filter.now)
    .orderBy('c.case_id', 'ASC')
    .limit(filter.limit + 1);
  if (filter.team !== undefined) query.andWhere('c.team = :team', { team: filter.team });
  if (filter.workerId !== undefined) query.andWhere('c.assigned_worker_id = :workerId', { workerId: filter.workerId });
  if (filter.status !== undefined) query.andWhere('c.status = :status', { status: filter.status });
  if (filter.overdue === true) query.andWhere('c.next_follow_up_due_at < :now');
  if (filter.overdue === false) query.andWhere('(c.next_follow_up_due_at IS NULL OR c.next_follow_up_due_at >= :now)');
  if (after) query.andWhere('c.case_id > :after', { after: after[0] });
  const rows = await query.getRawMany<Record<string, unknown>>();
  const page = rows.slice(0, filter.limit);
  return {
    items: page.map((row) => ({
      caseId: row.c_case_id as string,
      personId: row.c_person_id as string,
      personName: { givenName: row.given_name ?? null, familyName: row.family_name ?? null, erased: row.erased === true },
      team: row.c_team as string,
      reason: row.c_reason as string,
      risk: row.c_risk as string,
      status: row.c_status as string,
      assignedWorkerId: (row.c_assigned_worker_id as string | null) ?? null,
      openedAt: iso(row.c_opened_at) as string,
      lastContactAt: iso(row.c_last_contact_at),
      nextFollowUpDueAt: iso(row.c_next_follow_up_due_at),
      overdueFollowUps: Number(row.overdue_follow_ups),
      openReferrals: Number(row.open_referrals),
    })),
    nextCursor: rows.length > filter.limit ? encodeCursor([page[page.length - 1].c_case_id as string]) : null,
  };
}

export interface TimelineEntry {
  at: string;
  type: string;
  actor: { id: string; name: string; role: string };
  visibility: 'team' | 'confidential' | 'referral';
  /** The event's data as stored (personal fields sealed). */
  data: Record<string, unknown>;
}

/**
 * A case's timeline, oldest first. `visibilities` is decided by the access policy: entries of
 * any other visibility are not read at all (officers never receive confidential notes). Each
 * entry's type, actor and data are read from the log, where the entry points.
 */
export async function timeline(
  dataSource: DataSource,
  store: Pick<EventStore, 'readStream'>,
  filter: { caseId: string; visibilities: readonly string[]; cursor?: string; limit: number },
): Promise<{ items: TimelineEntry[]; nextCursor: string | null }> {
  const after = decodeCursor(filter.cursor, ['instant', 'integer']);
  const query = dataSource
    .getRepository(TimelineEntryRow)
    .createQueryBuilder('t')
    .where('t.case_id = :caseId', { caseId: filter.caseId })
    .andWhere('t.visibility IN (:...visibilities)', { visibilities: filter.visibilities })
    .orderBy('t.at', 'ASC')
    .addOrderBy('t.seq', 'ASC')
    .limit(filter.limit + 1);
  if (after) query.andWhere('(t.at, t.seq) > (CAST(:afterAt AS timestamptz), CAST(:afterSeq AS bigint))', { afterAt: after[0], afterSeq: after[1] });
  const rows = await query.getMany();
  const page = rows.slice(0, filter.limit);
  const events = await eventsAt(store, page);
  const last = page[page.length - 1];
  return {
    items: page.map((row, i) => {
      const { type, data, metadata } = events[i];
      const { id, name, role } = metadata.actor;
      return { at: iso(row.at) as string, type, actor: { id, name, role }, visibility: row.visibility as TimelineEntry['visibility'], data: data as Record<string, unknown> };
    }),
    nextCursor: rows.length > filter.limit ? encodeCursor([iso(last.at) as string, String(last.seq)]) : null,
  };
}

/**
 * Wanted versions further apart than this in one stream are read separately (see eventsAt): one
 * read more costs a round trip, about what reading this many small events costs; so a page reads
 * at most SPAN_GAP events per entry it shows, whatever it skips.
 */
const SPAN_GAP = 16;

/** Reads of one page in flight at once: a long page does not take the whole pool. */
const READS_IN_FLIGHT = 4;

/**
 * The events at these places in the log, in the order given: one read for each run of versions
 * of a stream. Privacy: a run may hold events the caller may not see (a confidential note between
 * two of an officer's entries); they are dropped here, and only the events asked for are returned.
 * A gap of more than SPAN_GAP versions starts a new run.
 */
export async function eventsAt(store: Pick<EventStore, 'readStream'>, places: readonly { stream_id: string; version: number }[]): Promise<RecordedEvent[]> {
  const versions = new Map<string, number[]>();
  for (const place of places) {
    if (!versions.has(place.stream_id)) versions.set(place.stream_id, []);
    versions.get(place.stream_id)?.push(place.version);
  }
  const reads: { streamId: string; from: number; to: number }[] = [];
  for (const [streamId, list] of versions) {
    list.sort((a, b) => a - b);
    let from = list[0];
    for (let i = 1; i <= list.length; i++) {
      if (i < list.length && list[i] - list[i - 1] <= SPAN_GAP) continue;
      reads.push({ streamId, from, to: list[i - 1] });
      from = list[i];
    }
  }
  const wanted = new Set(places.map((place) => `${place.version}@${place.stream_id}`));
  const found = new Map<string, RecordedEvent>();
  let next = 0;
  const reader = async () => {
    while (next < reads.length) {
      const { streamId, from, to } = reads[next++];
      for (const event of await store.readStream(streamId, { fromVersion: from, toVersion: to })) {
        const key = `${event.version}@${streamId}`;
        if (wanted.has(key)) found.set(key, event);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, reads.length) }, reader));
  return places.map((place) => {
    const event = found.get(`${place.version}@${place.stream_id}`);
    // A projected event is in the log: one missing was removed behind the store's back (the audit's
    // verification names it); the page fails rather than show a story with a hole in it.
    if (!event) throw new Error(`timeline entry ${place.stream_id}@${place.version}: the event is not in the log`);
    return event;
  });
}

export interface ReferralFilter {
  team?: string;
  caseId?: string;
  status?: string;
  type?: string;
  provider?: string;
  cursor?: string;
  limit: number;
  now: string;
  slaHours: number;
}

/** Referrals, newest first, with time to first response and whether the response SLA was breached. */
export async function referralList(dataSource: DataSource, filter: ReferralFilter) {
  const after = decodeCursor(filter.cursor, ['instant', 'uuid']);
  const query = dataSource.getRepository(ReferralRow).createQueryBuilder('r').orderBy('r.made_at', 'DESC').addOrderBy('r.referral_id', 'DESC').limit(filter.limit + 1);
  if (filter.team !== undefined) query.andWhere('r.team = :team', { team: filter.team });
  if (filter.caseId !== undefined) query.andWhere('r.case_id = :caseId', { caseId: filter.caseId });
  if (filter.status !== undefined) query.andWhere('r.status = :status', { status: filter.status });
  if (filter.type !== undefined) query.andWhere('r.type = :type', { type: filter.type });
  if (filter.provider !== undefined) query.andWhere('r.provider = :provider', { provider: filter.provider });
  if (after) query.andWhere('(r.made_at, r.referral_id) < (CAST(:afterAt AS timestamptz), CAST(:afterId AS uuid))', { afterAt: after[0], afterId: after[1] });
  const rows = await query.getMany();
  const page = rows.slice(0, filter.limit);
  const now = Date.parse(filter.now);
  const items = page.map((row) => {
    const made = new Date(row.made_at).getTime();
    const responded = row.first_response_at ? new Date(row.first_response_at).getTime() : null;
    const waited = (responded ?? (row.revoked_at ? new Date(row.revoked_at).getTime() : now)) - made;
    return {
      id: row.referral_id,
      caseId: row.case_id,
      personId: row.person_id,
      team: row.team,
      type: row.type,
      provider: { name: row.provider },
      urgency: row.urgency,
      status: row.status,
      madeAt: iso(row.made_at),
      firstResponseAt: iso(row.first_response_at),
      hoursToFirstResponse: responded === null ? null : (responded - made) / 3_600_000,
      // Breached: no response within the SLA (a referral still waiting breaches once the SLA has passed).
      slaBreached: waited > filter.slaHours * 3_600_000,
      acceptedAt: iso(row.accepted_at),
      declinedAt: iso(row.declined_at),
      declinedBy: row.declined_by,
      serviceStartedAt: iso(row.service_started_at),
      closedAt: iso(row.closed_at),
      outcome: row.outcome,
      revokedAt: iso(row.revoked_at),
      version: row.version,
    };
  });
  const last = page[page.length - 1];
  return { items, nextCursor: rows.length > filter.limit ? encodeCursor([iso(last.made_at) as string, last.referral_id]) : null };
}
