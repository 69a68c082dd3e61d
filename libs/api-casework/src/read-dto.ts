import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { referralTypes } from '@caseline/domain';

// Query strings of the read-side endpoints, validated like bodies: unknown parameters are refused.

const CURSOR = /^[A-Za-z0-9_-]{1,400}$/;
const INSTANT = { strict: true, strictSeparator: true } as const;

class Page {
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' }) @IsOptional() @Matches(CURSOR, { message: 'cursor is not one this service gave out' }) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

export class CaseloadQuery extends Page {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200) workerId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200) team?: string;
  @ApiPropertyOptional({ enum: ['open', 'closed'] }) @IsOptional() @IsIn(['open', 'closed']) status?: 'open' | 'closed';
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'only cases with (true) or without (false) an overdue follow-up' })
  @IsOptional()
  @IsIn(['true', 'false'])
  overdue?: 'true' | 'false';
}

export class TimelineQuery extends Page {}

const referralStatuses = ['made', 'accepted', 'declined', 'service_started', 'closed', 'revoked'];

export class ReferralListQuery extends Page {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() caseId?: string;
  @ApiPropertyOptional({ enum: referralStatuses }) @IsOptional() @IsIn(referralStatuses) status?: string;
  @ApiPropertyOptional({ enum: referralTypes }) @IsOptional() @IsIn(referralTypes as unknown as string[]) type?: string;
  @ApiPropertyOptional({ description: 'provider name, exactly' }) @IsOptional() @IsString() @MinLength(1) @MaxLength(200) provider?: string;
}

export class OutcomesQuery {
  @ApiProperty({ description: 'ISO-8601 instant, inclusive' }) @IsISO8601(INSTANT) from!: string;
  @ApiProperty({ description: 'ISO-8601 instant, exclusive' }) @IsISO8601(INSTANT) to!: string;
  @ApiPropertyOptional({ enum: ['month', 'type', 'provider', 'team'], default: 'month' }) @IsOptional() @IsIn(['month', 'type', 'provider', 'team']) groupBy?: 'month' | 'type' | 'provider' | 'team';
}
