import { Module, type DynamicModule } from '@nestjs/common';
import { AuditController } from './audit.controller';
import {
  AuditServices,
  ExportDigestHandler,
  GetCaseStateAtHandler,
  GetStreamEventsHandler,
  SearchAccessLogHandler,
  VerifyChainsHandler,
  VerifyDigestHandler,
} from './audit.queries';

/** Replay and tamper evidence for auditors (and supervisors, for their own team). */
@Module({})
export class AuditModule {
  static register(services: AuditServices): DynamicModule {
    return {
      module: AuditModule,
      controllers: [AuditController],
      providers: [
        { provide: AuditServices, useValue: services },
        GetStreamEventsHandler,
        GetCaseStateAtHandler,
        SearchAccessLogHandler,
        VerifyChainsHandler,
        ExportDigestHandler,
        VerifyDigestHandler,
      ],
    };
  }
}
