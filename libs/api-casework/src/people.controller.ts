import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Command, mintId, Requires, CurrentActor, type AuthenticatedActor, type CommandContext, type CommandOutcome } from '@caseline/api-platform';
import { CorrectPersonBody, GrantConsentBody, ReasonBody, RegisterPersonBody } from './dto';
import { ChangePerson, GetPerson } from './messages';
import { answer, RecordIdPipe } from './respond';

@ApiTags('people')
@ApiBearerAuth()
@Controller('api/people')
export class PeopleController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Post()
  @Requires('person.register')
  @ApiOperation({ summary: 'Register a person' })
  async register(@Body() body: RegisterPersonBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const personId = mintId(context, 'person');
    const outcome = await this.run(
      new ChangePerson(context, personId, () => ({ type: 'RegisterPerson', now: context.now, data: { personId, ...body } }), 'new'),
    );
    return answer(response, outcome, { id: personId });
  }

  @Get(':personId')
  @Requires('person.read')
  @ApiOperation({ summary: 'A person, with consents for roles that may see them' })
  async get(@Param('personId', RecordIdPipe) personId: string, @CurrentActor() actor: AuthenticatedActor, @Res({ passthrough: true }) response: FastifyReply) {
    const { view, version } = await this.queries.execute(new GetPerson(actor, personId));
    response.header('ETag', `"${version}"`);
    return view;
  }

  @Post(':personId/corrections')
  @Requires('person.correct')
  @HttpCode(200)
  @ApiOperation({ summary: "Correct a person's identity details (only the fields given change)" })
  async correct(
    @Param('personId', RecordIdPipe) personId: string,
    @Body() body: CorrectPersonBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome = await this.run(
      new ChangePerson(context, personId, () => ({ type: 'CorrectPersonDetails', now: context.now, data: { personId, changes: { ...body } } })),
    );
    return answer(response, outcome, { id: personId });
  }

  @Post(':personId/consents')
  @Requires('consent.manage')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a consent to share data for referrals' })
  async grantConsent(
    @Param('personId', RecordIdPipe) personId: string,
    @Body() body: GrantConsentBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const consentId = mintId(context, 'consent');
    const outcome = await this.run(
      new ChangePerson(context, personId, () => ({
        type: 'GrantConsent',
        now: context.now,
        data: { personId, consentId, scope: body.scope, recipients: body.recipients, expiresAt: body.expiresAt ?? null },
      })),
    );
    return answer(response, outcome, { id: personId, consentId });
  }

  @Post(':personId/consents/:consentId/revocation')
  @Requires('consent.manage')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a consent' })
  async revokeConsent(
    @Param('personId', RecordIdPipe) personId: string,
    @Param('consentId', RecordIdPipe) consentId: string,
    @Body() body: ReasonBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome = await this.run(
      new ChangePerson(context, personId, () => ({ type: 'RevokeConsent', now: context.now, data: { personId, consentId, reason: body.reason } })),
    );
    return answer(response, outcome, { id: personId, consentId });
  }

  @Post(':personId/erasure')
  @Requires('person.erase')
  @HttpCode(200)
  @ApiOperation({ summary: "Erase a person's personal data (admin; reason required)" })
  async erase(
    @Param('personId', RecordIdPipe) personId: string,
    @Body() body: ReasonBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome = await this.run(
      new ChangePerson(context, personId, () => ({ type: 'ErasePerson', now: context.now, data: { personId, reason: body.reason } }), 'any'),
    );
    return answer(response, outcome, { id: personId });
  }

  private run(message: ChangePerson): Promise<CommandOutcome> {
    return this.commands.execute(message);
  }
}
