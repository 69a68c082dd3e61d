import { unreachable } from '../decider';
import type { ConsentScope } from '../enums';
import type { PersonEvent } from './events';

export interface PersonDetails {
  givenName: string;
  familyName: string;
  /** Calendar date `YYYY-MM-DD`, when known. */
  dateOfBirth: string | null;
  phone: string | null;
}

/** A person's recorded permission to share their data; ends by revocation or by time. */
export interface Consent {
  consentId: string;
  scope: ConsentScope;
  /** Provider names, or `any` for every provider. */
  recipients: string[];
  /** null: no expiry. */
  expiresAt: string | null;
  grantedAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
}

export interface PersonState {
  /** True once the person was registered; stays true after erasure. */
  registered: boolean;
  /** The person's PII was erased (crypto-shredded); nothing more may be recorded about them. */
  erased: boolean;
  id: string | null;
  /** Identity details; null before registration and after erasure. */
  details: PersonDetails | null;
  registeredAt: string | null;
  erasedAt: string | null;
  /** Every consent ever granted, by consentId. */
  consents: Record<string, Consent>;
}

export const initialPersonState = (): PersonState => ({
  registered: false,
  erased: false,
  id: null,
  details: null,
  registeredAt: null,
  erasedAt: null,
  consents: {},
});

export function evolvePerson(state: PersonState, event: PersonEvent): PersonState {
  switch (event.type) {
    case 'PersonRegistered': {
      const { personId, givenName, familyName, dateOfBirth, phone, registeredAt } = event.data;
      return {
        ...state,
        registered: true,
        id: personId,
        details: { givenName, familyName, dateOfBirth: dateOfBirth ?? null, phone: phone ?? null },
        registeredAt,
      };
    }
    case 'PersonDetailsCorrected':
      return state.details ? { ...state, details: { ...state.details, ...event.data.changes } } : state;
    case 'ConsentGranted': {
      const { consentId, scope, recipients, expiresAt, grantedAt } = event.data;
      const consent: Consent = { consentId, scope, recipients, expiresAt, grantedAt, revokedAt: null, revokeReason: null };
      return { ...state, consents: { ...state.consents, [consentId]: consent } };
    }
    case 'ConsentRevoked': {
      const { consentId, reason, revokedAt } = event.data;
      const consent = state.consents[consentId];
      if (!consent) return state;
      return { ...state, consents: { ...state.consents, [consentId]: { ...consent, revokedAt, revokeReason: reason } } };
    }
    case 'PersonErased':
      return { ...state, erased: true, details: null, erasedAt: event.data.erasedAt };
    default:
      return unreachable(event);
  }
}
