import type { Event } from '../decider';
import type { ConsentScope } from '../enums';

export type PersonRegistered = Event<
  'PersonRegistered',
  {
    personId: string;
    givenName: string;
    familyName: string;
    /** Calendar date `YYYY-MM-DD`. */
    dateOfBirth?: string | null;
    phone?: string | null;
    registeredAt: string;
  }
>;

/** Only the fields that actually changed; `null` clears an optional detail. */
export interface PersonDetailChanges {
  givenName?: string;
  familyName?: string;
  dateOfBirth?: string | null;
  phone?: string | null;
}

export type PersonDetailsCorrected = Event<
  'PersonDetailsCorrected',
  { personId: string; changes: PersonDetailChanges; correctedAt: string }
>;

export type ConsentGranted = Event<
  'ConsentGranted',
  {
    personId: string;
    consentId: string;
    scope: ConsentScope;
    /** Provider names the person agreed to share with, or `any`. */
    recipients: string[];
    /** null: until revoked. */
    expiresAt: string | null;
    grantedAt: string;
  }
>;

export type ConsentRevoked = Event<
  'ConsentRevoked',
  { personId: string; consentId: string; reason: string; revokedAt: string }
>;

/** Right to erasure: the person's data keys are shredded, so earlier PII becomes unreadable. */
export type PersonErased = Event<'PersonErased', { personId: string; reason: string; erasedAt: string }>;

export type PersonEvent = PersonRegistered | PersonDetailsCorrected | ConsentGranted | ConsentRevoked | PersonErased;

export const personEventTypes = Object.keys({
  PersonRegistered: true,
  PersonDetailsCorrected: true,
  ConsentGranted: true,
  ConsentRevoked: true,
  PersonErased: true,
} satisfies Record<PersonEvent['type'], true>) as PersonEvent['type'][];
