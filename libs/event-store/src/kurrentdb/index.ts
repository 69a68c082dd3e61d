export { KurrentDbEventStore, type KurrentDbEventStoreOptions } from './kurrentdb-event-store';
export { RESERVED_METADATA_KEY } from './kurrentdb-mapping';
