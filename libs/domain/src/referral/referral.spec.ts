import { replay } from '../decider';
import type { PersonEvent } from '../person/events';
import { personDecider } from '../person/index';
import { specFor } from '../testing/given';
import type {
  AcceptReferral,
  CloseReferral,
  DeclineReferral,
  MakeReferral,
  RevokeReferral,
  StartReferralService,
} from './commands';
import type {
  ReferralAccepted,
  ReferralClosed,
  ReferralDeclined,
  ReferralEvent,
  ReferralMade,
  ReferralRevoked,
  ReferralServiceStarted,
} from './events';
import { referralDecider } from './index';

const given = specFor(referralDecider);
const referralId = '3c1d0000-0000-4000-8000-00000000000r';
const caseId = '3c1d0000-0000-4000-8000-00000000000c';
const personId = '3c1d0000-0000-4000-8000-00000000000p';
const madeAt = '2025-03-01T10:00:00.000Z';
const acceptedAt = '2025-03-02T10:00:00.000Z';
const startedAt = '2025-03-03T09:00:00.000Z';
const later = '2025-03-04T10:00:00.000Z';

const registered: PersonEvent = {
  type: 'PersonRegistered',
  data: { personId, givenName: 'Ada', familyName: 'Moss', dateOfBirth: null, phone: null, registeredAt: '2025-01-01T00:00:00.000Z' },
};
const consentTo = (consentId: string, recipients: string[], grantedAt = '2025-02-01T00:00:00.000Z'): PersonEvent => ({
  type: 'ConsentGranted',
  data: { personId, consentId, scope: 'referral-sharing', recipients, expiresAt: null, grantedAt },
});
const person = (...events: PersonEvent[]) => replay(personDecider, [registered, ...events]);
const withShelterConsent = person(consentTo('consent-harbor', ['Harbor Shelter']));
const openCase = { status: 'open' as const, personId, team: 'north' };

const made: ReferralMade = {
  type: 'ReferralMade',
  data: {
    referralId,
    caseId,
    personId,
    team: 'north',
    type: 'shelter',
    provider: { name: 'Harbor Shelter' },
    urgency: 'urgent',
    notes: null,
    consentBasis: { kind: 'consent', consentId: 'consent-harbor' },
    madeAt,
  },
};
const accepted: ReferralAccepted = { type: 'ReferralAccepted', data: { referralId, note: null, acceptedAt } };
const declined: ReferralDeclined = {
  type: 'ReferralDeclined',
  data: { referralId, by: 'provider', reason: 'No beds', declinedAt: acceptedAt },
};
const revoked: ReferralRevoked = { type: 'ReferralRevoked', data: { referralId, reason: 'Sent in error', revokedAt: acceptedAt } };
const serviceStarted: ReferralServiceStarted = {
  type: 'ReferralServiceStarted',
  data: { referralId, startedAt, note: null, recordedAt: later },
};
const referralClosed: ReferralClosed = {
  type: 'ReferralClosed',
  data: { referralId, outcome: 'service_received', note: null, closedAt: later },
};

const makeReferral = (data: Partial<MakeReferral['data']> = {}): MakeReferral => ({
  type: 'MakeReferral',
  data: {
    referralId,
    caseId,
    type: 'shelter',
    provider: { name: 'Harbor Shelter' },
    urgency: 'urgent',
    caseState: openCase,
    person: withShelterConsent,
    ...data,
  },
  now: madeAt,
});
const accept = (data: Partial<AcceptReferral['data']> = {}): AcceptReferral => ({
  type: 'AcceptReferral',
  data: { referralId, ...data },
  now: acceptedAt,
});
const decline = (data: Partial<DeclineReferral['data']> = {}): DeclineReferral => ({
  type: 'DeclineReferral',
  data: { referralId, by: 'provider', reason: 'No beds', ...data },
  now: acceptedAt,
});
const revoke = (data: Partial<RevokeReferral['data']> = {}): RevokeReferral => ({
  type: 'RevokeReferral',
  data: { referralId, reason: 'Sent in error', ...data },
  now: acceptedAt,
});
const startService = (data: Partial<StartReferralService['data']> = {}): StartReferralService => ({
  type: 'StartReferralService',
  data: { referralId, startedAt, ...data },
  now: later,
});
const closeReferral = (data: Partial<CloseReferral['data']> = {}): CloseReferral => ({
  type: 'CloseReferral',
  data: { referralId, outcome: 'service_received', ...data },
  now: later,
});

