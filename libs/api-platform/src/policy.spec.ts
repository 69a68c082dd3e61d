import { roles, type AuthenticatedActor, type Role } from '@caseline/platform';
import { can, inScope, policy, type Capability } from './policy';

// The policy table against SPEC §5, row by row as the contract writes it (✔ = may). The API's
// authorization matrix test derives every expected status from this table, so the table itself is
// checked here against the contract.

const O = 'officer',
  W = 'social_worker',
  S = 'supervisor',
  A = 'auditor',
  D = 'admin';

const SPEC_5: Array<[row: string, capabilities: Capability[], holders: Role[]]> = [
  ['register person, open case', ['person.register', 'case.open'], [O, W, S]],
  ['welfare check, team note, schedule/complete follow-up', ['case.welfare_check', 'case.note.team', 'case.follow_up'], [O, W, S]],
  ['confidential note: write', ['case.note.confidential.write'], [W, S]],
  ['confidential note: read (auditor: read, logged)', ['case.note.confidential.read'], [W, S, A]],
  ['case card, timeline', ['case.read'], [O, W, S, A]],
  ['make referral, move it through its lifecycle', ['referral.make', 'referral.lifecycle'], [W, S]],
  ['consent override on a referral', ['referral.consent_override'], [S]],
  ['assign case', ['case.assign'], [S]],
  ['close, reopen, change risk', ['case.close', 'case.reopen', 'case.risk'], [W, S]],
  ['caseload', ['caseload'], [W, S, A]],
  ['outcomes', ['outcomes'], [W, S, A]],
  ['audit: events, state as of, verification, access log (supervisor: own team)', ['audit'], [S, A]],
  ['erase a person (crypto-shredding)', ['person.erase'], [D]],
];

const actor = (role: Role, team = 'north'): AuthenticatedActor => ({ id: `${role}-1`, name: 'Someone', role, team });

describe('access policy (SPEC §5)', () => {
  it.each(SPEC_5)('%s', (_row, capabilities, holders) => {
    for (const capability of capabilities) {
      expect({ capability, holders: roles.filter((role) => can(actor(role), capability)) }).toEqual({ capability, holders });
    }
  });

  it('gives officers no referral details and no consent data, and admins no case content', () => {
    for (const capability of ['referral.read', 'consent.read', 'case.note.confidential.read'] as const) expect(can(actor('officer'), capability)).toBe(false);
    const reads = (Object.keys(policy) as Capability[]).filter((capability) => capability.endsWith('.read'));
    expect(reads.filter((capability) => can(actor('admin'), capability))).toEqual([]);
  });

  it('keeps officers, social workers and supervisors to their team; auditors read every team; admins none', () => {
    for (const role of [O, W, S] as const) expect([inScope(actor(role), 'north'), inScope(actor(role), 'south')]).toEqual([true, false]);
    expect([inScope(actor(A), 'north'), inScope(actor(A), 'south')]).toEqual([true, true]);
    expect([inScope(actor(D), 'north'), inScope(actor(D), 'south')]).toEqual([false, false]);
  });
});
