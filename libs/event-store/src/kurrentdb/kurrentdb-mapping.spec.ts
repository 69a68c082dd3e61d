import { randomUUID } from 'node:crypto';
import {
  DeadlineExceededError,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError as ClientWrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { prepareAppend } from '../append-validation';
import { InvalidCheckpointError, InvalidEventError, StoreUnavailableError } from '../errors';
import { GENESIS_HASH, linkHash, verifyChain } from '../hash-chain';
import type { NewEvent } from '../port';
import { testEvent, testStream } from '../testing/events';
import {
  RESERVED_METADATA_KEY,
  classifyPriorAppend,
  comparePositions,
  decodeEvent,
  decodeForVerification,
  expectationHolds,
  formatCheckpoint,
  fromStoredMetadata,
  isStreamNotFound,
  isUnavailable,
  parseCheckpoint,
  priorAppendSearch,
  redactCredentials,
  revisionOfVersion,
  streamStateAt,
  toRecorded,
  toStoredMetadata,
  translateError,
  versionOfRevision,
  versionOfStreamState,
  wrongExpectedVersionOf,
  type DecodedEvent,
  type RawEvent,
} from './kurrentdb-mapping';

/** Stores events the way the adapter does, as the client would read them back. */
function storeAsKurrentDb(streamId: string, events: NewEvent[], options: { fromVersion?: number; previousHash?: string; appendId?: string } = {}): RawEvent[] {
  const prepared = prepareAppend(streamId, events, 'any', { maxEventBytes: 1 << 20 });
  let previousHash = options.previousHash ?? GENESIS_HASH;
  const appendId = options.appendId ?? randomUUID();
  const fromVersion = options.fromVersion ?? 1;
  return prepared.events.map((event, index) => {
    const hash = linkHash(previousHash, event.contentHash);
    const position = BigInt(1000 * (fromVersion + index));
    const raw: RawEvent = {
      streamId,
      id: event.eventId,
      revision: revisionOfVersion(fromVersion + index),
      type: event.type,
      isJson: true,
      data: event.data,
      metadata: JSON.parse(JSON.stringify(toStoredMetadata(event.metadata, { previousHash, hash, appendId }))),
      position: { commit: position, prepare: position },
    };
    previousHash = hash;
    return raw;
  });
}

const decodeAll = (raws: RawEvent[]) => raws.map((raw) => decodeEvent(raw) as DecodedEvent);

describe('KurrentDB mapping', () => {
  describe('versions', () => {
    it('maps revision r to version r + 1 and back', () => {
      expect(versionOfRevision(0n)).toBe(1);
      expect(versionOfRevision(41n)).toBe(42);
      expect(revisionOfVersion(1)).toBe(0n);
      expect(revisionOfVersion(42)).toBe(41n);
      expect(() => revisionOfVersion(0)).toThrow(RangeError);
      expect(() => revisionOfVersion(1.5)).toThrow(RangeError);
    });

    it('appends with the revision of the head just read, or no_stream for an empty stream', () => {
      expect(streamStateAt(0)).toBe('no_stream');
      expect(streamStateAt(1)).toBe(0n);
      expect(streamStateAt(7)).toBe(6n);
    });

    it('reads the actual version out of a conflict', () => {
      expect(versionOfStreamState('no_stream')).toBe(0);
      expect(versionOfStreamState(undefined)).toBe(0);
      expect(versionOfStreamState(3n)).toBe(4);
      expect(versionOfStreamState(-5n)).toBe(0);
    });

    it.each([
      ['any', 0, true],
      ['any', 5, true],
      ['no_stream', 0, true],
      ['no_stream', 1, false],
      ['stream_exists', 0, false],
      ['stream_exists', 2, true],
      [0, 0, true],
      [0, 1, false],
      [3, 3, true],
      [3, 4, false],
    ] as const)('expected %p holds at version %p: %p', (expected, version, holds) => {
      expect(expectationHolds(expected, version)).toBe(holds);
    });

    it('knows where an earlier attempt of the same append would be', () => {
      expect(priorAppendSearch(2, 0)).toEqual({ kind: 'none' });
      expect(priorAppendSearch(2, 2)).toEqual({ kind: 'none' });
      expect(priorAppendSearch(2, 5)).toEqual({ kind: 'slot', fromVersion: 3 });
      expect(priorAppendSearch('no_stream', 4)).toEqual({ kind: 'slot', fromVersion: 1 });
      expect(priorAppendSearch(0, 1)).toEqual({ kind: 'slot', fromVersion: 1 });
      expect(priorAppendSearch('any', 4)).toEqual({ kind: 'scan' });
      expect(priorAppendSearch('stream_exists', 4)).toEqual({ kind: 'scan' });
      expect(priorAppendSearch('any', 0)).toEqual({ kind: 'none' });
    });
  });

  describe('checkpoints', () => {
    it('formats and parses "<commit>:<prepare>"', () => {
      const position = { commit: 18446744073709551615n, prepare: 12n };
      expect(formatCheckpoint(position)).toBe('18446744073709551615:12');
      expect(parseCheckpoint(formatCheckpoint(position))).toEqual(position);
    });

    it.each(['', '12', '1:2:3', 'a:1', '-1:2', '18446744073709551616:0', ' 1:2'])('refuses %p', (checkpoint) => {
      expect(() => parseCheckpoint(checkpoint)).toThrow(InvalidCheckpointError);
    });

    it('orders positions by commit, then prepare', () => {
      expect(comparePositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 0n })).toBeLessThan(0);
      expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 1n })).toBeGreaterThan(0);
      expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 3n })).toBe(0);
    });
  });

  describe('metadata', () => {
    it('keeps the links beside the caller metadata and gives the caller metadata back unchanged', () => {
      const event = testEvent('NoteAdded', { body: 'x' }, { idempotencyKey: 'k-1' });
      const links = { previousHash: GENESIS_HASH, hash: 'a'.repeat(64), appendId: randomUUID() };
      const stored = JSON.parse(JSON.stringify(toStoredMetadata(event.metadata, links)));
      expect(stored[RESERVED_METADATA_KEY]).toEqual(links);
      expect(fromStoredMetadata(stored)).toEqual({ metadata: event.metadata, links });
    });

    it('finds no links in metadata another writer stored', () => {
      expect(fromStoredMetadata(undefined)).toBeUndefined();
      expect(fromStoredMetadata({ eventId: randomUUID() })).toBeUndefined();
      expect(fromStoredMetadata({ [RESERVED_METADATA_KEY]: { previousHash: 'x', hash: 'y', appendId: 'z' } })).toBeUndefined();
      expect(fromStoredMetadata(new Uint8Array([1, 2]))).toBeUndefined();
    });

    it('decodes stored events with 1-based versions, $all positions and a hash that verifies', () => {
      const streamId = testStream();
      const events = [testEvent('CaseOpened', { n: 1 }), testEvent('NoteAdded', { n: 2 })];
      const decoded = decodeAll(storeAsKurrentDb(streamId, events));
      expect(decoded.map((event) => [event.version, event.position, event.checkpoint])).toEqual([
        [1, 1000n, '1000:1000'],
        [2, 2000n, '2000:2000'],
      ]);
      expect(toRecorded(decoded[1]).metadata).toEqual(events[1].metadata);
      expect(toRecorded(decoded[1])).not.toHaveProperty('previousHash');
      // The chain covers the caller's metadata, not the reserved key: it verifies as in PostgreSQL.
      expect(verifyChain(decoded, { version: 2, hash: decoded[1].hash })).toEqual({ ok: true, checkedEvents: 2 });
    });

    it('skips system events and events without links', () => {
      const [raw] = storeAsKurrentDb(testStream(), [testEvent('A', {})]);
      expect(decodeEvent({ ...raw, streamId: '$ce-case' })).toBeUndefined();
      expect(decodeEvent({ ...raw, type: '$metadata' })).toBeUndefined();
      expect(decodeEvent({ ...raw, isJson: false })).toBeUndefined();
      expect(decodeEvent({ ...raw, metadata: { eventId: raw.id } })).toBeUndefined();
      expect(() => decodeEvent({ ...raw, position: undefined })).toThrow(/position/);
    });

    it('hands verification a foreign event with empty links, so the chain breaks there', () => {
      const streamId = testStream();
      const raws = storeAsKurrentDb(streamId, [testEvent('A', {}), testEvent('B', {}), testEvent('C', {})]);
      raws[1] = { ...raws[1], metadata: { note: 'written by something else' } };
      const stored = raws.map(decodeForVerification);
      expect(stored[1]).toMatchObject({ version: 2, hash: '', previousHash: '' });
      expect(verifyChain(stored)).toMatchObject({ ok: false, firstBadVersion: 2 });
    });
  });

  describe('retries of an append', () => {
    const streamId = testStream();
    const batch = [testEvent('A', { n: 1 }), testEvent('B', { n: 2 })];
    const prepared = prepareAppend(streamId, batch, 'any', { maxEventBytes: 1 << 20 }).events;
    const appendId = randomUUID();
    const stored = decodeAll(storeAsKurrentDb(streamId, batch, { appendId }));

    it('answers a retry with the stored batch', () => {
      const prior = classifyPriorAppend(stored, prepared);
      expect(prior).toMatchObject({ kind: 'same', last: { version: 2, appendId } });
    });

    it('finds nothing where other events stand', () => {
      const others = decodeAll(storeAsKurrentDb(streamId, [testEvent('X', {}), testEvent('Y', {})]));
      expect(classifyPriorAppend(others, prepared)).toEqual({ kind: 'absent' });
      expect(classifyPriorAppend([], prepared)).toEqual({ kind: 'absent' });
    });

    it('calls a reused id with other content, another order or a partial batch a duplicate', () => {
      const altered = prepareAppend(streamId, [{ ...batch[0], data: { n: 99 } }, batch[1]], 'any', { maxEventBytes: 1 << 20 }).events;
      expect(classifyPriorAppend(stored, altered)).toEqual({ kind: 'different' });
      expect(classifyPriorAppend([stored[1], stored[0]], prepared)).toEqual({ kind: 'different' });
      expect(classifyPriorAppend(stored.slice(0, 1), prepared)).toEqual({ kind: 'different' });
      const longer = prepareAppend(streamId, [...batch, testEvent('C', {})], 'any', { maxEventBytes: 1 << 20 }).events;
      expect(classifyPriorAppend(stored, longer)).toEqual({ kind: 'different' });
    });
  });

  describe('errors', () => {
    it('recognises an unreachable server in the forms the client reports it', () => {
      expect(isUnavailable(new UnavailableError(undefined, 'down'))).toBe(true);
      expect(isUnavailable(new DeadlineExceededError(undefined, 'slow'))).toBe(true);
      expect(isUnavailable(new UnknownError(undefined, 'transport error: tcp connect error: Connection refused'))).toBe(true);
      expect(isUnavailable(new Error('Failed to discover after 10 attempts.'))).toBe(true);
      expect(isUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
      expect(isUnavailable(new StoreUnavailableError('closed'))).toBe(true);
    });

    it('does not mistake a rejected request for an outage', () => {
      expect(isUnavailable(new StreamNotFoundError(undefined, 'case-1'))).toBe(false);
      expect(isUnavailable(new ClientWrongExpectedVersionError(undefined, { streamName: 's', expected: 1n, current: 3n }))).toBe(false);
      expect(isUnavailable(new UnknownError(undefined, 'bad request'))).toBe(false);
      expect(isUnavailable(new InvalidEventError('bad'))).toBe(false);
      expect(isUnavailable(new TypeError('x is undefined'))).toBe(false);
      expect(isUnavailable(undefined)).toBe(false);
    });

    it('turns an outage into StoreUnavailableError and leaves other errors alone', () => {
      const outage = new UnavailableError(undefined, 'down');
      const translated = translateError(outage);
      expect(translated).toBeInstanceOf(StoreUnavailableError);
      expect((translated as StoreUnavailableError).cause).toBe(outage);
      const notFound = new StreamNotFoundError(undefined, 'case-1');
      expect(translateError(notFound)).toBe(notFound);
      expect(isStreamNotFound(notFound)).toBe(true);
    });

    it('reads the actual state out of the client conflict error', () => {
      const conflict = new ClientWrongExpectedVersionError(undefined, { streamName: 's', expected: 1n, current: 3n });
      expect(versionOfStreamState(wrongExpectedVersionOf(conflict)?.actualState)).toBe(4);
      expect(wrongExpectedVersionOf(new UnavailableError(undefined, 'down'))).toBeUndefined();
    });

    it('keeps credentials out of messages', () => {
      expect(redactCredentials('bad option at kurrentdb://admin:changeit@db:2113?tls=x')).toBe('bad option at kurrentdb://***@db:2113?tls=x');
      expect(redactCredentials('kurrentdb://db:2113')).toBe('kurrentdb://db:2113');
    });
  });
});
