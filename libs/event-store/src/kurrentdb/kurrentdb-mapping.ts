import type { AppendStreamState, CurrentStreamState, Position } from '@kurrent/kurrentdb-client';
import type { PreparedEvent } from '../append-validation';
import { EventStoreError, InvalidCheckpointError, StoreUnavailableError } from '../errors';
import { linkHash } from '../hash-chain';
import type { EventMetadata, ExpectedVersion, RecordedEvent, StoredEvent } from '../port';

/**
 * The pure half of the KurrentDB adapter: how the port's versions, checkpoints, metadata and
 * errors map onto KurrentDB's. Nothing here talks to a server, so all of it is unit-tested.
 */

/**
 * The metadata key under which the adapter keeps its own facts about a stored event: the hash
 * chain links and the id of the append call that wrote it. The hash covers the caller's metadata
 * only, never this key, so a chain verifies the same here as in PostgreSQL.
 */
export const RESERVED_METADATA_KEY = '$caseline';

/** What the adapter stores beside the caller's metadata. */
export interface ChainLinks {
  previousHash: string;
  hash: string;
  /**
   * Random per `append` call. KurrentDB answers a second write of the same event ids with
   * success without writing anything; this tells our own write from one that was already there.
   */
  appendId: string;
}

// ---- versions ---------------------------------------------------------------------------------

/** KurrentDB numbers a stream's events from revision 0; the port numbers versions from 1. */
export function versionOfRevision(revision: bigint): number {
  return Number(revision) + 1;
}

export function revisionOfVersion(version: number): bigint {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`version ${version} has no revision`);
  return BigInt(version - 1);
}

/** The stream state an append sends, given the version the stream was just read at. */
export function streamStateAt(version: number): AppendStreamState {
  return version === 0 ? 'no_stream' : revisionOfVersion(version);
}

/** The version a WrongExpectedVersion error reports (`no_stream`, or a revision; deleted: negative). */
export function versionOfStreamState(state: CurrentStreamState | undefined): number {
  return typeof state === 'bigint' && state >= 0n ? versionOfRevision(state) : 0;
}

/** Does the caller's expected version hold for a stream now at `version`? */
export function expectationHolds(expected: ExpectedVersion, version: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return version === 0;
    case 'stream_exists':
      return version > 0;
    default:
      return version === expected;
  }
}

/**
 * Where an earlier attempt of the same append would have put its first event, if it went through.
 * An exact expected version N fixes it at N + 1 and `no_stream` at 1; `any` and `stream_exists`
 * could have landed anywhere after the stream moved, so the stream's recent tail is scanned.
 */
export type PriorAppendSearch = { kind: 'none' } | { kind: 'slot'; fromVersion: number } | { kind: 'scan' };

export function priorAppendSearch(expected: ExpectedVersion, currentVersion: number): PriorAppendSearch {
  if (currentVersion === 0) return { kind: 'none' };
  if (expected === 'any' || expected === 'stream_exists') return { kind: 'scan' };
  const fromVersion = expected === 'no_stream' ? 1 : expected + 1;
  return currentVersion >= fromVersion ? { kind: 'slot', fromVersion } : { kind: 'none' };
}

/**
 * How far back (by the events' recordedAt) the tail scan for a retried `any` append looks before
 * the earliest recordedAt in the batch. A retry carries its original metadata, so its events were
 * stored after that instant; the margin absorbs clock skew between service instances.
 */
export const REPLAY_WINDOW_MS = 15 * 60_000;

// ---- checkpoints ------------------------------------------------------------------------------

const CHECKPOINT = /^(\d{1,20}):(\d{1,20})$/;

/** Checkpoint = "<commit>:<prepare>", the event's position in `$all`. */
export function formatCheckpoint(position: Position): string {
  return `${position.commit}:${position.prepare}`;
}

export function parseCheckpoint(checkpoint: string): Position {
  const match = typeof checkpoint === 'string' ? CHECKPOINT.exec(checkpoint) : null;
  if (!match) throw new InvalidCheckpointError(String(checkpoint));
  const position = { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
  if (position.commit > 0xffff_ffff_ffff_ffffn || position.prepare > 0xffff_ffff_ffff_ffffn) {
    throw new InvalidCheckpointError(checkpoint);
  }
  return position;
}

/** `$all` order: by commit position, then prepare position. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

// ---- metadata and events ----------------------------------------------------------------------

export function toStoredMetadata(metadata: EventMetadata, links: ChainLinks): Record<string, unknown> {
  return { ...metadata, [RESERVED_METADATA_KEY]: { previousHash: links.previousHash, hash: links.hash, appendId: links.appendId } };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Splits stored metadata into the caller's metadata and our links; undefined when ours are absent. */
export function fromStoredMetadata(stored: unknown): { metadata: EventMetadata; links: ChainLinks } | undefined {
  if (!isPlainObject(stored)) return undefined;
  const { [RESERVED_METADATA_KEY]: reserved, ...metadata } = stored;
  if (!isPlainObject(reserved)) return undefined;
  const { previousHash, hash, appendId } = reserved;
  if (typeof previousHash !== 'string' || !HEX64.test(previousHash) || typeof hash !== 'string' || !HEX64.test(hash)) return undefined;
  if (typeof appendId !== 'string') return undefined;
  return { metadata: metadata as EventMetadata, links: { previousHash, hash, appendId } };
}

/** The fields of a KurrentDB recorded event the adapter reads (the client's shape, narrowed). */
export interface RawEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  position?: Position;
}

/** A stored event as the adapter decoded it: the port's StoredEvent plus what appends need. */
export interface DecodedEvent extends StoredEvent {
  eventId: string;
  appendId: string;
  /** metadata.recordedAt in epoch milliseconds (NaN if unreadable). */
  recordedAtMs: number;
}

