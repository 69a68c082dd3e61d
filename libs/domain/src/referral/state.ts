import { unreachable } from '../decider';
import type { DeclinedBy, ReferralOutcome, ReferralType, ReferralUrgency } from '../enums';
import type { ConsentBasis, Provider, ReferralEvent } from './events';

/**
 * Closed-loop referral lifecycle: made → accepted | declined | revoked;
 * accepted → service_started → closed; accepted → closed.
 */
export type ReferralStatus = 'made' | 'accepted' | 'declined' | 'service_started' | 'closed' | 'revoked';

export interface Referral {
  status: ReferralStatus;
  id: string;
  caseId: string;
  personId: string;
  /** Team that owns the referring case. */
  team: string;
  type: ReferralType;
  provider: Provider;
  urgency: ReferralUrgency;
  notes: string | null;
  consentBasis: ConsentBasis;
  madeAt: string;
  /** The provider's first answer (accept or decline); drives response-time metrics. */
  firstResponseAt: string | null;
  acceptedAt: string | null;
  declinedAt: string | null;
  declinedBy: DeclinedBy | null;
  declineReason: string | null;
  /** When the provider began serving the person (as reported, not when recorded). */
  serviceStartedAt: string | null;
  closedAt: string | null;
  /** How the referral ended; null until closed. */
  outcome: ReferralOutcome | null;
  revokedAt: string | null;
  revokeReason: string | null;
}

/** `none`: no referral in this stream yet. */
export type ReferralState = { status: 'none' } | Referral;

export const initialReferralState = (): ReferralState => ({ status: 'none' });

export function evolveReferral(state: ReferralState, event: ReferralEvent): ReferralState {
  if (event.type === 'ReferralMade') {
    const { referralId, caseId, personId, team, type, provider, urgency, notes, consentBasis, madeAt } = event.data;
    return {
      status: 'made',
      id: referralId,
      caseId,
      personId,
      team,
      type,
      provider,
      urgency,
      notes,
      consentBasis,
      madeAt,
      firstResponseAt: null,
      acceptedAt: null,
      declinedAt: null,
      declinedBy: null,
      declineReason: null,
      serviceStartedAt: null,
      closedAt: null,
      outcome: null,
      revokedAt: null,
      revokeReason: null,
    };
  }
  if (state.status === 'none') return state;

  switch (event.type) {
    case 'ReferralAccepted': {
      const { acceptedAt } = event.data;
      return { ...state, status: 'accepted', acceptedAt, firstResponseAt: state.firstResponseAt ?? acceptedAt };
    }
    case 'ReferralDeclined': {
      const { by, reason, declinedAt } = event.data;
      return {
        ...state,
        status: 'declined',
        declinedAt,
        declinedBy: by,
        declineReason: reason,
        firstResponseAt: state.firstResponseAt ?? declinedAt,
      };
    }
    case 'ReferralServiceStarted':
      return { ...state, status: 'service_started', serviceStartedAt: event.data.startedAt };
    case 'ReferralClosed': {
      const { outcome, closedAt } = event.data;
      return { ...state, status: 'closed', outcome, closedAt };
    }
    case 'ReferralRevoked': {
      const { reason, revokedAt } = event.data;
      return { ...state, status: 'revoked', revokedAt, revokeReason: reason };
    }
    default:
      return unreachable(event);
  }
}
