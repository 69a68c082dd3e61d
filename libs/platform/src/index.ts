export * from './actor';
export * from './config';
export * from './open-event-store';
export * from './process-keys';
export * from './access-log';
export * from './personal-data/personal-data';
export * from './personal-data/personal-data-keys';
