import { overdueFollowUps, type Case, type PersonState, type Referral } from '@caseline/domain';
import { can, type AuthenticatedActor } from '@caseline/api-platform';

// What a record looks like over HTTP, per caller: officers never receive consent data, and get
// referrals only as counts (SPEC §5). Built from state replayed through the domain's evolve.

export function personView(state: PersonState, version: number, actor: AuthenticatedActor) {
  const details = state.details;
  return {
    id: state.id,
    givenName: details?.givenName ?? null,
    familyName: details?.familyName ?? null,
    dateOfBirth: details?.dateOfBirth ?? null,
    phone: details?.phone ?? null,
    registeredAt: state.registeredAt,
    erased: state.erased,
    erasedAt: state.erasedAt,
    version,
    ...(can(actor, 'consent.read')
      ? {
          consents: Object.values(state.consents).map((consent) => ({
            ...consent,
            active: consent.revokedAt === null && (consent.expiresAt === null || Date.parse(consent.expiresAt) > Date.now()),
          })),
        }
      : {}),
  };
}

export function caseView(state: Case, version: number, now: string) {
  const followUps = Object.values(state.followUps);
  const overdue = new Set(overdueFollowUps(state, now).map((followUp) => followUp.followUpId));
  const scheduled = followUps.filter((followUp) => followUp.status === 'scheduled').map((followUp) => followUp.dueAt).sort();
  return {
    id: state.id,
    personId: state.personId,
    status: state.status,
    reason: state.reason,
    risk: state.risk,
    team: state.team,
    summary: state.summary,
    cadIncidentId: state.cadIncidentId,
    assignedWorkerId: state.assignedWorkerId,
    openedAt: state.openedAt,
    closedAt: state.closedAt,
    disposition: state.disposition,
    closingNote: state.closingNote,
    reopenedAt: state.reopenedAt,
    lastContactAt: state.lastContactAt,
    nextFollowUpDueAt: scheduled[0] ?? null,
    overdueFollowUps: overdue.size,
    welfareCheckCount: state.welfareCheckIds.length,
    noteCount: state.noteIds.length,
    followUps: followUps.map((followUp) => ({ ...followUp, overdue: overdue.has(followUp.followUpId) })),
    version,
  };
}

export function referralView(state: Referral, version: number) {
  return { ...state, version };
}
