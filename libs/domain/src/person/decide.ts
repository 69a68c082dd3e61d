import { unreachable } from '../decider';
import { consentScopes } from '../enums';
import { DomainError } from '../errors';
import { millis, optionalInstant, optionalText, requireDate, requireOneOf, requireText } from '../validation';
import type {
  CorrectPersonDetails,
  ErasePerson,
  GrantConsent,
  PersonCommand,
  RegisterPerson,
  RevokeConsent,
} from './commands';
import type { PersonDetailChanges, PersonEvent } from './events';
import type { PersonDetails, PersonState } from './state';

// Checks run in one order everywhere: unknown aggregate (404), lifecycle (409), input (400).

export function decidePerson(command: PersonCommand, state: PersonState): PersonEvent[] {
  switch (command.type) {
    case 'RegisterPerson':
      return register(command, state);
    case 'CorrectPersonDetails':
      return correct(command, existing(state));
    case 'GrantConsent':
      return grantConsent(command, existing(state));
    case 'RevokeConsent':
      return revokeConsent(command, existing(state));
    case 'ErasePerson':
      return erase(command, existing(state));
    default:
      return unreachable(command);
  }
}

function existing(state: PersonState): PersonState {
  if (!state.registered) throw DomainError.notFound('person_not_found', 'no such person');
  return state;
}

function notErased(state: PersonState): void {
  if (state.erased) throw DomainError.conflict('person_erased', 'the person was erased');
}

function dateOfBirth(value: unknown, now: string): string {
  const date = requireDate(value, 'dateOfBirth');
  if (date > new Date(millis(now)).toISOString().slice(0, 10)) {
    throw DomainError.invalid('date_of_birth_in_future', 'dateOfBirth is in the future', 'dateOfBirth');
  }
  return date;
}

function register({ data, now }: RegisterPerson, state: PersonState): PersonEvent[] {
  if (state.registered) throw DomainError.conflict('person_already_registered', 'the person is already registered');
  return [
    {
      type: 'PersonRegistered',
      data: {
        personId: requireText(data.personId, 'personId'),
        givenName: requireText(data.givenName, 'givenName'),
        familyName: requireText(data.familyName, 'familyName'),
        dateOfBirth: data.dateOfBirth == null ? null : dateOfBirth(data.dateOfBirth, now),
        phone: optionalText(data.phone, 'phone'),
        registeredAt: now,
      },
    },
  ];
}

function correct({ data, now }: CorrectPersonDetails, state: PersonState): PersonEvent[] {
  notErased(state);
  const requested = data.changes;
  if (typeof requested !== 'object' || requested === null) {
    throw DomainError.invalid('invalid_value', 'changes must be an object', 'changes');
  }
  const proposed: PersonDetailChanges = {};
  if (requested.givenName !== undefined) proposed.givenName = requireText(requested.givenName, 'changes.givenName');
  if (requested.familyName !== undefined) proposed.familyName = requireText(requested.familyName, 'changes.familyName');
  if (requested.dateOfBirth !== undefined) {
    proposed.dateOfBirth = requested.dateOfBirth === null ? null : dateOfBirth(requested.dateOfBirth, now);
  }
  if (requested.phone !== undefined) proposed.phone = optionalText(requested.phone, 'changes.phone');

  const current = state.details as PersonDetails;
  const changes = Object.fromEntries(
    Object.entries(proposed).filter(([field, value]) => current[field as keyof PersonDetails] !== value),
  ) as PersonDetailChanges;
  if (Object.keys(changes).length === 0) {
    throw DomainError.invalid('no_changes', 'the correction changes nothing', 'changes');
  }
  return [{ type: 'PersonDetailsCorrected', data: { personId: state.id as string, changes, correctedAt: now } }];
}

function grantConsent({ data, now }: GrantConsent, state: PersonState): PersonEvent[] {
  notErased(state);
  const consentId = requireText(data.consentId, 'consentId');
  const scope = requireOneOf(data.scope, consentScopes, 'scope');
  if (!Array.isArray(data.recipients) || data.recipients.length === 0) {
    throw DomainError.invalid('required', 'recipients must name at least one provider, or any', 'recipients');
  }
  const recipients = [
    ...new Set(data.recipients.map((recipient, i) => requireText(recipient, `recipients[${i}]`))),
  ];
  const expiresAt = optionalInstant(data.expiresAt, 'expiresAt');
  if (expiresAt !== null && millis(expiresAt) <= millis(now)) {
    throw DomainError.invalid('expires_in_past', 'expiresAt must be in the future', 'expiresAt');
  }
  if (state.consents[consentId]) throw DomainError.conflict('duplicate_id', 'consentId is already used');
  return [
    {
      type: 'ConsentGranted',
      data: { personId: state.id as string, consentId, scope, recipients, expiresAt, grantedAt: now },
    },
  ];
}

function revokeConsent({ data, now }: RevokeConsent, state: PersonState): PersonEvent[] {
  notErased(state);
  const consent = state.consents[data.consentId];
  if (!consent) throw DomainError.notFound('consent_not_found', 'no such consent');
  if (consent.revokedAt !== null) throw DomainError.conflict('consent_already_revoked', 'the consent is already revoked');
  const reason = requireText(data.reason, 'reason');
  return [
    { type: 'ConsentRevoked', data: { personId: state.id as string, consentId: consent.consentId, reason, revokedAt: now } },
  ];
}

function erase({ data, now }: ErasePerson, state: PersonState): PersonEvent[] {
  if (state.erased) throw DomainError.conflict('person_already_erased', 'the person is already erased');
  const reason = requireText(data.reason, 'reason');
  return [{ type: 'PersonErased', data: { personId: state.id as string, reason, erasedAt: now } }];
}