/** Streams and event types starting with `$` belong to KurrentDB itself. */
export function isSystemEvent(raw: Pick<RawEvent, 'streamId' | 'type'>): boolean {
  return raw.streamId.startsWith('$') || raw.type.startsWith('$');
}

/**
 * Decodes an event this adapter wrote; undefined for anything else (system events, events other
 * software wrote without our links).
 */
export function decodeEvent(raw: RawEvent): DecodedEvent | undefined {
  if (isSystemEvent(raw) || !raw.isJson) return undefined;
  const split = fromStoredMetadata(raw.metadata);
  if (!split) return undefined;
  const position = positionOf(raw);
  return {
    streamId: raw.streamId,
    version: versionOfRevision(raw.revision),
    position: position.commit,
    checkpoint: formatCheckpoint(position),
    type: raw.type,
    data: raw.data,
    metadata: split.metadata,
    hash: split.links.hash,
    previousHash: split.links.previousHash,
    eventId: raw.id,
    appendId: split.links.appendId,
    recordedAtMs: typeof split.metadata.recordedAt === 'string' ? Date.parse(split.metadata.recordedAt) : Number.NaN,
  };
}

/**
 * For verification: every event of a stream, ours or not. One we did not write has no links, so
 * it is given empty ones and the chain check names it as the first bad version.
 */
export function decodeForVerification(raw: RawEvent): StoredEvent {
  const decoded = decodeEvent(raw);
  if (decoded) return toStored(decoded);
  const position = positionOf(raw);
  return {
    streamId: raw.streamId,
    version: versionOfRevision(raw.revision),
    position: position.commit,
    checkpoint: formatCheckpoint(position),
    type: raw.type,
    data: raw.data,
    metadata: (isPlainObject(raw.metadata) ? raw.metadata : {}) as EventMetadata,
    hash: '',
    previousHash: '',
  };
}

function positionOf(raw: RawEvent): Position {
  // Servers from 22.6 on send every event's $all position with stream reads too.
  if (!raw.position) throw new Error(`KurrentDB sent ${raw.streamId}@${raw.revision} without its position (server older than 22.6?)`);
  return raw.position;
}

export function toRecorded(event: DecodedEvent): RecordedEvent {
  const { streamId, version, position, checkpoint, type, data, metadata, hash } = event;
  return { streamId, version, position, checkpoint, type, data, metadata, hash };
}

export function toStored(event: DecodedEvent): StoredEvent {
  return { ...toRecorded(event), previousHash: event.previousHash };
}

// ---- retries of an append ---------------------------------------------------------------------

export type PriorAppend = { kind: 'absent' } | { kind: 'same'; last: DecodedEvent } | { kind: 'different' };

/**
 * Compares the stored events where an earlier attempt would be (`slice`, in version order) with
 * the events being appended. `same`: every id in place and every link recomputes from this
 * content, so it is a retry and `last` carries the original result. `different`: some id is there
 * but not this batch in this order with this content, so the id is being reused.
 */
export function classifyPriorAppend(slice: DecodedEvent[], events: PreparedEvent[]): PriorAppend {
  const ids = new Set(events.map((event) => event.eventId));
  if (!slice.some((stored) => ids.has(stored.eventId))) return { kind: 'absent' };
  if (slice.length !== events.length) return { kind: 'different' };
  for (const [index, event] of events.entries()) {
    const stored = slice[index];
    if (
      stored.eventId !== event.eventId ||
      stored.version !== slice[0].version + index ||
      stored.hash !== linkHash(stored.previousHash, event.contentHash)
    ) {
      return { kind: 'different' };
    }
  }
  return { kind: 'same', last: slice[slice.length - 1] };
}

// ---- errors -----------------------------------------------------------------------------------

/** The client's error kinds (its CommandError `type`) that mean "the server cannot be reached now". */
const UNAVAILABLE_TYPES = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const CONNECTION_MESSAGE =
  /failed to discover|unavailable|connection (refused|reset|closed|error)|transport error|tcp connect|dns error|broken pipe|timed out|deadline exceeded|no connection established/i;

/**
 * Is this a failure to reach KurrentDB (as opposed to a rejected request or a bug)? Duck-typed on
 * the client's `type` field, not instanceof: errors may come from another realm (Jest VMs), and
 * the client's Rust reader reports some transport failures only as "unknown" with a message.
 */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || error instanceof EventStoreError) return error instanceof StoreUnavailableError;
  const { type, code, message } = error as { type?: unknown; code?: unknown; message?: unknown };
  if (typeof type === 'string') {
    if (UNAVAILABLE_TYPES.has(type)) return true;
    if (type !== 'unknown') return false;
  }
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGE.test(String(message ?? ''));
}

export function isErrorOfType(error: unknown, type: string): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === type;
}

/** A concurrency conflict the server reported, with the stream's actual state. */
export function wrongExpectedVersionOf(error: unknown): { actualState?: CurrentStreamState } | undefined {
  return isErrorOfType(error, 'wrong-expected-version') ? (error as { actualState?: CurrentStreamState }) : undefined;
}

export function isStreamNotFound(error: unknown): boolean {
  return isErrorOfType(error, 'stream-not-found');
}

/** Client errors as the port's errors: unreachable → StoreUnavailableError; others unchanged. */
export function translateError(error: unknown): unknown {
  if (error instanceof EventStoreError) return error;
  if (isUnavailable(error)) return new StoreUnavailableError('the KurrentDB event store is unavailable', error);
  return error;
}

/** Hides the user and password of a connection string inside an error message. */
export function redactCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
