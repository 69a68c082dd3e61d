import { Inject, Injectable } from '@nestjs/common';
import { replay, type Decider } from '@caseline/domain';
import type { EventStore, RecordedEvent } from '@caseline/event-store';
import { PersonalData } from '@caseline/platform';
import { EVENT_STORE } from './tokens';

/** An answer already given under an Idempotency-Key, found in a stream's event metadata. */
export interface KeyedAnswer {
  requestHash: string;
  version: number;
  checkpoint: string;
}

/** A stream's state as of `version`, folded through its decider. */
export interface StreamState<State> {
  state: State;
  version: number;
  checkpoint?: string;
  /** Team of the actor who wrote the first event (a person belongs to the registering team). */
  firstActorTeam?: string;
  /**
   * The keyed fingerprint of actor and Idempotency-Key → the answer its command got (events stored
   * before keys were fingerprinted: `<actor id>\n<idempotency key>`).
   */
  keys: ReadonlyMap<string, KeyedAnswer>;
}

const MAX_STREAMS = 20_000;

/**
 * Keeps recently used streams folded in memory, so a command or a read fetches only the events
 * appended since (one indexed query, usually empty) instead of replaying the whole stream.
 * Why this is safe: streams are append-only and every load asks the store for anything newer, so
 * an entry is never served stale — another process's appends are picked up on the next load.
 * States are immutable values (evolve returns new objects), so sharing them is harmless.
 */
@Injectable()
export class StreamStateCache {
  private readonly entries = new Map<string, StreamState<unknown> & { decider: unknown }>();
  /** Bumped by clear(): work that began before an erasure must not put decrypted state back. */
  private epoch = 0;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PersonalData) private readonly personalData: PersonalData,
  ) {
    // After an erasure here or in another process, no decrypted copy may stay in memory.
    personalData.onErased(() => this.clear());
  }

  async load<State, Evt>(streamId: string, decider: Decider<State, unknown, Evt>): Promise<StreamState<State>> {
    const epoch = this.epoch;
    const cached = this.entries.get(streamId);
    const base = cached && cached.decider === decider ? (cached as unknown as StreamState<State>) : undefined;
    const stored = await this.store.readStream(streamId, base ? { fromVersion: base.version + 1 } : {});
    // Personal data is opened here, before the domain sees it; erased values read as ERASED.
    const fresh = await Promise.all(stored.map(async (event) => ({ ...event, data: await this.personalData.open(event.type, event.data) })));
    if (base && fresh.length === 0) {
      if (epoch === this.epoch) this.touch(streamId, cached!);
      return base;
    }
    const next = fold(base, decider, fresh);
    if (epoch === this.epoch) this.touch(streamId, { ...next, decider } as StreamState<unknown> & { decider: unknown });
    return next;
  }

  /**
   * The cached state without asking the store: possibly behind. Only for optimistic commands,
   * whose append states the version they decided on and fails if the stream moved since.
   */
  peek<State, Evt>(streamId: string, decider: Decider<State, unknown, Evt>): StreamState<State> | undefined {
    const cached = this.entries.get(streamId);
    return cached && cached.decider === decider ? (cached as unknown as StreamState<State>) : undefined;
  }

  /**
   * Folds events this process has just appended (at `base.version + 1…`, as decided, before their
   * personal data was sealed) into the cached entry,
   * so the next command on the stream needs no read. An entry that moved in the meantime is
   * left alone when it is already ahead, and dropped otherwise (the next load rebuilds it).
   */
  record<State, Evt>(
    streamId: string,
    decider: Decider<State, unknown, Evt>,
    base: StreamState<State>,
    appended: { type: string; data: unknown; metadata: RecordedEvent['metadata'] }[],
    checkpoint: string,
  ): void {
    const current = this.entries.get(streamId);
    // Only extend an entry that is still there: after clear() (an erasure) nothing is put back.
    if (!current) return;
    if (current.version !== base.version) {
      if (current.version < base.version + appended.length) this.entries.delete(streamId);
      return;
    }
    const events = appended.map((event, index) => ({ ...event, streamId, version: base.version + index + 1, checkpoint, position: 0n, hash: '' }));
    this.touch(streamId, { ...fold(base, decider, events), decider } as StreamState<unknown> & { decider: unknown });
  }

  /** Forgets everything (after an erasure). */
  private clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  private touch(streamId: string, entry: StreamState<unknown> & { decider: unknown }): void {
    // Map order is insertion order: re-inserting makes this the most recently used entry.
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    if (this.entries.size > MAX_STREAMS) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function fold<State, Evt>(base: StreamState<State> | undefined, decider: Decider<State, unknown, Evt>, events: RecordedEvent[]): StreamState<State> {
  const state = replay(decider, events as unknown as Evt[], base ? base.state : decider.initialState());
  const keys = new Map(base?.keys ?? []);
  let firstActorTeam = base?.firstActorTeam;
  for (const event of events) {
    if (event.version === 1) firstActorTeam = event.metadata.actor?.team;
    const { idempotencyKeyHash, idempotencyKey } = event.metadata;
    const key = typeof idempotencyKeyHash === 'string' ? idempotencyKeyHash : typeof idempotencyKey === 'string' ? `${event.metadata.actor?.id}\n${idempotencyKey}` : undefined;
    if (key !== undefined) keys.set(key, { requestHash: String(event.metadata.requestHash), version: event.version, checkpoint: event.checkpoint });
  }
  const last = events.at(-1);
  return { state, version: last?.version ?? base?.version ?? 0, checkpoint: last?.checkpoint ?? base?.checkpoint, firstActorTeam, keys };
}
