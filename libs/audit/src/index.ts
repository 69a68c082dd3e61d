export * from './signed-digest';
export * from './case-replay';
export * from './case-history';
export * from './progress';
export * from './progress-bar';
