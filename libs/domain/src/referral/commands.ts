import type { Command } from '../decider';
import type { DeclinedBy, ReferralOutcome, ReferralType, ReferralUrgency } from '../enums';
import type { PersonState } from '../person/state';
import type { Provider } from './events';

/** Facts about the referring case, looked up by the caller from the case's stream. */
export type CaseFacts = { status: 'none' } | { status: 'open' | 'closed'; personId: string; team: string };

export type MakeReferral = Command<
  'MakeReferral',
  {
    referralId: string;
    caseId: string;
    type: ReferralType;
    provider: Provider;
    urgency: ReferralUrgency;
    notes?: string | null;
    /** The consent to rely on; when absent, any covering consent of the person is used. */
    consentId?: string | null;
    /** Share without consent (supervisors only — the caller checks the role). */
    consentOverride?: { reason: string } | null;
    caseState: CaseFacts;
    /** The person's state, replayed by the caller from the person's stream. */
    person: PersonState;
  }
>;

export type AcceptReferral = Command<'AcceptReferral', { referralId: string; note?: string | null }>;

export type DeclineReferral = Command<'DeclineReferral', { referralId: string; by: DeclinedBy; reason: string }>;

export type StartReferralService = Command<
  'StartReferralService',
  { referralId: string; startedAt: string; note?: string | null }
>;

export type CloseReferral = Command<
  'CloseReferral',
  { referralId: string; outcome: ReferralOutcome; note?: string | null }
>;

export type RevokeReferral = Command<'RevokeReferral', { referralId: string; reason: string }>;

export type ReferralCommand =
  | MakeReferral
  | AcceptReferral
  | DeclineReferral
  | StartReferralService
  | CloseReferral
  | RevokeReferral;