const madeWith = (data: Partial<ReferralMade['data']>): ReferralMade => ({ ...made, data: { ...made.data, ...data } });

describe('MakeReferral', () => {
  describe('with consent', () => {
    it('makes a referral on the covering consent of the person', () => given().when(makeReferral()).then([made]));

    it('uses the consent named in the command', () =>
      given()
        .when(makeReferral({ consentId: 'consent-harbor', notes: ' Arrives by bus ' }))
        .then([madeWith({ notes: 'Arrives by bus' })]));

    it('matches the provider name regardless of case and surrounding blanks', () =>
      given()
        .when(makeReferral({ provider: { name: ' harbor shelter ' } }))
        .then([madeWith({ provider: { name: 'harbor shelter' } })]));

    it('accepts a consent for any provider', () =>
      given()
        .when(makeReferral({ person: person(consentTo('consent-any', ['any'])), provider: { name: 'Food Bank' }, type: 'food' }))
        .then([madeWith({ provider: { name: 'Food Bank' }, type: 'food', consentBasis: { kind: 'consent', consentId: 'consent-any' } })]));

    it('takes the team and person from the case', () =>
      given()
        .when(makeReferral({ caseState: { ...openCase, team: 'south' } }))
        .then([madeWith({ team: 'south' })]));

    it('requires consent when none covers the provider', () =>
      given()
        .when(makeReferral({ provider: { name: 'Food Bank' } }))
        .thenThrows('consent_required', { kind: 'conflict' }));

    it('requires consent when the person has none', () =>
      given().when(makeReferral({ person: person() })).thenThrows('consent_required'));

    it('refuses once the consent was revoked', () =>
      given()
        .when(
          makeReferral({
            person: person(consentTo('consent-harbor', ['Harbor Shelter']), {
              type: 'ConsentRevoked',
              data: { personId, consentId: 'consent-harbor', reason: 'no', revokedAt: '2025-02-15T00:00:00.000Z' },
            }),
          }),
        )
        .thenThrows('consent_required'));

    it('refuses once the consent expired', () =>
      given()
        .when(
          makeReferral({
            person: person({
              type: 'ConsentGranted',
              data: {
                personId,
                consentId: 'consent-harbor',
                scope: 'referral-sharing',
                recipients: ['any'],
                expiresAt: '2025-02-28T00:00:00.000Z',
                grantedAt: '2025-02-01T00:00:00.000Z',
              },
            }),
          }),
        )
        .thenThrows('consent_required'));

    it('refuses a named consent that does not cover the provider', () =>
      given()
        .when(makeReferral({ person: person(consentTo('consent-food', ['Food Bank']), consentTo('consent-any', ['any'])), consentId: 'consent-food' }))
        .thenThrows('consent_invalid', { kind: 'conflict' }));

    it('refuses a named consent the person never gave', () =>
      given().when(makeReferral({ consentId: 'consent-unknown' })).thenThrows('consent_invalid'));
  });

  describe('with a consent override', () => {
    it('makes the referral on a supervisor override, even without consent', () =>
      given()
        .when(makeReferral({ person: person(), consentOverride: { reason: 'Imminent danger, client incapacitated' } }))
        .then([madeWith({ consentBasis: { kind: 'override', reason: 'Imminent danger, client incapacitated' } })]));

    it('requires a reason for the override', () =>
      given()
        .when(makeReferral({ consentOverride: { reason: '  ' } }))
        .thenThrows('required', { kind: 'invalid', field: 'consentOverride.reason' }));
  });

  it('refuses a referral on a closed case', () =>
    given().when(makeReferral({ caseState: { ...openCase, status: 'closed' } })).thenThrows('case_closed', { kind: 'conflict' }));

  it('refuses a referral on a case that does not exist', () =>
    given().when(makeReferral({ caseState: { status: 'none' } })).thenThrows('case_not_found', { kind: 'not_found' }));

  it('refuses a referral for a person who is not registered', () =>
    given()
      .when(makeReferral({ person: personDecider.initialState() }))
      .thenThrows('person_not_found', { kind: 'not_found' }));

  it('refuses a referral for an erased person, even with an override', () =>
    given()
      .when(
        makeReferral({
          person: person({ type: 'PersonErased', data: { personId, reason: 'request', erasedAt: '2025-02-20T00:00:00.000Z' } }),
          consentOverride: { reason: 'urgent' },
        }),
      )
      .thenThrows('person_erased', { kind: 'conflict' }));

  it('refuses a person who is not the subject of the case', () =>
    given()
      .when(makeReferral({ caseState: { ...openCase, personId: 'someone-else' } }))
      .thenThrows('person_mismatch', { kind: 'invalid' }));

  it('refuses to make the same referral twice', () =>
    given(made).when(makeReferral()).thenThrows('referral_already_exists', { kind: 'conflict' }));

  it('refuses an unknown referral type', () =>
    given().when(makeReferral({ type: 'spa' as never })).thenThrows('invalid_value', { field: 'type' }));

  it('refuses an unknown urgency', () =>
    given().when(makeReferral({ urgency: 'asap' as never })).thenThrows('invalid_value', { field: 'urgency' }));

  it('requires a provider name', () =>
    given().when(makeReferral({ provider: { name: '' } })).thenThrows('required', { field: 'provider.name' }));
});

