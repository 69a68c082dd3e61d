// The process-independent parts (configuration, actor, personal data, access log, store opening)
// live in @caseline/platform, shared with the CLI; re-exported here for the HTTP libraries.
export * from '@caseline/platform';
export * from './auth/auth.guard';
export * from './auth/auth.service';
export * from './command-context';
export * from './command-runner';
export * from './consistency';
export * from './errors';
export * from './platform.module';
export * from './policy';
export * from './problem.filter';
export * from './rate-limit';
export * from './tokens';
export * from './stream-state-cache';
export * from './read-side';
