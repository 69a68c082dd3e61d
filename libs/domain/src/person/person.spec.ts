import { replay } from '../decider';
import { specFor } from '../testing/given';
import type { CorrectPersonDetails, ErasePerson, GrantConsent, RegisterPerson, RevokeConsent } from './commands';
import type { ConsentGranted, ConsentRevoked, PersonErased, PersonRegistered } from './events';
import { personDecider } from './index';

const given = specFor(personDecider);
const personId = '8a0c2f3e-1111-4aaa-8bbb-000000000001';
const consentId = '8a0c2f3e-2222-4aaa-8bbb-000000000002';
const now = '2025-03-01T10:00:00.000Z';
const later = '2025-03-02T10:00:00.000Z';

const registered: PersonRegistered = {
  type: 'PersonRegistered',
  data: { personId, givenName: 'Ada', familyName: 'Moss', dateOfBirth: '1980-05-17', phone: '555-0100', registeredAt: now },
};
const consentGranted: ConsentGranted = {
  type: 'ConsentGranted',
  data: { personId, consentId, scope: 'referral-sharing', recipients: ['any'], expiresAt: null, grantedAt: now },
};
const consentRevoked: ConsentRevoked = {
  type: 'ConsentRevoked',
  data: { personId, consentId, reason: 'changed mind', revokedAt: later },
};
const erased: PersonErased = { type: 'PersonErased', data: { personId, reason: 'erasure request', erasedAt: later } };

const register = (data: Partial<RegisterPerson['data']> = {}): RegisterPerson => ({
  type: 'RegisterPerson',
  data: { personId, givenName: 'Ada', familyName: 'Moss', dateOfBirth: '1980-05-17', phone: '555-0100', ...data },
  now,
});
const correct = (changes: CorrectPersonDetails['data']['changes']): CorrectPersonDetails => ({
  type: 'CorrectPersonDetails',
  data: { personId, changes },
  now: later,
});
const grant = (data: Partial<GrantConsent['data']> = {}): GrantConsent => ({
  type: 'GrantConsent',
  data: { personId, consentId, scope: 'referral-sharing', recipients: ['any'], expiresAt: null, ...data },
  now,
});
const revoke = (data: Partial<RevokeConsent['data']> = {}): RevokeConsent => ({
  type: 'RevokeConsent',
  data: { personId, consentId, reason: 'changed mind', ...data },
  now: later,
});
const erase = (data: Partial<ErasePerson['data']> = {}): ErasePerson => ({
  type: 'ErasePerson',
  data: { personId, reason: 'erasure request', ...data },
  now: later,
});

describe('RegisterPerson', () => {
  it('registers a person', () => given().when(register()).then([registered]));

  it('records absent date of birth and phone as null', () =>
    given()
      .when(register({ dateOfBirth: undefined, phone: undefined }))
      .then([{ ...registered, data: { ...registered.data, dateOfBirth: null, phone: null } }]));

  it('trims names', () =>
    given().when(register({ givenName: '  Ada ', familyName: ' Moss' })).then([registered]));

  it('refuses to register the same person twice', () =>
    given(registered).when(register()).thenThrows('person_already_registered', { kind: 'conflict' }));

  it('refuses to register an erased person again', () =>
    given(registered, erased).when(register()).thenThrows('person_already_registered'));

  it('requires a given name', () =>
    given().when(register({ givenName: '  ' })).thenThrows('required', { kind: 'invalid', field: 'givenName' }));

  it('requires a family name', () =>
    given().when(register({ familyName: '' })).thenThrows('required', { field: 'familyName' }));

  it('refuses a date of birth that is not a calendar date', () =>
    given().when(register({ dateOfBirth: '1980-02-30' })).thenThrows('invalid_date', { field: 'dateOfBirth' }));

  it('refuses a date of birth in the future', () =>
    given().when(register({ dateOfBirth: '2025-03-02' })).thenThrows('date_of_birth_in_future', { field: 'dateOfBirth' }));
});

describe('CorrectPersonDetails', () => {
  it('records only the details that actually change', () =>
    given(registered)
      .when(correct({ givenName: 'Ada', familyName: 'Mossley' }))
      .then([{ type: 'PersonDetailsCorrected', data: { personId, changes: { familyName: 'Mossley' }, correctedAt: later } }]));

  it('clears an optional detail with null', () =>
    given(registered)
      .when(correct({ phone: null, dateOfBirth: null }))
      .then([
        { type: 'PersonDetailsCorrected', data: { personId, changes: { phone: null, dateOfBirth: null }, correctedAt: later } },
      ]));

  it('applies the correction to the person', () => {
    const state = replay(personDecider, [
      registered,
      { type: 'PersonDetailsCorrected', data: { personId, changes: { phone: '555-0199' }, correctedAt: later } },
    ]);
    expect(state.details).toEqual({ givenName: 'Ada', familyName: 'Moss', dateOfBirth: '1980-05-17', phone: '555-0199' });
  });

  it('refuses a correction that changes nothing', () =>
    given(registered).when(correct({ givenName: 'Ada', phone: '555-0100' })).thenThrows('no_changes', { kind: 'invalid' }));

  it('refuses an empty correction', () => given(registered).when(correct({})).thenThrows('no_changes'));

  it('refuses to blank a name', () =>
    given(registered).when(correct({ givenName: ' ' })).thenThrows('required', { field: 'changes.givenName' }));

  it('refuses to correct a person who is not registered', () =>
    given().when(correct({ givenName: 'Eve' })).thenThrows('person_not_found', { kind: 'not_found' }));

  it('refuses to correct an erased person', () =>
    given(registered, erased).when(correct({ givenName: 'Eve' })).thenThrows('person_erased', { kind: 'conflict' }));
});

