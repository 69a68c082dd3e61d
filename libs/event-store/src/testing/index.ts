export * from './events';
export * from './postgres-test-database';
export * from './contract-suite';
