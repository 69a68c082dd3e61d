import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { caseDecider, caseStream } from '@caseline/domain';
import { AccessLog, ApiError, APP_CONFIG, can, ERASED, EVENT_STORE, PersonalData, ReadSide, StreamStateCache, type AppConfig, type AuthenticatedActor } from '@caseline/api-platform';
import { caseload, InvalidCursorError, outcomes, referralList, timeline, type CaseloadItem } from '@caseline/projections';
import type { EventStore } from '@caseline/event-store';
import type { CaseloadQuery, OutcomesQuery, ReferralListQuery, TimelineQuery } from './read-dto';
import { caseInScope, requireCapability } from './scope';
import { timelineSummary } from './timeline-view';

// Queries served by the read models (projections). Each checks the capability, waits for the
// caller's consistency token, applies the caller's scope, records the reads, then answers.

export class GetCaseload {
  constructor(readonly actor: AuthenticatedActor, readonly query: CaseloadQuery, readonly consistencyToken?: string) {}
}
export class GetTimeline {
  constructor(readonly actor: AuthenticatedActor, readonly caseId: string, readonly query: TimelineQuery, readonly consistencyToken?: string) {}
}
export class ListReferrals {
  constructor(readonly actor: AuthenticatedActor, readonly query: ReferralListQuery, readonly consistencyToken?: string) {}
}
export class GetOutcomes {
  constructor(readonly actor: AuthenticatedActor, readonly query: OutcomesQuery, readonly consistencyToken?: string) {}
}

/** The team a list is limited to: auditors may ask for any (or all); everyone else sees their own. */
function listScope(actor: AuthenticatedActor, asked: string | undefined): { team?: string; empty: boolean } {
  if (actor.role === 'auditor') return { team: asked, empty: false };
  return { team: actor.team, empty: asked !== undefined && asked !== actor.team };
}

async function paged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new ApiError(400, 'invalid_cursor', error.message);
    throw error;
  }
}

type NamePart = { event: string; value: unknown } | null;

async function openName(personalData: PersonalData, item: CaseloadItem): Promise<string> {
  if (item.personName.erased) return ERASED;
  const open = async (part: unknown, field: 'givenName' | 'familyName') => {
    const sealed = part as NamePart;
    if (!sealed) return '';
    const data = sealed.event === 'PersonDetailsCorrected' ? { changes: { [field]: sealed.value } } : { [field]: sealed.value };
    const opened = (await personalData.open(sealed.event, data)) as Record<string, unknown> & { changes?: Record<string, unknown> };
    return String((opened.changes ?? opened)[field] ?? '');
  };
  const [given, family] = await Promise.all([open(item.personName.givenName, 'givenName'), open(item.personName.familyName, 'familyName')]);
  return given === ERASED || family === ERASED ? ERASED : `${given} ${family}`.trim();
}

@QueryHandler(GetCaseload)
export class GetCaseloadHandler implements IQueryHandler<GetCaseload> {
  constructor(
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
    @Inject(PersonalData) private readonly personalData: PersonalData,
  ) {}

  async execute({ actor, query, consistencyToken }: GetCaseload) {
    requireCapability(actor, 'caseload');
    await this.readSide.consistentWith(consistencyToken, ['cases', 'people', 'referrals']);
    const scope = listScope(actor, query.team);
    if (scope.empty) return { items: [], nextCursor: null };
    const page = await paged(() =>
      caseload(this.readSide.dataSource, {
        team: scope.team,
        workerId: query.workerId,
        status: query.status,
        overdue: query.overdue === undefined ? undefined : query.overdue === 'true',
        cursor: query.cursor,
        limit: query.limit ?? 50,
        now: new Date().toISOString(),
      }),
    );
    // Each line shows a case and its person's name: both are reads.
    await this.accessLog.recordMany(
      actor,
      page.items.flatMap((item) => [
        { recordType: 'case' as const, recordId: item.caseId, recordTeam: item.team, caseId: item.caseId, endpoint: 'GET /api/caseload' },
        { recordType: 'person' as const, recordId: item.personId, recordTeam: item.team, caseId: item.caseId, endpoint: 'GET /api/caseload' },
      ]),
    );
    const items = await Promise.all(
      page.items.map(async (item) => ({
        caseId: item.caseId,
        personId: item.personId,
        personName: await openName(this.personalData, item),
        team: item.team,
        reason: item.reason,
        risk: item.risk,
        status: item.status,
        assignedWorkerId: item.assignedWorkerId,
        openedAt: item.openedAt,
        lastContactAt: item.lastContactAt,
        nextFollowUpDueAt: item.nextFollowUpDueAt,
        overdueFollowUps: item.overdueFollowUps,
        openReferrals: item.openReferrals,
      })),
    );
    return { items, nextCursor: page.nextCursor };
  }
}

