export * from './cli';
export * from './progress-bar';