describe('AcceptReferral', () => {
  it('accepts a made referral', () => given(made).when(accept()).then([accepted]));

  it('keeps an optional note', () =>
    given(made)
      .when(accept({ note: 'Bed 4' }))
      .then([{ ...accepted, data: { ...accepted.data, note: 'Bed 4' } }]));

  it('refuses to accept twice', () =>
    given(made, accepted).when(accept()).thenThrows('referral_not_pending', { kind: 'conflict' }));

  it('refuses to accept a declined referral', () => given(made, declined).when(accept()).thenThrows('referral_not_pending'));

  it('refuses to accept a revoked referral', () => given(made, revoked).when(accept()).thenThrows('referral_not_pending'));

  it('refuses to accept a referral that does not exist', () =>
    given().when(accept()).thenThrows('referral_not_found', { kind: 'not_found' }));
});

describe('DeclineReferral', () => {
  it('records a decline by the provider', () => given(made).when(decline()).then([declined]));

  it('records a decline by the client', () =>
    given(made)
      .when(decline({ by: 'client', reason: 'Wants to stay with family' }))
      .then([{ type: 'ReferralDeclined', data: { referralId, by: 'client', reason: 'Wants to stay with family', declinedAt: acceptedAt } }]));

  it('requires who declined', () =>
    given(made).when(decline({ by: 'court' as never })).thenThrows('invalid_value', { field: 'by' }));

  it('requires a reason', () => given(made).when(decline({ reason: '' })).thenThrows('required', { field: 'reason' }));

  it('refuses to decline an accepted referral', () =>
    given(made, accepted).when(decline()).thenThrows('referral_not_pending', { kind: 'conflict' }));

  it('refuses to decline twice', () => given(made, declined).when(decline()).thenThrows('referral_not_pending'));

  it('refuses to decline a referral that does not exist', () => given().when(decline()).thenThrows('referral_not_found'));
});

describe('RevokeReferral', () => {
  it('revokes a referral still awaiting an answer', () => given(made).when(revoke()).then([revoked]));

  it('requires a reason', () => given(made).when(revoke({ reason: ' ' })).thenThrows('required', { field: 'reason' }));

  it('refuses to revoke an accepted referral', () =>
    given(made, accepted).when(revoke()).thenThrows('referral_not_pending', { kind: 'conflict' }));

  it('refuses to revoke a declined referral', () => given(made, declined).when(revoke()).thenThrows('referral_not_pending'));

  it('refuses to revoke twice', () => given(made, revoked).when(revoke()).thenThrows('referral_not_pending'));

  it('refuses to revoke a referral that does not exist', () => given().when(revoke()).thenThrows('referral_not_found'));
});