describe('GrantConsent', () => {
  it('grants a referral-sharing consent', () => given(registered).when(grant()).then([consentGranted]));

  it('grants a consent that expires and names providers', () =>
    given(registered)
      .when(grant({ recipients: [' Harbor Shelter ', 'harbor shelter', 'Food Bank'], expiresAt: '2025-06-01T00:00:00+02:00' }))
      .then([
        {
          ...consentGranted,
          data: { ...consentGranted.data, recipients: ['Harbor Shelter', 'harbor shelter', 'Food Bank'], expiresAt: '2025-05-31T22:00:00.000Z' },
        },
      ]));

  it('refuses an expiry that is not after now', () =>
    given(registered).when(grant({ expiresAt: now })).thenThrows('expires_in_past', { kind: 'invalid', field: 'expiresAt' }));

  it('refuses an expiry that is not a timestamp', () =>
    given(registered).when(grant({ expiresAt: 'next week' })).thenThrows('invalid_timestamp', { field: 'expiresAt' }));

  it('refuses a scope other than referral-sharing', () =>
    given(registered).when(grant({ scope: 'research' as never })).thenThrows('invalid_value', { field: 'scope' }));

  it('refuses a consent without recipients', () =>
    given(registered).when(grant({ recipients: [] })).thenThrows('required', { field: 'recipients' }));

  it('refuses a blank recipient', () =>
    given(registered).when(grant({ recipients: ['any', ' '] })).thenThrows('required', { field: 'recipients[1]' }));

  it('refuses a consent id already used', () =>
    given(registered, consentGranted).when(grant()).thenThrows('duplicate_id', { kind: 'conflict' }));

  it('refuses consent for a person who is not registered', () =>
    given().when(grant()).thenThrows('person_not_found', { kind: 'not_found' }));

  it('refuses consent for an erased person', () =>
    given(registered, erased).when(grant()).thenThrows('person_erased', { kind: 'conflict' }));
});

describe('RevokeConsent', () => {
  it('revokes a consent', () => given(registered, consentGranted).when(revoke()).then([consentRevoked]));

  it('records the revocation on the consent', () => {
    const state = replay(personDecider, [registered, consentGranted, consentRevoked]);
    expect(state.consents[consentId]).toMatchObject({ revokedAt: later, revokeReason: 'changed mind' });
  });

  it('refuses to revoke an unknown consent', () =>
    given(registered).when(revoke()).thenThrows('consent_not_found', { kind: 'not_found' }));

  it('refuses to revoke a consent twice', () =>
    given(registered, consentGranted, consentRevoked).when(revoke()).thenThrows('consent_already_revoked', { kind: 'conflict' }));

  it('requires a reason', () =>
    given(registered, consentGranted).when(revoke({ reason: '' })).thenThrows('required', { field: 'reason' }));

  it('refuses to revoke for a person who is not registered', () =>
    given().when(revoke()).thenThrows('person_not_found'));

  it('refuses to revoke consent of an erased person', () =>
    given(registered, consentGranted, erased).when(revoke()).thenThrows('person_erased'));
});

describe('ErasePerson', () => {
  it('erases a person', () => given(registered, consentGranted).when(erase()).then([erased]));

  it('forgets the details but remembers that the person existed', () => {
    const state = replay(personDecider, [registered, erased]);
    expect(state).toMatchObject({ registered: true, erased: true, details: null, erasedAt: later });
  });

  it('refuses to erase twice', () =>
    given(registered, erased).when(erase()).thenThrows('person_already_erased', { kind: 'conflict' }));

  it('requires a reason', () => given(registered).when(erase({ reason: ' ' })).thenThrows('required', { field: 'reason' }));

  it('refuses to erase a person who is not registered', () =>
    given().when(erase()).thenThrows('person_not_found', { kind: 'not_found' }));
});

describe('the given/when/then helper', () => {
  it('fails a refusal expectation when the command is accepted', () =>
    expect(() => given().when(register()).thenThrows('person_already_registered')).toThrow(/expected a refusal/));

  it('fails a refusal expectation when the refusal is not a DomainError', () => {
    const broken = specFor({ ...personDecider, decide: () => { throw new Error('boom'); } });
    expect(() => broken().when(register()).thenThrows('person_already_registered')).toThrow();
  });
});
