import type { Command } from '../decider';
import type { ConsentScope } from '../enums';
import type { PersonDetailChanges } from './events';

export type RegisterPerson = Command<
  'RegisterPerson',
  { personId: string; givenName: string; familyName: string; dateOfBirth?: string | null; phone?: string | null }
>;

/** Fields left undefined stay as they are. */
export type CorrectPersonDetails = Command<'CorrectPersonDetails', { personId: string; changes: PersonDetailChanges }>;

export type GrantConsent = Command<
  'GrantConsent',
  { personId: string; consentId: string; scope: ConsentScope; recipients: string[]; expiresAt?: string | null }
>;

export type RevokeConsent = Command<'RevokeConsent', { personId: string; consentId: string; reason: string }>;

export type ErasePerson = Command<'ErasePerson', { personId: string; reason: string }>;

export type PersonCommand = RegisterPerson | CorrectPersonDetails | GrantConsent | RevokeConsent | ErasePerson;
