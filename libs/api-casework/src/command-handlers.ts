import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  caseDecider,
  caseStream,
  personDecider,
  personStream,
  referralDecider,
  referralStream,
  replay,
  type CaseEvent,
  type PersonEvent,
} from '@caseline/domain';
import type { EventStore } from '@caseline/event-store';
import { CommandRunner, EVENT_STORE, notFound, type CommandOutcome } from '@caseline/api-platform';
import { ChangeCase, ChangePerson, ChangeReferral, MakeReferralMessage, OpenCaseMessage } from './messages';
import { caseInScope, personInScope, referralInScope } from './scope';

@CommandHandler(ChangePerson)
export class ChangePersonHandler implements ICommandHandler<ChangePerson, CommandOutcome> {
  constructor(@Inject(CommandRunner) private readonly runner: CommandRunner) {}

  execute({ context, personId, build, reach }: ChangePerson): Promise<CommandOutcome> {
    return this.runner.run(context, {
      streamId: personStream(personId),
      decider: personDecider,
      command: (state, events) => {
        if (reach === 'team') personInScope(context.actor, state, events);
        if (reach === 'any' && !state.registered) throw notFound('person');
        return build(state);
      },
    });
  }
}

@CommandHandler(OpenCaseMessage)
export class OpenCaseHandler implements ICommandHandler<OpenCaseMessage, CommandOutcome> {
  constructor(
    @Inject(CommandRunner) private readonly runner: CommandRunner,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ context, caseId, personId, build }: OpenCaseMessage): Promise<CommandOutcome> {
    const personEvents = await this.store.readStream(personStream(personId));
    const person = personInScope(context.actor, replay(personDecider, personEvents as unknown as PersonEvent[]), personEvents);
    return this.runner.run(context, {
      streamId: caseStream(caseId),
      decider: caseDecider,
      command: () => build({ registered: person.registered, erased: person.erased }),
    });
  }
}

@CommandHandler(ChangeCase)
export class ChangeCaseHandler implements ICommandHandler<ChangeCase, CommandOutcome> {
  constructor(@Inject(CommandRunner) private readonly runner: CommandRunner) {}

  execute({ context, caseId, build }: ChangeCase): Promise<CommandOutcome> {
    return this.runner.run(context, {
      streamId: caseStream(caseId),
      decider: caseDecider,
      command: (state) => build(caseInScope(context.actor, state)),
    });
  }
}

@CommandHandler(MakeReferralMessage)
export class MakeReferralHandler implements ICommandHandler<MakeReferralMessage, CommandOutcome> {
  constructor(
    @Inject(CommandRunner) private readonly runner: CommandRunner,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ context, referralId, caseId, build }: MakeReferralMessage): Promise<CommandOutcome> {
    const caseEvents = await this.store.readStream(caseStream(caseId));
    const caseState = caseInScope(context.actor, replay(caseDecider, caseEvents as unknown as CaseEvent[]));
    const personEvents = await this.store.readStream(personStream(caseState.personId));
    const person = replay(personDecider, personEvents as unknown as PersonEvent[]);
    return this.runner.run(context, {
      streamId: referralStream(referralId),
      decider: referralDecider,
      command: () => build(caseState, person),
    });
  }
}

@CommandHandler(ChangeReferral)
export class ChangeReferralHandler implements ICommandHandler<ChangeReferral, CommandOutcome> {
  constructor(@Inject(CommandRunner) private readonly runner: CommandRunner) {}

  execute({ context, referralId, build }: ChangeReferral): Promise<CommandOutcome> {
    return this.runner.run(context, {
      streamId: referralStream(referralId),
      decider: referralDecider,
      command: (state) => build(referralInScope(context.actor, state)),
    });
  }
}

