import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { ReferralCommand } from '@caseline/domain';
import { Command, CurrentActor, Requires, type AuthenticatedActor, type CommandContext, type CommandOutcome } from '@caseline/api-platform';
import { CloseReferralBody, DeclineReferralBody, OptionalNoteBody, ReasonBody, ServiceStartBody } from './dto';
import { ChangeReferral, GetReferral } from './messages';
import { ReferralListQuery } from './read-dto';
import { ListReferrals } from './read-handlers';
import { CONSISTENCY_HEADER } from './read-side.controller';
import { answer, RecordIdPipe } from './respond';

@ApiTags('referrals')
@ApiBearerAuth()
@Controller('api/referrals')
export class ReferralsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Get()
  @Requires('referral.read')
  @ApiOperation({ summary: 'Referrals, newest first: status, provider, type, time to first response, SLA breach' })
  @ApiHeader(CONSISTENCY_HEADER)
  list(@Query() query: ReferralListQuery, @Headers('x-consistency-token') token: string | undefined, @CurrentActor() actor: AuthenticatedActor) {
    return this.queries.execute(new ListReferrals(actor, query, token));
  }

  @Get(':referralId')
  @Requires('referral.read')
  @ApiOperation({ summary: 'A referral and where it stands' })
  async get(@Param('referralId', RecordIdPipe) referralId: string, @CurrentActor() actor: AuthenticatedActor, @Res({ passthrough: true }) response: FastifyReply) {
    const { view, version } = await this.queries.execute(new GetReferral(actor, referralId));
    response.header('ETag', `"${version}"`);
    return view;
  }

  @Post(':referralId/acceptance')
  @Requires('referral.lifecycle')
  @HttpCode(200)
  @ApiOperation({ summary: 'The provider accepted the referral' })
  accept(@Param('referralId', RecordIdPipe) referralId: string, @Body() body: OptionalNoteBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, referralId, { type: 'AcceptReferral', now: context.now, data: { referralId, note: body.note ?? null } });
  }

  @Post(':referralId/decline')
  @Requires('referral.lifecycle')
  @HttpCode(200)
  @ApiOperation({ summary: 'The provider or the client declined the referral' })
  decline(@Param('referralId', RecordIdPipe) referralId: string, @Body() body: DeclineReferralBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, referralId, { type: 'DeclineReferral', now: context.now, data: { referralId, by: body.by, reason: body.reason } });
  }

  @Post(':referralId/service-start')
  @Requires('referral.lifecycle')
  @HttpCode(200)
  @ApiOperation({ summary: 'The provider started serving the person' })
  startService(@Param('referralId', RecordIdPipe) referralId: string, @Body() body: ServiceStartBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, referralId, {
      type: 'StartReferralService',
      now: context.now,
      data: { referralId, startedAt: body.startedAt, note: body.note ?? null },
    });
  }

  @Post(':referralId/closure')
  @Requires('referral.lifecycle')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the loop with an outcome' })
  close(@Param('referralId', RecordIdPipe) referralId: string, @Body() body: CloseReferralBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, referralId, { type: 'CloseReferral', now: context.now, data: { referralId, outcome: body.outcome, note: body.note ?? null } });
  }

  @Post(':referralId/revocation')
  @Requires('referral.lifecycle')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw a referral the provider has not answered' })
  revoke(@Param('referralId', RecordIdPipe) referralId: string, @Body() body: ReasonBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, referralId, { type: 'RevokeReferral', now: context.now, data: { referralId, reason: body.reason } });
  }

  private async change(context: CommandContext, response: FastifyReply, referralId: string, command: ReferralCommand) {
    const outcome: CommandOutcome = await this.commands.execute(new ChangeReferral(context, referralId, () => command));
    return answer(response, outcome, { id: referralId });
  }
}
