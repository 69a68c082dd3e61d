import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { GetCaseStateAtHandler, GetStreamEventsHandler, SearchAccessLogHandler, VerifyChainsHandler } from './audit.queries';

/** Replay and tamper evidence for auditors (and supervisors, for their own team). */
@Module({ controllers: [AuditController], providers: [GetStreamEventsHandler, GetCaseStateAtHandler, SearchAccessLogHandler, VerifyChainsHandler] })
export class AuditModule {}
