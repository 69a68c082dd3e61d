import type { CaseState, PersonState, ReferralState } from '@caseline/domain';
import { can, forbidden, inScope, notFound, type AuthenticatedActor, type Capability } from '@caseline/api-platform';

/** 403 when the role may never do this, whatever the record. Checked before anything is read. */
export function requireCapability(actor: AuthenticatedActor, capability: Capability): void {
  if (!can(actor, capability)) throw forbidden(capability);
}

/**
 * A person belongs to the team that registered them (from the registering event's actor).
 * Unknown or out of scope: 404 either way, so that existence never leaks.
 */
export function personInScope(actor: AuthenticatedActor, state: PersonState, registeringTeam: string | undefined): PersonState {
  if (!state.registered || registeringTeam === undefined) throw notFound('person');
  if (!inScope(actor, registeringTeam)) throw notFound('person');
  return state;
}

export function caseInScope(actor: AuthenticatedActor, state: CaseState): Exclude<CaseState, { status: 'none' }> {
  if (state.status === 'none' || !inScope(actor, state.team)) throw notFound('case');
  return state;
}

export function referralInScope(actor: AuthenticatedActor, state: ReferralState): Exclude<ReferralState, { status: 'none' }> {
  if (state.status === 'none' || !inScope(actor, state.team)) throw notFound('referral');
  return state;
}
