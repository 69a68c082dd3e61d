import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { caseDecider, caseStream, parseStreamId, personDecider, personStream, referralDecider, referralStream, type CaseEvent } from '@caseline/domain';
import { verifyStore, verifyStream, type EventStore, type StoreVerification } from '@caseline/event-store';
import { AccessLog, EVENT_STORE, inScope, notFound, PersonalData, StreamStateCache, type AccessEntry, type AuthenticatedActor } from '@caseline/api-platform';

// Auditor reads: a stream's events exactly as stored (plus their personal data opened), a case as
// it stood at a version or instant (replayed through the domain's own evolve, not read models),
// and hash-chain verification. Auditors read every team; supervisors their own team's records.

export class GetStreamEvents {
  constructor(
    readonly actor: AuthenticatedActor,
    readonly streamId: string,
  ) {}
}

export class GetCaseStateAt {
  constructor(
    readonly actor: AuthenticatedActor,
    readonly caseId: string,
    readonly at: { asOf?: string; version?: number },
  ) {}
}

export class SearchAccessLog {
  constructor(
    readonly actor: AuthenticatedActor,
    readonly filter: { caseId?: string; actorId?: string; limit: number; beforeId?: number },
  ) {}
}

@QueryHandler(SearchAccessLog)
export class SearchAccessLogHandler implements IQueryHandler<SearchAccessLog> {
  constructor(@Inject(AccessLog) private readonly accessLog: AccessLog) {}

  async execute({ actor, filter }: SearchAccessLog) {
    // Auditors see every read; supervisors the reads of their own team's records.
    const items = await this.accessLog.search({ ...filter, recordTeam: actor.role === 'auditor' ? undefined : actor.team, limit: filter.limit + 1 });
    const more = items.length > filter.limit;
    const page = items.slice(0, filter.limit);
    return { items: page, nextCursor: more ? page[page.length - 1].id : null };
  }
}

export class VerifyChains {
  constructor(
    readonly actor: AuthenticatedActor,
    readonly streamId?: string,
  ) {}
}

/** Which team a stream belongs to (404 when it does not exist or is out of the caller's scope). */
async function requireStreamInScope(streams: StreamStateCache, actor: AuthenticatedActor, streamId: string): Promise<Omit<AccessEntry, 'endpoint'>> {
  let category: string;
  let id: string;
  try {
    ({ category, id } = parseStreamId(streamId));
  } catch {
    throw notFound('stream');
  }
  let team: string | undefined;
  let caseId: string | null = null;
  if (category === 'person') team = (await streams.load(personStream(id), personDecider)).firstActorTeam;
  if (category === 'case') {
    const { state } = await streams.load(caseStream(id), caseDecider);
    team = state.status === 'none' ? undefined : state.team;
    caseId = id;
  }
  if (category === 'referral') {
    const { state } = await streams.load(referralStream(id), referralDecider);
    team = state.status === 'none' ? undefined : state.team;
    caseId = state.status === 'none' ? null : state.caseId;
  }
  if (team === undefined || !inScope(actor, team)) throw notFound('stream');
  return { recordType: category as AccessEntry['recordType'], recordId: id, recordTeam: team, caseId };
}

@QueryHandler(GetStreamEvents)
export class GetStreamEventsHandler implements IQueryHandler<GetStreamEvents> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(PersonalData) private readonly personalData: PersonalData,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
  ) {}

  async execute({ actor, streamId }: GetStreamEvents) {
    const record = await requireStreamInScope(this.streams, actor, streamId);
    await this.accessLog.record(actor, { ...record, endpoint: 'GET /api/audit/streams/:streamId/events' });
    const stored = await this.store.readStored([streamId]);
    const items = await Promise.all(
      stored.map(async (event) => ({
        streamId: event.streamId,
        version: event.version,
        position: event.position.toString(),
        type: event.type,
        data: await this.personalData.open(event.type, event.data),
        metadata: event.metadata,
        previousHash: event.previousHash,
        hash: event.hash,
      })),
    );
    return { streamId, items };
  }
}

@QueryHandler(GetCaseStateAt)
export class GetCaseStateAtHandler implements IQueryHandler<GetCaseStateAt> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(PersonalData) private readonly personalData: PersonalData,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
  ) {}

  async execute({ actor, caseId, at }: GetCaseStateAt) {
    const record = await requireStreamInScope(this.streams, actor, caseStream(caseId));
    await this.accessLog.record(actor, { ...record, endpoint: 'GET /api/audit/cases/:id/state' });
    const events = await this.store.readStream(caseStream(caseId), { toVersion: at.version, asOf: at.asOf });
    let state = caseDecider.initialState();
    for (const event of events) state = caseDecider.evolve(state, { type: event.type, data: await this.personalData.open(event.type, event.data) } as CaseEvent);
    const last = events.at(-1);
    return { caseId, asOf: at.asOf ?? null, version: last?.version ?? 0, recordedAt: last?.metadata.recordedAt ?? null, state };
  }
}

@QueryHandler(VerifyChains)
export class VerifyChainsHandler implements IQueryHandler<VerifyChains> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
  ) {}

  async execute({ actor, streamId }: VerifyChains): Promise<StoreVerification> {
    if (streamId !== undefined) {
      await requireStreamInScope(this.streams, actor, streamId);
      return verifyStream(this.store, streamId);
    }
    // The whole store spans every team: an auditor's walk only.
    if (actor.role !== 'auditor') throw notFound('verification scope');
    return verifyStore(this.store);
  }
}