@QueryHandler(GetTimeline)
export class GetTimelineHandler implements IQueryHandler<GetTimeline> {
  constructor(
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
    @Inject(PersonalData) private readonly personalData: PersonalData,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ actor, caseId, query, consistencyToken }: GetTimeline) {
    requireCapability(actor, 'case.read');
    const { state: current } = await this.streams.load(caseStream(caseId), caseDecider);
    const state = caseInScope(actor, current);
    await this.readSide.consistentWith(consistencyToken, ['timeline']);
    // Field rules (SPEC §5): entries a role may not read are not even fetched (their events may be
    // read from the log within a run of versions, but eventsAt drops them before they leave it).
    const visibilities = can(actor, 'case.note.confidential.read') ? ['team', 'referral', 'confidential'] : ['team', 'referral'];
    const referralDetails = can(actor, 'referral.read');
    const page = await paged(() => timeline(this.readSide.dataSource, this.store, { caseId, visibilities, cursor: query.cursor, limit: query.limit ?? 200 }));
    // The case, and each referral whose details the page shows.
    const referrals = referralDetails ? [...new Set(page.items.filter((e) => e.visibility === 'referral').map((e) => String(e.data.referralId)))] : [];
    await this.accessLog.recordMany(actor, [
      { recordType: 'case', recordId: caseId, recordTeam: state.team, caseId, endpoint: 'GET /api/cases/:id/timeline' },
      ...referrals.map((referralId) => ({ recordType: 'referral' as const, recordId: referralId, recordTeam: state.team, caseId, endpoint: 'GET /api/cases/:id/timeline' })),
    ]);
    const items = await Promise.all(
      page.items.map(async (entry) => {
        const withheld = entry.visibility === 'referral' && !referralDetails;
        const data = withheld ? {} : await this.personalData.open(entry.type, entry.data);
        return { at: entry.at, type: entry.type, actor: entry.actor, summary: timelineSummary({ type: entry.type, data }, !withheld) };
      }),
    );
    return { items, nextCursor: page.nextCursor };
  }
}

@QueryHandler(ListReferrals)
export class ListReferralsHandler implements IQueryHandler<ListReferrals> {
  constructor(
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ actor, query, consistencyToken }: ListReferrals) {
    requireCapability(actor, 'referral.read');
    await this.readSide.consistentWith(consistencyToken, ['referrals']);
    const scope = listScope(actor, undefined);
    const page = await paged(() =>
      referralList(this.readSide.dataSource, {
        team: scope.team,
        caseId: query.caseId?.toLowerCase(),
        status: query.status,
        type: query.type,
        provider: query.provider,
        cursor: query.cursor,
        limit: query.limit ?? 50,
        now: new Date().toISOString(),
        slaHours: this.config.referralResponseSlaHours,
      }),
    );
    await this.accessLog.recordMany(
      actor,
      page.items.map((item) => ({ recordType: 'referral', recordId: item.id, recordTeam: item.team, caseId: item.caseId, endpoint: 'GET /api/referrals' })),
    );
    return page;
  }
}

@QueryHandler(GetOutcomes)
export class GetOutcomesHandler implements IQueryHandler<GetOutcomes> {
  constructor(
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ actor, query, consistencyToken }: GetOutcomes) {
    requireCapability(actor, 'outcomes');
    if (Date.parse(query.from) >= Date.parse(query.to)) throw new ApiError(400, 'invalid_request', 'from must be before to');
    await this.readSide.consistentWith(consistencyToken, ['cases', 'referrals']);
    const groupBy = query.groupBy ?? 'month';
    const scope = listScope(actor, undefined);
    const from = new Date(query.from).toISOString();
    const to = new Date(query.to).toISOString();
    const slaHours = this.config.referralResponseSlaHours;
    const groups = await outcomes(this.readSide.dataSource, { from, to, groupBy, team: scope.team, slaHours, now: new Date().toISOString() });
    // Aggregates only: no person, case or referral is disclosed, so nothing goes to the access log.
    return { from, to, groupBy, team: scope.team ?? null, responseSlaHours: slaHours, groups };
  }
}
