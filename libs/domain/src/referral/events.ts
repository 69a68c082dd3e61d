import type { Event } from '../decider';
import type { DeclinedBy, ReferralOutcome, ReferralType, ReferralUrgency } from '../enums';

/** The organisation asked to provide the service. */
export interface Provider {
  name: string;
}

/** Why sharing the person's data with the provider was allowed. */
export type ConsentBasis =
  | { kind: 'consent'; consentId: string }
  /** A supervisor shared without consent, and said why. */
  | { kind: 'override'; reason: string };

export type ReferralMade = Event<
  'ReferralMade',
  {
    referralId: string;
    caseId: string;
    personId: string;
    /** The case's team at the time of referral. */
    team: string;
    type: ReferralType;
    provider: Provider;
    urgency: ReferralUrgency;
    notes: string | null;
    consentBasis: ConsentBasis;
    madeAt: string;
  }
>;

export type ReferralAccepted = Event<'ReferralAccepted', { referralId: string; note: string | null; acceptedAt: string }>;

export type ReferralDeclined = Event<
  'ReferralDeclined',
  { referralId: string; by: DeclinedBy; reason: string; declinedAt: string }
>;

export type ReferralServiceStarted = Event<
  'ReferralServiceStarted',
  {
    referralId: string;
    /** When the provider started serving the person; `recordedAt` is when we learned it. */
    startedAt: string;
    note: string | null;
    recordedAt: string;
  }
>;

export type ReferralClosed = Event<
  'ReferralClosed',
  { referralId: string; outcome: ReferralOutcome; note: string | null; closedAt: string }
>;

/** Withdrawn by the team before the provider answered. */
export type ReferralRevoked = Event<'ReferralRevoked', { referralId: string; reason: string; revokedAt: string }>;

export type ReferralEvent =
  | ReferralMade
  | ReferralAccepted
  | ReferralDeclined
  | ReferralServiceStarted
  | ReferralClosed
  | ReferralRevoked;

export const referralEventTypes = Object.keys({
  ReferralMade: true,
  ReferralAccepted: true,
  ReferralDeclined: true,
  ReferralServiceStarted: true,
  ReferralClosed: true,
  ReferralRevoked: true,
} satisfies Record<ReferralEvent['type'], true>) as ReferralEvent['type'][];
