export * from './decider';
export * from './errors';
export * from './enums';
export * from './streams';
export * from './events';
export * from './person';
export * from './case';
export * from './referral';
export { CLOCK_SKEW_MS } from './validation';
