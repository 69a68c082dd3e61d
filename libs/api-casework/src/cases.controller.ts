import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { CaseCommand, CaseState } from '@caseline/domain';
import { Command, CurrentActor, mintId, Requires, type AuthenticatedActor, type CommandContext, type CommandOutcome } from '@caseline/api-platform';
import {
  AssignCaseBody,
  ChangeRiskBody,
  CloseCaseBody,
  CompleteFollowUpBody,
  FollowUpBody,
  MakeReferralBody,
  NoteBody,
  OpenCaseBody,
  ReasonBody,
  WelfareCheckBody,
} from './dto';
import { ChangeCase, GetCase, MakeReferralMessage, OpenCaseMessage } from './messages';
import { TimelineQuery } from './read-dto';
import { GetTimeline } from './read-handlers';
import { CONSISTENCY_HEADER } from './read-side.controller';
import { answer, RecordIdPipe } from './respond';
import { requireCapability } from './scope';

type OpenCaseState = Exclude<CaseState, { status: 'none' }>;

@ApiTags('cases')
@ApiBearerAuth()
@Controller('api/cases')
export class CasesController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Post()
  @Requires('case.open')
  @ApiOperation({ summary: 'Open a case for a registered person; the case belongs to your team' })
  async open(@Body() body: OpenCaseBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const caseId = mintId(context, 'case');
    const outcome: CommandOutcome = await this.commands.execute(
      new OpenCaseMessage(context, caseId, body.personId.toLowerCase(), (person) => ({
        type: 'OpenCase',
        now: context.now,
        data: {
          caseId,
          personId: body.personId.toLowerCase(),
          team: context.actor.team,
          reason: body.reason,
          risk: body.risk,
          summary: body.summary,
          cadIncidentId: body.cadIncidentId ?? null,
          person,
        },
      })),
    );
    return answer(response, outcome, { id: caseId });
  }

  @Get(':caseId')
  @Requires('case.read')
  @ApiOperation({ summary: 'The case card' })
  async get(@Param('caseId', RecordIdPipe) caseId: string, @CurrentActor() actor: AuthenticatedActor, @Res({ passthrough: true }) response: FastifyReply) {
    const { view, version } = await this.queries.execute(new GetCase(actor, caseId));
    response.header('ETag', `"${version}"`);
    return view;
  }

  @Get(':caseId/timeline')
  @Requires('case.read')
  @ApiOperation({ summary: "The case's story, oldest first: one entry per event (officers: no confidential notes, no referral details)" })
  @ApiHeader(CONSISTENCY_HEADER)
  timeline(
    @Param('caseId', RecordIdPipe) caseId: string,
    @Query() query: TimelineQuery,
    @Headers('x-consistency-token') token: string | undefined,
    @CurrentActor() actor: AuthenticatedActor,
  ) {
    return this.queries.execute(new GetTimeline(actor, caseId, query, token));
  }

  @Post(':caseId/assignment')
  @Requires('case.assign')
  @HttpCode(200)
  @ApiOperation({ summary: 'Assign the case to a worker (supervisors)' })
  assign(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: AssignCaseBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, caseId, () => ({ type: 'AssignCase', now: context.now, data: { caseId, workerId: body.workerId } }));
  }

  @Post(':caseId/risk')
  @Requires('case.risk')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change the risk level, with a reason' })
  changeRisk(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: ChangeRiskBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, caseId, () => ({ type: 'ChangeRisk', now: context.now, data: { caseId, risk: body.risk, reason: body.reason } }));
  }

  @Post(':caseId/welfare-checks')
  @Requires('case.welfare_check')
  @ApiOperation({ summary: 'Record a welfare check' })
  recordWelfareCheck(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: WelfareCheckBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const welfareCheckId = mintId(context, 'welfareCheck');
    return this.change(context, response, caseId, () => ({ type: 'RecordWelfareCheck', now: context.now, data: { caseId, welfareCheckId, ...body } }), { welfareCheckId });
  }

  @Post(':caseId/notes')
  @Requires('case.note.team')
  @ApiOperation({ summary: 'Add a note (team-visible, or confidential for social workers and supervisors)' })
  addNote(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: NoteBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    if (body.visibility === 'confidential') requireCapability(context.actor, 'case.note.confidential.write');
    const noteId = mintId(context, 'note');
    return this.change(context, response, caseId, () => ({ type: 'AddNote', now: context.now, data: { caseId, noteId, body: body.body, visibility: body.visibility } }), { noteId });
  }

  @Post(':caseId/follow-ups')
  @Requires('case.follow_up')
  @ApiOperation({ summary: 'Schedule a follow-up' })
  scheduleFollowUp(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: FollowUpBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const followUpId = mintId(context, 'followUp');
    return this.change(context, response, caseId, () => ({ type: 'ScheduleFollowUp', now: context.now, data: { caseId, followUpId, ...body } }), { followUpId });
  }

  @Post(':caseId/follow-ups/:followUpId/completion')
  @Requires('case.follow_up')
  @HttpCode(200)
  @ApiOperation({ summary: 'Complete a follow-up' })
  completeFollowUp(
    @Param('caseId', RecordIdPipe) caseId: string,
    @Param('followUpId', RecordIdPipe) followUpId: string,
    @Body() body: CompleteFollowUpBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    return this.change(
      context,
      response,
      caseId,
      () => ({ type: 'CompleteFollowUp', now: context.now, data: { caseId, followUpId, outcome: body.outcome, note: body.note ?? null } }),
      { followUpId },
    );
  }

  @Post(':caseId/follow-ups/:followUpId/cancellation')
  @Requires('case.follow_up')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a follow-up, with a reason' })
  cancelFollowUp(
    @Param('caseId', RecordIdPipe) caseId: string,
    @Param('followUpId', RecordIdPipe) followUpId: string,
    @Body() body: ReasonBody,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    return this.change(context, response, caseId, () => ({ type: 'CancelFollowUp', now: context.now, data: { caseId, followUpId, reason: body.reason } }), { followUpId });
  }

  @Post(':caseId/closure')
  @Requires('case.close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the case with a disposition (cancels its scheduled follow-ups)' })
  close(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: CloseCaseBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, caseId, () => ({ type: 'CloseCase', now: context.now, data: { caseId, disposition: body.disposition, note: body.note ?? null } }));
  }

  @Post(':caseId/reopening')
  @Requires('case.reopen')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reopen a closed case, with a reason' })
  reopen(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: ReasonBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    return this.change(context, response, caseId, () => ({ type: 'ReopenCase', now: context.now, data: { caseId, reason: body.reason } }));
  }

  @Post(':caseId/referrals')
  @Requires('referral.make')
  @ApiOperation({ summary: 'Refer the person to a provider (needs a covering consent, or a supervisor override with a reason)' })
  async makeReferral(@Param('caseId', RecordIdPipe) caseId: string, @Body() body: MakeReferralBody, @Command() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    if (body.consentOverride) requireCapability(context.actor, 'referral.consent_override');
    const referralId = mintId(context, 'referral');
    const outcome: CommandOutcome = await this.commands.execute(
      new MakeReferralMessage(context, referralId, caseId, (caseState, person) => ({
        type: 'MakeReferral',
        now: context.now,
        data: {
          referralId,
          caseId,
          type: body.type,
          provider: { name: body.provider.name },
          urgency: body.urgency,
          notes: body.notes ?? null,
          consentId: body.consentId?.toLowerCase() ?? null,
          consentOverride: body.consentOverride ? { reason: body.consentOverride.reason } : null,
          caseState: { status: caseState.status, personId: caseState.personId, team: caseState.team },
          person,
        },
      })),
    );
    return answer(response, outcome, { id: referralId, referralId, caseId });
  }

  private async change<Extra extends object>(
    context: CommandContext,
    response: FastifyReply,
    caseId: string,
    build: (state: OpenCaseState) => CaseCommand,
    extra?: Extra,
  ) {
    const outcome: CommandOutcome = await this.commands.execute(new ChangeCase(context, caseId, build));
    return answer(response, outcome, { id: caseId, ...(extra ?? {}) });
  }
}
