import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { caseDecider, caseStream, personDecider, personStream, referralDecider, referralStream } from '@caseline/domain';
import { AccessLog, StreamStateCache } from '@caseline/api-platform';
import { GetCase, GetPerson, GetReferral } from './messages';
import { caseInScope, personInScope, referralInScope, requireCapability } from './scope';
import { caseView, personView, referralView } from './views';

/** A record and its version, as GET answers it (the controller sets the ETag from the version). */
export interface Versioned<View> {
  view: View;
  version: number;
}

@QueryHandler(GetPerson)
export class GetPersonHandler implements IQueryHandler<GetPerson> {
  constructor(
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
  ) {}

  async execute({ actor, personId }: GetPerson): Promise<Versioned<ReturnType<typeof personView>>> {
    requireCapability(actor, 'person.read');
    const { state: person, version, firstActorTeam } = await this.streams.load(personStream(personId), personDecider);
    const state = personInScope(actor, person, firstActorTeam);
    await this.accessLog.record(actor, { recordType: 'person', recordId: personId, recordTeam: firstActorTeam as string, endpoint: 'GET /api/people/:id' });
    return { view: personView(state, version, actor), version };
  }
}

@QueryHandler(GetCase)
export class GetCaseHandler implements IQueryHandler<GetCase> {
  constructor(
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
  ) {}

  async execute({ actor, caseId }: GetCase): Promise<Versioned<ReturnType<typeof caseView>>> {
    requireCapability(actor, 'case.read');
    const { state: current, version } = await this.streams.load(caseStream(caseId), caseDecider);
    const state = caseInScope(actor, current);
    await this.accessLog.record(actor, { recordType: 'case', recordId: caseId, recordTeam: state.team, caseId, endpoint: 'GET /api/cases/:id' });
    return { view: caseView(state, version, new Date().toISOString()), version };
  }
}

@QueryHandler(GetReferral)
export class GetReferralHandler implements IQueryHandler<GetReferral> {
  constructor(
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(AccessLog) private readonly accessLog: AccessLog,
  ) {}

  async execute({ actor, referralId }: GetReferral): Promise<Versioned<ReturnType<typeof referralView>>> {
    requireCapability(actor, 'referral.read');
    const { state: current, version } = await this.streams.load(referralStream(referralId), referralDecider);
    const state = referralInScope(actor, current);
    await this.accessLog.record(actor, { recordType: 'referral', recordId: referralId, recordTeam: state.team, caseId: state.caseId, endpoint: 'GET /api/referrals/:id' });
    return { view: referralView(state, version), version };
  }
}
