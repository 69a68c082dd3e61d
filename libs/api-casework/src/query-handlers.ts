import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import {
  caseDecider,
  caseStream,
  personDecider,
  personStream,
  referralDecider,
  referralStream,
  replay,
  type CaseEvent,
  type PersonEvent,
  type ReferralEvent,
} from '@caseline/domain';
import type { EventStore } from '@caseline/event-store';
import { EVENT_STORE } from '@caseline/api-platform';
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
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ actor, personId }: GetPerson): Promise<Versioned<ReturnType<typeof personView>>> {
    requireCapability(actor, 'person.read');
    const events = await this.store.readStream(personStream(personId));
    const state = personInScope(actor, replay(personDecider, events as unknown as PersonEvent[]), events);
    const version = events.at(-1)?.version ?? 0;
    return { view: personView(state, version, actor), version };
  }
}

@QueryHandler(GetCase)
export class GetCaseHandler implements IQueryHandler<GetCase> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ actor, caseId }: GetCase): Promise<Versioned<ReturnType<typeof caseView>>> {
    requireCapability(actor, 'case.read');
    const events = await this.store.readStream(caseStream(caseId));
    const state = caseInScope(actor, replay(caseDecider, events as unknown as CaseEvent[]));
    const version = events.at(-1)?.version ?? 0;
    return { view: caseView(state, version, new Date().toISOString()), version };
  }
}

@QueryHandler(GetReferral)
export class GetReferralHandler implements IQueryHandler<GetReferral> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ actor, referralId }: GetReferral): Promise<Versioned<ReturnType<typeof referralView>>> {
    requireCapability(actor, 'referral.read');
    const events = await this.store.readStream(referralStream(referralId));
    const state = referralInScope(actor, replay(referralDecider, events as unknown as ReferralEvent[]));
    const version = events.at(-1)?.version ?? 0;
    return { view: referralView(state, version), version };
  }
}
