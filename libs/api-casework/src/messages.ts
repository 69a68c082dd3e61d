import type { CaseCommand, CaseState, PersonCommand, PersonState, ReferralCommand, ReferralState } from '@caseline/domain';
import type { CommandContext } from '@caseline/api-platform';

// What controllers send over the CommandBus/QueryBus: one message kind per aggregate, carrying the
// request's command context and a builder that turns the stream's current state into the domain
// command (so the handler can check scope on that state first).

export class ChangePerson {
  constructor(
    readonly context: CommandContext,
    readonly personId: string,
    readonly build: (state: PersonState) => PersonCommand,
    /** Registration creates the stream; erasure is an admin act on any person. */
    readonly reach: 'new' | 'team' | 'any' = 'team',
  ) {}
}

export class ChangeCase {
  constructor(
    readonly context: CommandContext,
    readonly caseId: string,
    readonly build: (state: Exclude<CaseState, { status: 'none' }>) => CaseCommand,
  ) {}
}

/** Opening a case reads the person first: they must exist in the caller's reach. */
export class OpenCaseMessage {
  constructor(
    readonly context: CommandContext,
    readonly caseId: string,
    readonly personId: string,
    readonly build: (person: { registered: boolean; erased: boolean }) => CaseCommand,
  ) {}
}

/** Making a referral reads the case and the person; their state goes into the command. */
export class MakeReferralMessage {
  constructor(
    readonly context: CommandContext,
    readonly referralId: string,
    readonly caseId: string,
    readonly build: (caseState: Exclude<CaseState, { status: 'none' }>, person: PersonState) => ReferralCommand,
  ) {}
}

export class ChangeReferral {
  constructor(
    readonly context: CommandContext,
    readonly referralId: string,
    readonly build: (state: Exclude<ReferralState, { status: 'none' }>) => ReferralCommand,
  ) {}
}

export class GetPerson {
  constructor(
    readonly actor: CommandContext['actor'],
    readonly personId: string,
  ) {}
}

export class GetCase {
  constructor(
    readonly actor: CommandContext['actor'],
    readonly caseId: string,
  ) {}
}

export class GetReferral {
  constructor(
    readonly actor: CommandContext['actor'],
    readonly referralId: string,
  ) {}
}
