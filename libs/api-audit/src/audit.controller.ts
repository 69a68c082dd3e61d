import { Readable } from 'node:stream';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiError, CurrentActor, notFound, Requires, type AuthenticatedActor } from '@caseline/api-platform';
import { ExportDigest, GetCaseStateAt, GetStreamEvents, SearchAccessLog, VerifyChains, VerifyDigest } from './audit.queries';

/** Largest digest accepted back for verification (about 250 bytes a stream head). */
export const DIGEST_BODY_LIMIT = 512 * 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STREAM = /^(person|case|referral)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/audit')
export class AuditController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get('streams/:streamId/events')
  @Requires('audit')
  @ApiOperation({ summary: 'Every event of a stream with data, metadata, version, position and hash' })
  events(@Param('streamId') streamId: string, @CurrentActor() actor: AuthenticatedActor) {
    if (!STREAM.test(streamId)) throw notFound('stream');
    return this.queries.execute(new GetStreamEvents(actor, streamId));
  }

  @Get('cases/:caseId/state')
  @Requires('audit')
  @ApiOperation({ summary: 'The case as it stood at an instant (asOf) or a version, replayed from its events' })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant' })
  @ApiQuery({ name: 'version', required: false, type: Number })
  stateAt(@Param('caseId') caseId: string, @Query('asOf') asOf: string | undefined, @Query('version') version: string | undefined, @CurrentActor() actor: AuthenticatedActor) {
    if (!UUID.test(caseId)) throw notFound('case');
    if ((asOf === undefined) === (version === undefined)) throw new ApiError(400, 'invalid_request', 'give exactly one of asOf or version');
    if (asOf !== undefined && (!/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(asOf) || Number.isNaN(Date.parse(asOf)))) {
      throw new ApiError(400, 'invalid_request', 'asOf must be an ISO-8601 instant');
    }
    if (version !== undefined && !/^\d{1,9}$/.test(version)) throw new ApiError(400, 'invalid_request', 'version must be a whole number');
    return this.queries.execute(new GetCaseStateAt(actor, caseId.toLowerCase(), { asOf, version: version === undefined ? undefined : Number(version) }));
  }

  @Get('access-log')
  @Requires('audit')
  @ApiOperation({ summary: 'Who read which record, when, through which endpoint (newest first)' })
  @ApiQuery({ name: 'caseId', required: false })
  @ApiQuery({ name: 'actorId', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  accessLog(
    @Query('caseId') caseId: string | undefined,
    @Query('actorId') actorId: string | undefined,
    @Query('cursor') cursor: string | undefined,
    @Query('limit') limit: string | undefined,
    @CurrentActor() actor: AuthenticatedActor,
  ) {
    if (caseId !== undefined && !UUID.test(caseId)) throw new ApiError(400, 'invalid_request', 'caseId must be a uuid');
    if (actorId !== undefined && (actorId.length < 1 || actorId.length > 200)) throw new ApiError(400, 'invalid_request', 'actorId must be 1 to 200 characters');
    if (cursor !== undefined && !/^\d{1,18}$/.test(cursor)) throw new ApiError(400, 'invalid_request', 'cursor is not one this endpoint gave');
    const size = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 200) throw new ApiError(400, 'invalid_request', 'limit must be a whole number from 1 to 200');
    return this.queries.execute(new SearchAccessLog(actor, { caseId: caseId?.toLowerCase(), actorId, limit: size, beforeId: cursor === undefined ? undefined : Number(cursor) }));
  }

  @Get('verification')
  @Requires('audit')
  @ApiOperation({
    summary: 'Walk the hash chains of one stream, or of the whole store (auditors)',
    description: 'With Accept: application/x-ndjson (whole store), answers progress lines { type: "progress", checkedEvents, totalEvents, eventsPerSecond, etaSeconds } and a last { type: "result", ok, … } line.',
  })
  @ApiQuery({ name: 'streamId', required: false })
  @ApiProduces('application/json', 'application/x-ndjson')
  async verify(@Query('streamId') streamId: string | undefined, @Headers('accept') accept: string | undefined, @CurrentActor() actor: AuthenticatedActor) {
    if (streamId !== undefined && !STREAM.test(streamId)) throw notFound('stream');
    const ndjson = streamId === undefined && /application\/x-ndjson/i.test(accept ?? '');
    const result = await this.queries.execute(new VerifyChains(actor, streamId, ndjson));
    return result instanceof Readable ? new StreamableFile(result, { type: 'application/x-ndjson; charset=utf-8' }) : result;
  }

  @Get('digest')
  @Requires('audit.store')
  @ApiOperation({ summary: 'Every stream head (streamId, version, hash), their root hash, and an Ed25519 signature by the audit key (auditors)' })
  digest(@CurrentActor() actor: AuthenticatedActor) {
    return this.queries.execute(new ExportDigest(actor));
  }

  @Post('digest/verification')
  @HttpCode(200)
  @Requires('audit.store')
  @ApiOperation({
    summary: 'Check an earlier digest: its signature, and that every head in it is still a prefix of its stream (auditors)',
    description: 'Answers { ok, signatureValid, signatureProblem?, checkedStreams, checkedEvents, problemCount, problems, firstRewrittenStream? }.',
  })
  @ApiBody({ description: 'A digest as GET /api/audit/digest answered it' })
  verifyDigest(@Body() body: unknown, @CurrentActor() actor: AuthenticatedActor) {
    return this.queries.execute(new VerifyDigest(actor, body));
  }
}
