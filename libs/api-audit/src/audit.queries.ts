import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { KeyObject } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { PinoLogger } from 'nestjs-pino';
import { caseDecider, caseStream, parseStreamId, personDecider, personStream, referralDecider, referralStream } from '@caseline/domain';
import { measureStore, verifyStore, verifyStream, type EventStore, type StoreVerification } from '@caseline/event-store';
import { exportDigest, parseDigest, ProgressMeter, verifyDigest, type CaseReplay, type DigestSigner } from '@caseline/audit';
import { AccessLog, EVENT_STORE, inScope, notFound, PersonalData, RequestValidationError, StreamStateCache, type AccessEntry, type AuthenticatedActor } from '@caseline/api-platform';

/** What the audit endpoints need beyond the platform: the digest key and the case replayer. */
export class AuditServices {
  constructor(
    readonly signer: DigestSigner,
    /** Public keys whose digests are accepted: the signer's, and earlier ones still trusted. */
    readonly trustedKeys: KeyObject[],
    readonly replay: CaseReplay,
  ) {}
}

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
    /** Answer as NDJSON progress lines and a result line (whole store only). */
    readonly stream = false,
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
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
    @Inject(AuditServices) private readonly audit: AuditServices,
  ) {}

  async execute({ actor, caseId, at }: GetCaseStateAt) {
    const record = await requireStreamInScope(this.streams, actor, caseStream(caseId));
    // Replayed through the domain's evolve, from the nearest snapshot (see CaseReplay), while the
    // read is recorded. Why together: nothing is answered before the record is committed (should it
    // fail, so does the request, and the state replayed meanwhile is dropped unseen), but the
    // replay need not wait for that commit's flush to disk.
    const [, { version, recordedAt, state }] = await Promise.all([
      this.accessLog.record(actor, { ...record, endpoint: 'GET /api/audit/cases/:id/state' }),
      this.audit.replay.stateAt(caseId, at),
    ]);
    return { caseId, asOf: at.asOf ?? null, version, recordedAt, state };
  }
}

@QueryHandler(VerifyChains)
export class VerifyChainsHandler implements IQueryHandler<VerifyChains> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(PinoLogger) private readonly logger: PinoLogger,
  ) {}

  async execute({ actor, streamId, stream }: VerifyChains): Promise<StoreVerification | Readable> {
    if (streamId !== undefined) {
      await requireStreamInScope(this.streams, actor, streamId);
      return verifyStream(this.store, streamId);
    }
    // The whole store spans every team: an auditor's walk only.
    if (actor.role !== 'auditor') throw notFound('verification scope');
    // Measured before answering, so that a database that is down is a 503, not a broken stream.
    const totals = await measureStore(this.store);
    const meter = new ProgressMeter(totals.events);
    const progress = (checkedEvents: number, checkedStreams: number) => {
      const reading = meter.read(checkedEvents);
      return { checkedEvents, checkedStreams, totalEvents: totals.events, totalStreams: totals.streams, eventsPerSecond: Math.round(reading.rate), etaSeconds: reading.etaSeconds === undefined ? null : Math.round(reading.etaSeconds) };
    };
    let lastLog = performance.now();
    this.logger.info({ verification: progress(0, 0) }, 'store verification started');
    const logProgress = (checkedEvents: number, checkedStreams: number) => {
      if (performance.now() - lastLog < 2000) return;
      lastLog = performance.now();
      this.logger.info({ verification: progress(checkedEvents, checkedStreams) }, 'store verification progress');
    };
    const finished = (result: StoreVerification) => {
      this.logger.info({ verification: { ...progress(result.checkedEvents, result.checkedStreams), ok: result.ok, streamId: result.streamId, firstBadVersion: result.firstBadVersion } }, 'store verification finished');
      return result;
    };
    if (!stream) return finished(await verifyStore(this.store, { onProgress: ({ checkedEvents, checkedStreams }) => logProgress(checkedEvents, checkedStreams) }));

    // NDJSON: a progress line now and then, the result last (or an error line: the status is sent).
    const lines = new PassThrough();
    const line = (value: unknown) => lines.write(`${JSON.stringify(value)}\n`);
    let lastLine = 0;
    line({ type: 'progress', ...progress(0, 0) });
    verifyStore(this.store, {
      onProgress: ({ checkedEvents, checkedStreams }) => {
        logProgress(checkedEvents, checkedStreams);
        if (performance.now() - lastLine < 250) return;
        lastLine = performance.now();
        line({ type: 'progress', ...progress(checkedEvents, checkedStreams) });
      },
    })
      .then((result) => line({ type: 'result', ...finished(result) }))
      .catch((error: unknown) => {
        this.logger.warn({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'store verification failed');
        line({ type: 'error', status: 503, detail: 'the database became unavailable during verification' });
      })
      .finally(() => lines.end());
    return lines;
  }
}

export class ExportDigest {
  constructor(readonly actor: AuthenticatedActor) {}
}

@QueryHandler(ExportDigest)
export class ExportDigestHandler implements IQueryHandler<ExportDigest> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(AuditServices) private readonly audit: AuditServices,
  ) {}

  execute() {
    return exportDigest(this.store, this.audit.signer);
  }
}

export class VerifyDigest {
  constructor(
    readonly actor: AuthenticatedActor,
    readonly body: unknown,
  ) {}
}

@QueryHandler(VerifyDigest)
export class VerifyDigestHandler implements IQueryHandler<VerifyDigest> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(AuditServices) private readonly audit: AuditServices,
  ) {}

  async execute({ body }: VerifyDigest) {
    const parsed = parseDigest(body);
    if ('errors' in parsed) throw new RequestValidationError(parsed.errors);
    return verifyDigest(this.store, parsed.digest, this.audit.trustedKeys);
  }
}
