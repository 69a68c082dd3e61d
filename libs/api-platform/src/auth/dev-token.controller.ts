import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { roles } from '@caseline/platform';
import { AuthService } from './auth.service';
import { Public, RateLimitedByAddress } from './auth.guard';

export class DevTokenRequest {
  @ApiProperty({ example: 'a1b2c3' }) @IsString() @MinLength(1) @MaxLength(200) @Matches(/^[\p{L}\p{N} .,'’_@:-]+$/u) sub!: string;
  @ApiProperty({ example: 'Dana Reyes' }) @IsString() @MinLength(1) @MaxLength(200) @Matches(/^[\p{L}\p{N} .,'’_@:-]+$/u) name!: string;
  @ApiProperty({ enum: roles }) @IsIn(roles as unknown as string[]) role!: string;
  @ApiProperty({ example: 'north' }) @IsString() @Matches(/^[A-Za-z0-9_.-]{1,100}$/) team!: string;
}

/** Dev auth mode only (the module registers it only then): mints a token for trying the API. */
@ApiTags('auth')
@Controller('api/auth')
export class DevTokenController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Public()
  @RateLimitedByAddress()
  @Post('dev-token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Issue a development token (AUTH_MODE=dev only)' })
  async issue(@Body() body: DevTokenRequest): Promise<{ token: string }> {
    return { token: await this.auth.issueDevToken(body) };
  }
}
