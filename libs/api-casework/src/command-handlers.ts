import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { caseDecider, caseStream, DomainError, personDecider, personStream, referralDecider, referralStream } from '@caseline/domain';
import { CommandRunner, notFound, PersonalData, StreamStateCache, type CommandOutcome } from '@caseline/api-platform';
import { ChangeCase, ChangePerson, ChangeReferral, MakeReferralMessage, OpenCaseMessage } from './messages';
import { caseInScope, personInScope, referralInScope } from './scope';

@CommandHandler(ChangePerson)
export class ChangePersonHandler implements ICommandHandler<ChangePerson, CommandOutcome> {
  constructor(
    @Inject(CommandRunner) private readonly runner: CommandRunner,
    @Inject(PersonalData) private readonly personalData: PersonalData,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
  ) {}

  async execute(message: ChangePerson): Promise<CommandOutcome> {
    try {
      const outcome = await this.change(message);
      if (message.reach === 'any') await this.shred(message.personId);
      return outcome;
    } catch (error) {
      // An erasure interrupted after PersonErased was stored (crash, outage) completes when it is
      // asked for again: the domain answers 409 already-erased, and the key goes all the same.
      if (message.reach === 'any' && error instanceof DomainError && error.code === 'person_already_erased') await this.shred(message.personId);
      throw error;
    }
  }

  /**
   * Erasure: the PersonErased event is stored; now the key goes, and with it every decrypted copy
   * in memory, in this process at once and in the others by notice (see PersonalDataKeys).
   */
  private async shred(personId: string): Promise<void> {
    const { state } = await this.streams.load(personStream(personId), personDecider);
    if (!state.erased) return;
    await this.personalData.erase(personId);
  }

  private change({ context, personId, build, reach }: ChangePerson): Promise<CommandOutcome> {
    return this.runner.run(context, {
      streamId: personStream(personId),
      decider: personDecider,
      command: (state, stream) => {
        if (reach === 'team') personInScope(context.actor, state, stream.firstActorTeam);
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
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
  ) {}

  async execute({ context, caseId, personId, build }: OpenCaseMessage): Promise<CommandOutcome> {
    const personStreamState = await this.streams.load(personStream(personId), personDecider);
    const person = personInScope(context.actor, personStreamState.state, personStreamState.firstActorTeam);
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
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
  ) {}

  async execute({ context, referralId, caseId, build }: MakeReferralMessage): Promise<CommandOutcome> {
    const caseState = caseInScope(context.actor, (await this.streams.load(caseStream(caseId), caseDecider)).state);
    const person = (await this.streams.load(personStream(caseState.personId), personDecider)).state;
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

