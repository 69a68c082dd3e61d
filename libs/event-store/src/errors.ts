import type { ExpectedVersion } from './port';

/** Base of every error the store raises on purpose; anything else is a bug or a driver fault. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Optimistic concurrency: the stream was not at the expected version. Nothing was written. */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'wrong_expected_version';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId} is at version ${actualVersion}, expected ${String(expected)}`);
  }
}

/** An event id already stored with other content or in another stream: not a retry. */
export class DuplicateEventIdError extends EventStoreError {
  readonly code = 'duplicate_event_id';
  constructor(readonly eventId: string) {
    super(`event id ${eventId} is already stored with other content`);
  }
}

export class EventTooLargeError extends EventStoreError {
  readonly code = 'event_too_large';
  constructor(
    readonly eventType: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${eventType} is ${bytes} bytes, over the ${limit}-byte limit`);
  }
}

export class InvalidStreamNameError extends EventStoreError {
  readonly code = 'invalid_stream_name';
  constructor(readonly streamId: string) {
    super(`"${streamId.slice(0, 80)}" is not a stream name of the form <category>-<uuid>`);
  }
}

export class InvalidExpectedVersionError extends EventStoreError {
  readonly code = 'invalid_expected_version';
  constructor(readonly expected: unknown) {
    super(`expected version ${JSON.stringify(expected)} is not no_stream, stream_exists, any or a whole number ≥ 0`);
  }
}

export class InvalidEventError extends EventStoreError {
  readonly code = 'invalid_event';
  constructor(detail: string) {
    super(detail);
  }
}

export class InvalidCheckpointError extends EventStoreError {
  readonly code = 'invalid_checkpoint';
  constructor(readonly checkpoint: string) {
    super(`"${checkpoint.slice(0, 80)}" is not a checkpoint of this store`);
  }
}

/** The database cannot be reached or went away mid-operation; the operation did not commit. */
export class StoreUnavailableError extends EventStoreError {
  readonly code = 'store_unavailable';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
