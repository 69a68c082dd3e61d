import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsObject,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  caseDispositions,
  caseReasons,
  declinedByValues,
  noteVisibilities,
  referralOutcomes,
  referralTypes,
  referralUrgencies,
  riskLevels,
  welfareCheckOutcomes,
} from '@caseline/domain';

// Request bodies, validated at the edge: unknown properties are refused (the pipe forbids them),
// enumerations and ISO-8601 instants are checked, every text is bounded.

const INSTANT = { strict: true, strictSeparator: true } as const;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const text = (max: number) => [IsString(), MinLength(1), MaxLength(max)];
const Text = (max: number): PropertyDecorator => (target, key) => text(max).forEach((decorate) => decorate(target, key));
const list = (values: readonly string[]) => values as unknown as string[];

export class RegisterPersonBody {
  @ApiProperty({ maxLength: 100 }) @Text(100) givenName!: string;
  @ApiProperty({ maxLength: 100 }) @Text(100) familyName!: string;
  @ApiPropertyOptional({ example: '1980-04-12' }) @IsOptional() @IsString() @Matches(DATE_ONLY, { message: 'dateOfBirth must be YYYY-MM-DD' }) dateOfBirth?: string;
  @ApiPropertyOptional({ example: '+1 555 0100' }) @IsOptional() @IsString() @Matches(/^\+?[0-9 ()-]{3,30}$/, { message: 'phone must be digits, spaces, ( ) - and an optional leading +' }) phone?: string;
}

/** Only the fields given change; null clears date of birth or phone. */
export class CorrectPersonBody {
  @ApiPropertyOptional({ maxLength: 100 }) @IsOptional() @Text(100) givenName?: string;
  @ApiPropertyOptional({ maxLength: 100 }) @IsOptional() @Text(100) familyName?: string;
  @ApiPropertyOptional({ example: '1980-04-12', nullable: true })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  @Matches(DATE_ONLY, { message: 'dateOfBirth must be YYYY-MM-DD' })
  dateOfBirth?: string | null;
  @ApiPropertyOptional({ example: '+1 555 0100', nullable: true })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  @Matches(/^\+?[0-9 ()-]{3,30}$/, { message: 'phone must be digits, spaces, ( ) - and an optional leading +' })
  phone?: string | null;
}

export class GrantConsentBody {
  @ApiProperty({ enum: ['referral-sharing'] }) @IsIn(['referral-sharing']) scope!: 'referral-sharing';
  @ApiProperty({ type: [String], example: ['any'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(200, { each: true })
  recipients!: string[];
  @ApiPropertyOptional({ format: 'date-time' }) @IsOptional() @IsISO8601(INSTANT) expiresAt?: string;
}

export class ReasonBody {
  @ApiProperty({ maxLength: 1000 }) @Text(1000) reason!: string;
}

export class OpenCaseBody {
  @ApiProperty({ format: 'uuid' }) @IsUUID() personId!: string;
  @ApiProperty({ enum: caseReasons }) @IsIn(list(caseReasons)) reason!: (typeof caseReasons)[number];
  @ApiProperty({ enum: riskLevels }) @IsIn(list(riskLevels)) risk!: (typeof riskLevels)[number];
  @ApiProperty({ maxLength: 2000 }) @Text(2000) summary!: string;
  @ApiPropertyOptional({ maxLength: 100 }) @IsOptional() @Text(100) cadIncidentId?: string;
}

export class AssignCaseBody {
  @ApiProperty({ maxLength: 200 }) @Text(200) workerId!: string;
}

export class ChangeRiskBody {
  @ApiProperty({ enum: riskLevels }) @IsIn(list(riskLevels)) risk!: (typeof riskLevels)[number];
  @ApiProperty({ maxLength: 1000 }) @Text(1000) reason!: string;
}

export class WelfareCheckBody {
  @ApiProperty({ format: 'date-time' }) @IsISO8601(INSTANT) performedAt!: string;
  @ApiProperty({ maxLength: 500 }) @Text(500) location!: string;
  @ApiProperty({ enum: welfareCheckOutcomes }) @IsIn(list(welfareCheckOutcomes)) outcome!: (typeof welfareCheckOutcomes)[number];
  @ApiProperty({ maxLength: 10000 }) @Text(10000) observations!: string;
}

export class NoteBody {
  @ApiProperty({ maxLength: 10000 }) @Text(10000) body!: string;
  @ApiProperty({ enum: noteVisibilities }) @IsIn(list(noteVisibilities)) visibility!: (typeof noteVisibilities)[number];
}

export class FollowUpBody {
  @ApiProperty({ format: 'date-time' }) @IsISO8601(INSTANT) dueAt!: string;
  @ApiProperty({ maxLength: 200 }) @Text(200) assigneeId!: string;
  @ApiProperty({ maxLength: 1000 }) @Text(1000) purpose!: string;
}

export class CompleteFollowUpBody {
  @ApiProperty({ maxLength: 1000 }) @Text(1000) outcome!: string;
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) note?: string;
}

export class CloseCaseBody {
  @ApiProperty({ enum: caseDispositions }) @IsIn(list(caseDispositions)) disposition!: (typeof caseDispositions)[number];
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) note?: string;
}

export class ProviderBody {
  @ApiProperty({ maxLength: 200 }) @Text(200) name!: string;
}

export class ConsentOverrideBody {
  @ApiProperty({ maxLength: 1000 }) @Text(1000) reason!: string;
}

export class MakeReferralBody {
  @ApiProperty({ enum: referralTypes }) @IsIn(list(referralTypes)) type!: (typeof referralTypes)[number];
  @ApiProperty({ type: ProviderBody }) @IsDefined() @IsObject() @ValidateNested() @Type(() => ProviderBody) provider!: ProviderBody;
  @ApiProperty({ enum: referralUrgencies }) @IsIn(list(referralUrgencies)) urgency!: (typeof referralUrgencies)[number];
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) notes?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() consentId?: string;
  @ApiPropertyOptional({ type: ConsentOverrideBody }) @IsOptional() @IsObject() @ValidateNested() @Type(() => ConsentOverrideBody) consentOverride?: ConsentOverrideBody;
}

export class OptionalNoteBody {
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) note?: string;
}

export class DeclineReferralBody {
  @ApiProperty({ enum: declinedByValues }) @IsIn(list(declinedByValues)) by!: (typeof declinedByValues)[number];
  @ApiProperty({ maxLength: 1000 }) @Text(1000) reason!: string;
}

export class ServiceStartBody {
  @ApiProperty({ format: 'date-time' }) @IsISO8601(INSTANT) startedAt!: string;
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) note?: string;
}

export class CloseReferralBody {
  @ApiProperty({ enum: referralOutcomes }) @IsIn(list(referralOutcomes)) outcome!: (typeof referralOutcomes)[number];
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @Text(5000) note?: string;
}
