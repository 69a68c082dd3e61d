import { unreachable } from '../decider';
import { declinedByValues, referralOutcomes, referralTypes, referralUrgencies } from '../enums';
import { DomainError } from '../errors';
import { findCoveringConsent } from '../person/consent';
import type { PersonState } from '../person/state';
import { CLOCK_SKEW_MS, millis, optionalText, requireInstant, requireOneOf, requireText } from '../validation';
import type {
  AcceptReferral,
  CloseReferral,
  DeclineReferral,
  MakeReferral,
  ReferralCommand,
  RevokeReferral,
  StartReferralService,
} from './commands';
import type { ConsentBasis, ReferralEvent } from './events';
import type { Referral, ReferralState } from './state';

// Checks run in one order everywhere: unknown aggregate (404), lifecycle (409), input (400),
// then rules that depend on both (consent, dates against the referral's own).

export function decideReferral(command: ReferralCommand, state: ReferralState): ReferralEvent[] {
  switch (command.type) {
    case 'MakeReferral':
      return make(command, state);
    case 'AcceptReferral':
      return accept(command, pending(existing(state)));
    case 'DeclineReferral':
      return decline(command, pending(existing(state)));
    case 'RevokeReferral':
      return revoke(command, pending(existing(state)));
    case 'StartReferralService':
      return startService(command, existing(state));
    case 'CloseReferral':
      return close(command, existing(state));
    default:
      return unreachable(command);
  }
}

function existing(state: ReferralState): Referral {
  if (state.status === 'none') throw DomainError.notFound('referral_not_found', 'no such referral');
  return state;
}

/** Pending: made and not yet answered by the provider or withdrawn. */
function pending(state: Referral): Referral {
  if (state.status !== 'made') {
    throw DomainError.conflict('referral_not_pending', `the referral is ${state.status}, no longer awaiting an answer`);
  }
  return state;
}

function consentBasis(data: MakeReferral['data'], providerName: string, now: string): ConsentBasis {
  if (data.consentOverride != null) {
    return { kind: 'override', reason: requireText(data.consentOverride.reason, 'consentOverride.reason') };
  }
  const person: PersonState = data.person;
  if (data.consentId != null) {
    const consentId = requireText(data.consentId, 'consentId');
    if (!findCoveringConsent(person, providerName, now, consentId)) {
      throw DomainError.conflict('consent_invalid', 'that consent does not cover sharing with this provider now');
    }
    return { kind: 'consent', consentId };
  }
  const covering = findCoveringConsent(person, providerName, now);
  if (!covering) {
    throw DomainError.conflict('consent_required', 'no active consent covers sharing with this provider');
  }
  return { kind: 'consent', consentId: covering.consentId };
}

/** A referral shares personal data, so it needs the person's consent or a supervisor's override. */
function make({ data, now }: MakeReferral, state: ReferralState): ReferralEvent[] {
  if (state.status !== 'none') throw DomainError.conflict('referral_already_exists', 'the referral already exists');
  const { caseState, person } = data;
  if (caseState.status === 'none') throw DomainError.notFound('case_not_found', 'no such case');
  if (!person.registered) throw DomainError.notFound('person_not_found', 'no such person');
  if (person.id !== caseState.personId) {
    throw DomainError.invalid('person_mismatch', 'the person is not the subject of the case', 'personId');
  }
  if (caseState.status === 'closed') throw DomainError.conflict('case_closed', 'the case is closed');
  if (person.erased) throw DomainError.conflict('person_erased', 'the person was erased');

  const referralId = requireText(data.referralId, 'referralId');
  const caseId = requireText(data.caseId, 'caseId');
  const type = requireOneOf(data.type, referralTypes, 'type');
  const provider = { name: requireText(data.provider?.name, 'provider.name') };
  const urgency = requireOneOf(data.urgency, referralUrgencies, 'urgency');
  const notes = optionalText(data.notes, 'notes');
  return [
    {
      type: 'ReferralMade',
      data: {
        referralId,
        caseId,
        personId: caseState.personId,
        team: caseState.team,
        type,
        provider,
        urgency,
        notes,
        consentBasis: consentBasis(data, provider.name, now),
        madeAt: now,
      },
    },
  ];
}

function accept({ data, now }: AcceptReferral, state: Referral): ReferralEvent[] {
  const note = optionalText(data.note, 'note');
  return [{ type: 'ReferralAccepted', data: { referralId: state.id, note, acceptedAt: now } }];
}

function decline({ data, now }: DeclineReferral, state: Referral): ReferralEvent[] {
  const by = requireOneOf(data.by, declinedByValues, 'by');
  const reason = requireText(data.reason, 'reason');
  return [{ type: 'ReferralDeclined', data: { referralId: state.id, by, reason, declinedAt: now } }];
}

function revoke({ data, now }: RevokeReferral, state: Referral): ReferralEvent[] {
  const reason = requireText(data.reason, 'reason');
  return [{ type: 'ReferralRevoked', data: { referralId: state.id, reason, revokedAt: now } }];
}

function startService({ data, now }: StartReferralService, state: Referral): ReferralEvent[] {
  if (state.status === 'service_started') {
    throw DomainError.conflict('service_already_started', 'the service has already started');
  }
  if (state.status !== 'accepted') {
    throw DomainError.conflict('referral_not_accepted', `the referral is ${state.status}, not accepted`);
  }
  const startedAt = requireInstant(data.startedAt, 'startedAt');
  const note = optionalText(data.note, 'note');
  if (millis(startedAt) < millis(state.madeAt)) {
    throw DomainError.invalid('started_before_made', 'startedAt is before the referral was made', 'startedAt');
  }
  if (millis(startedAt) > millis(now) + CLOCK_SKEW_MS) {
    throw DomainError.invalid('started_in_future', 'startedAt is in the future', 'startedAt');
  }
  return [{ type: 'ReferralServiceStarted', data: { referralId: state.id, startedAt, note, recordedAt: now } }];
}

function close({ data, now }: CloseReferral, state: Referral): ReferralEvent[] {
  if (state.status === 'closed') throw DomainError.conflict('referral_already_closed', 'the referral is already closed');
  if (state.status !== 'accepted' && state.status !== 'service_started') {
    throw DomainError.conflict('referral_not_accepted', `the referral is ${state.status}, not accepted`);
  }
  const outcome = requireOneOf(data.outcome, referralOutcomes, 'outcome');
  const note = optionalText(data.note, 'note');
  return [{ type: 'ReferralClosed', data: { referralId: state.id, outcome, note, closedAt: now } }];
}
