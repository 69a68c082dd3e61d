/**
 * The event store port. Everything in Caseline that writes or reads events goes through this
 * interface; PostgreSQL, PGlite and KurrentDB are adapters behind it and pass one contract suite.
 */
import type { ChainVerification } from './hash-chain';

/** Who did it, as taken from the verified token (never from a request body). */
export interface Actor {
  id: string;
  name: string;
  role: string;
  team: string;
}

/** Metadata carried by every stored event (SPEC §1). */
export interface EventMetadata {
  eventId: string;
  actor: Actor;
  correlationId: string;
  causationId: string;
  /** Server clock at the time of the command, ISO-8601 UTC. */
  recordedAt: string;
  schemaVersion: number;
  /** Adapters may carry more (idempotency key, encryption key id); verification covers it all. */
  [extra: string]: unknown;
}

/** An event as handed to `append`: its id travels in the metadata and makes retries idempotent. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

/** An event as read back: the stream's version and the store-wide order are fixed at commit. */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  streamId: string;
  /** 1-based position of the event in its stream. */
  version: number;
  /** Store-wide position. Monotonic per adapter; see `checkpoint` for the resumable cursor. */
  position: bigint;
  /**
   * Opaque resume token for read-all and subscriptions. Checkpoints compare in delivery order,
   * which is not always `position` order (see the SQL adapter: commit order decides).
   */
  checkpoint: string;
  /** Hash chain link: hex SHA-256 over the previous link and this event's canonical form. */
  hash: string;
}

/**
 * Expected version of a stream before an append.
 * `no_stream`: the stream must not exist; `stream_exists`: it must; `any`: no check;
 * a number: the stream's current version must equal it (0 means "no events yet").
 */
export type ExpectedVersion = 'no_stream' | 'stream_exists' | 'any' | number;

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  /** Stream version after the append (the version of its last event). */
  nextVersion: number;
  /** Store-wide position of the last appended event. */
  position: bigint;
  /** Checkpoint of the last appended event; a read model that reached it has seen this write. */
  checkpoint: string;
  /** True when every event id was already stored: a retry answered with the original result. */
  replayed: boolean;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive lower bound going forwards, inclusive upper bound going backwards. */
  fromVersion?: number;
  /** Inclusive: nothing after this version. */
  toVersion?: number;
  /** Inclusive: nothing recorded after this instant (ISO-8601). */
  asOf?: string;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this checkpoint. Omit to start at the beginning. */
  after?: string;
  maxCount?: number;
}

export interface ReadAllBatch {
  events: RecordedEvent[];
  /** Checkpoint to resume from: the last event's, or `after` unchanged when nothing was read. */
  checkpoint: string | undefined;
}

export interface SubscribeOptions {
  after?: string;
  batchSize?: number;
  /**
   * Called with each batch in order. The subscription advances only when it resolves; a throw
   * stops the subscription (reported through `onError`) so no event is ever skipped.
   */
  handle(events: RecordedEvent[], checkpoint: string): Promise<void>;
  onError?(error: unknown): void;
}

export interface Subscription {
  /** Resolves once the current batch (if any) has finished and no further batch will start. */
  stop(): Promise<void>;
  /** The checkpoint of the last batch `handle` completed. */
  readonly checkpoint: string | undefined;
}

/** Raw stored row for verification: exactly what was stored, before any upcasting. */
export interface StoredEvent extends RecordedEvent {
  /** Hex hash of the previous event in the stream (genesis link for version 1). */
  previousHash: string;
}

/** What a chain walk needs of a stored event: its content hash (recomputed from what is stored) and its links. */
export interface StoredLink {
  streamId: string;
  version: number;
  /** Hex SHA-256 of the event's canonical content, computed now from the stored data and metadata. */
  contentHash: string;
  previousHash: string;
  hash: string;
}

/** A stream's head as the store records it: its version and the last link of its hash chain. */
export interface StreamHead {
  streamId: string;
  version: number;
  hash: string;
}

export interface EventStore {
  readonly adapterName: string;
  append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Current version of a stream, 0 when it has no events. */
  streamVersion(streamId: string): Promise<number>;
  readAll(options?: ReadAllOptions): Promise<ReadAllBatch>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** The head the store records for one stream, undefined when it has none. */
  streamHead(streamId: string): Promise<StreamHead | undefined>;
  /** Stream heads in stream-id order, a page at a time (for whole-store verification). */
  listStreams(options: { afterStreamId?: string; limit: number }): Promise<StreamHead[]>;
  /** Raw stored events of these streams, not upcast, ordered by stream id then version. */
  readStored(streamIds: string[]): Promise<StoredEvent[]>;
  /**
   * Orders two checkpoints of this store as delivery does (negative, zero, positive). Read models
   * compare their checkpoint with a consistency token through this; a malformed checkpoint throws
   * InvalidCheckpointError.
   */
  compareCheckpoints(a: string, b: string): number;
  /**
   * Optional: what readStored gives, reduced to content hashes and links, where the adapter can
   * compute it faster than readStored and contentHash (whole-store verification). Same order.
   */
  readStoredLinks?(streamIds: string[]): Promise<StoredLink[]>;
  /**
   * Optional: verifyLinks(readStoredLinks([head.streamId]), head) for each head, in order, where
   * the adapter can walk the chains faster than that (whole-store verification).
   */
  verifyStoredChains?(heads: StreamHead[]): Promise<ChainVerification[]>;
  /**
   * Optional: appends sent to the database together (group commit), as groups sent since start and
   * groups whose statement failed (their members were then appended alone, at extra cost).
   */
  appendGroupCounts?(): { groups: number; failed: number };
  /** Is the backing database reachable right now (for readiness)? */
  ping(): Promise<void>;
  close(): Promise<void>;
}
