export * from './audit.module';
export { AuditServices } from './audit.queries';
export { DIGEST_BODY_LIMIT } from './audit.controller';