describe('StartReferralService', () => {
  it('records the start of service on an accepted referral', () =>
    given(made, accepted).when(startService()).then([serviceStarted]));

  it('accepts a start up to five minutes ahead of the server clock', () =>
    given(made, accepted)
      .when(startService({ startedAt: '2025-03-04T10:05:00.000Z', note: 'Checked in' }))
      .then([{ type: 'ReferralServiceStarted', data: { referralId, startedAt: '2025-03-04T10:05:00.000Z', note: 'Checked in', recordedAt: later } }]));

  it('refuses a start more than five minutes in the future', () =>
    given(made, accepted)
      .when(startService({ startedAt: '2025-03-04T10:05:01.000Z' }))
      .thenThrows('started_in_future', { kind: 'invalid', field: 'startedAt' }));

  it('refuses a start before the referral was made', () =>
    given(made, accepted)
      .when(startService({ startedAt: '2025-03-01T09:59:59.000Z' }))
      .thenThrows('started_before_made', { kind: 'invalid', field: 'startedAt' }));

  it('refuses a startedAt that is not a timestamp', () =>
    given(made, accepted).when(startService({ startedAt: 'Monday' })).thenThrows('invalid_timestamp', { field: 'startedAt' }));

  it('refuses to start service on a referral not yet accepted', () =>
    given(made).when(startService()).thenThrows('referral_not_accepted', { kind: 'conflict' }));

  it('refuses to start service on a declined referral', () =>
    given(made, declined).when(startService()).thenThrows('referral_not_accepted'));

  it('refuses to start service twice', () =>
    given(made, accepted, serviceStarted).when(startService()).thenThrows('service_already_started', { kind: 'conflict' }));

  it('refuses to start service on a closed referral', () =>
    given(made, accepted, referralClosed).when(startService()).thenThrows('referral_not_accepted'));

  it('refuses to start service on a referral that does not exist', () =>
    given().when(startService()).thenThrows('referral_not_found'));
});

describe('CloseReferral', () => {
  it('closes a referral after service started', () =>
    given(made, accepted, serviceStarted).when(closeReferral()).then([referralClosed]));

  it('closes an accepted referral directly', () =>
    given(made, accepted)
      .when(closeReferral({ outcome: 'could_not_contact', note: 'Three attempts' }))
      .then([{ type: 'ReferralClosed', data: { referralId, outcome: 'could_not_contact', note: 'Three attempts', closedAt: later } }]));

  it('refuses an unknown outcome', () =>
    given(made, accepted).when(closeReferral({ outcome: 'great' as never })).thenThrows('invalid_value', { field: 'outcome' }));

  it('refuses to close a referral not yet accepted', () =>
    given(made).when(closeReferral()).thenThrows('referral_not_accepted', { kind: 'conflict' }));

  it('refuses to close a declined referral', () =>
    given(made, declined).when(closeReferral()).thenThrows('referral_not_accepted'));

  it('refuses to close a revoked referral', () =>
    given(made, revoked).when(closeReferral()).thenThrows('referral_not_accepted'));

  it('refuses to close twice', () =>
    given(made, accepted, referralClosed).when(closeReferral()).thenThrows('referral_already_closed', { kind: 'conflict' }));

  it('refuses to close a referral that does not exist', () => given().when(closeReferral()).thenThrows('referral_not_found'));
});

describe('referral state', () => {
  const stateAfter = (...events: ReferralEvent[]) => replay(referralDecider, events);

  it('starts with no referral', () => expect(referralDecider.initialState()).toEqual({ status: 'none' }));

  it('walks the closed loop: made, accepted, service started, closed', () =>
    expect(stateAfter(made, accepted, serviceStarted, referralClosed)).toMatchObject({
      status: 'closed',
      madeAt,
      firstResponseAt: acceptedAt,
      acceptedAt,
      serviceStartedAt: startedAt,
      closedAt: later,
      outcome: 'service_received',
    }));

  it('counts a decline as the first response', () =>
    expect(stateAfter(made, declined)).toMatchObject({
      status: 'declined',
      firstResponseAt: acceptedAt,
      declinedBy: 'provider',
      declineReason: 'No beds',
    }));

  it('records a revocation without a response', () =>
    expect(stateAfter(made, revoked)).toMatchObject({ status: 'revoked', firstResponseAt: null, revokeReason: 'Sent in error' }));

  it('ignores events other than ReferralMade on an empty stream', () =>
    expect(stateAfter(accepted)).toEqual({ status: 'none' }));
});
