import type { AuthenticatedActor, Role } from '@caseline/platform';

/**
 * The access policy (SPEC §5) as one table: capability → roles that hold it. Guards and
 * object-level checks read it; nothing is decided ad hoc in controllers.
 * Scope: officers, social workers and supervisors act on their own team's records only; auditors
 * read every team; admins manage the system and read no case content.
 */
export const policy = {
  'person.register': ['officer', 'social_worker', 'supervisor'],
  'person.read': ['officer', 'social_worker', 'supervisor', 'auditor'],
  'person.correct': ['social_worker', 'supervisor'],
  'person.erase': ['admin'],
  'consent.manage': ['social_worker', 'supervisor'],
  'consent.read': ['social_worker', 'supervisor', 'auditor'],
  'case.open': ['officer', 'social_worker', 'supervisor'],
  'case.read': ['officer', 'social_worker', 'supervisor', 'auditor'],
  'case.welfare_check': ['officer', 'social_worker', 'supervisor'],
  'case.note.team': ['officer', 'social_worker', 'supervisor'],
  'case.note.confidential.write': ['social_worker', 'supervisor'],
  'case.note.confidential.read': ['social_worker', 'supervisor', 'auditor'],
  'case.follow_up': ['officer', 'social_worker', 'supervisor'],
  'case.assign': ['supervisor'],
  'case.risk': ['social_worker', 'supervisor'],
  'case.close': ['social_worker', 'supervisor'],
  'case.reopen': ['social_worker', 'supervisor'],
  'referral.make': ['social_worker', 'supervisor'],
  'referral.lifecycle': ['social_worker', 'supervisor'],
  'referral.read': ['social_worker', 'supervisor', 'auditor'],
  'referral.consent_override': ['supervisor'],
  caseload: ['social_worker', 'supervisor', 'auditor'],
  outcomes: ['social_worker', 'supervisor', 'auditor'],
  audit: ['supervisor', 'auditor'],
  /** Store-wide audit (signed digests of every stream head): spans every team, so auditors only. */
  'audit.store': ['auditor'],
} as const satisfies Record<string, readonly Role[]>;

export type Capability = keyof typeof policy;

export function can(actor: AuthenticatedActor, capability: Capability): boolean {
  return (policy[capability] as readonly Role[]).includes(actor.role);
}

/** Roles whose reach is their own team; the others read across teams (auditor) or no content. */
const TEAM_SCOPED: readonly Role[] = ['officer', 'social_worker', 'supervisor'];

/** May this actor see a record owned by `team` at all? Out of scope answers 404, never 403. */
export function inScope(actor: AuthenticatedActor, team: string): boolean {
  if (actor.role === 'auditor') return true;
  if (actor.role === 'admin') return false;
  return TEAM_SCOPED.includes(actor.role) && actor.team === team;
}
