import { EventTooLargeError, InvalidEventError, InvalidExpectedVersionError } from './errors';
import { canonicalContent, contentHashOfCanonical } from './hash-chain';
import type { ExpectedVersion, NewEvent } from './port';
import { parseStreamName } from './stream-name';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;

export interface PreparedEvent {
  eventId: string;
  type: string;
  data: unknown;
  metadata: NewEvent['metadata'];
  recordedAt: string;
  contentHash: string;
}

export interface PreparedAppend {
  category: string;
  /** The expected version in the store's wire form: 'any' | 'no_stream' | 'stream_exists' | '<n>'. */
  expected: string;
  events: PreparedEvent[];
}

/**
 * Checks an append before it reaches any adapter (one set of rules for all of them) and hashes
 * every event's canonical JSON form, the form it will be read back in.
 */
export function prepareAppend(
  streamId: string,
  events: NewEvent[],
  expectedVersion: ExpectedVersion | undefined,
  limits: { categories?: ReadonlySet<string>; maxEventBytes: number },
): PreparedAppend {
  const { category } = parseStreamName(streamId, limits.categories);
  const expected = wireExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) throw new InvalidEventError('an append needs at least one event');
  if (events.length > 1000) throw new InvalidEventError('an append takes at most 1000 events');
  const ids = new Set<string>();
  const prepared = events.map((event) => {
    if (!event || typeof event.type !== 'string' || !EVENT_TYPE.test(event.type)) {
      throw new InvalidEventError(`event type ${JSON.stringify(event?.type)} is not a name`);
    }
    const metadata = event.metadata;
    if (!metadata || typeof metadata.eventId !== 'string' || !UUID.test(metadata.eventId)) {
      throw new InvalidEventError(`${event.type}: metadata.eventId must be a lower-case uuid`);
    }
    if (ids.has(metadata.eventId)) throw new InvalidEventError(`event id ${metadata.eventId} appears twice in one append`);
    ids.add(metadata.eventId);
    if (typeof metadata.recordedAt !== 'string' || !ISO_INSTANT.test(metadata.recordedAt) || Number.isNaN(Date.parse(metadata.recordedAt))) {
      throw new InvalidEventError(`${event.type}: metadata.recordedAt must be an ISO-8601 instant`);
    }
    if (!Number.isInteger(metadata.schemaVersion) || metadata.schemaVersion < 1) {
      throw new InvalidEventError(`${event.type}: metadata.schemaVersion must be a whole number ≥ 1`);
    }
    let canonical: string;
    try {
      canonical = canonicalContent({ streamId, type: event.type, data: event.data ?? null, metadata });
    } catch (error) {
      throw new InvalidEventError(`${event.type}: data is not JSON (${(error as Error).message})`);
    }
    // The canonical text is what is hashed and, key order aside, what is stored: its size is the event's.
    const bytes = Buffer.byteLength(canonical);
    if (bytes > limits.maxEventBytes) throw new EventTooLargeError(event.type, bytes, limits.maxEventBytes);
    if (canonical.includes('\\u0000')) throw new InvalidEventError(`${event.type}: NUL characters cannot be stored`);
    return {
      eventId: metadata.eventId,
      type: event.type,
      data: event.data ?? null,
      metadata,
      recordedAt: metadata.recordedAt,
      contentHash: contentHashOfCanonical(canonical),
    };
  });
  return { category, expected, events: prepared };
}

export function wireExpectedVersion(expected: ExpectedVersion | undefined): string {
  if (expected === undefined || expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected ?? 'any';
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return String(expected);
  throw new InvalidExpectedVersionError(expected);
}
