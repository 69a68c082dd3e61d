import { Controller, Get, Headers, Inject, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentActor, Requires, type AuthenticatedActor } from '@caseline/api-platform';
import { CaseloadQuery, OutcomesQuery } from './read-dto';
import { GetCaseload, GetOutcomes } from './read-handlers';

export const CONSISTENCY_HEADER = {
  name: 'X-Consistency-Token',
  required: false,
  description: 'from a command: answer only once the read models include that change (bounded wait, then 503)',
};

@ApiTags('read models')
@ApiBearerAuth()
@Controller('api')
export class ReadSideController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get('caseload')
  @Requires('caseload')
  @ApiOperation({ summary: 'Cases at a glance: overdue follow-ups, open referrals, last contact (your team; auditors any)' })
  @ApiHeader(CONSISTENCY_HEADER)
  caseload(@Query() query: CaseloadQuery, @Headers('x-consistency-token') token: string | undefined, @CurrentActor() actor: AuthenticatedActor) {
    return this.queries.execute(new GetCaseload(actor, query, token));
  }

  @Get('outcomes')
  @Requires('outcomes')
  @ApiOperation({ summary: 'Outcome metrics (SPEC §6) per month, referral type, provider or team, each with numerator and denominator' })
  @ApiHeader(CONSISTENCY_HEADER)
  outcomes(@Query() query: OutcomesQuery, @Headers('x-consistency-token') token: string | undefined, @CurrentActor() actor: AuthenticatedActor) {
    return this.queries.execute(new GetOutcomes(actor, query, token));
  }
}
