import { Inject, Injectable } from '@nestjs/common';
import type { Decider } from '@caseline/domain';
import { DuplicateEventIdError, WrongExpectedVersionError, type EventStore, type NewEvent } from '@caseline/event-store';
import { mintId, type CommandContext } from './command-context';
import { PersonalData } from '@caseline/platform';
import { ApiError } from './errors';
import { StreamStateCache, type StreamState } from './stream-state-cache';
import { EVENT_STORE } from './tokens';

export interface CommandOutcome {
  version: number;
  checkpoint?: string;
  /** True when this answers a retry under the same Idempotency-Key: nothing new was appended. */
  replayed: boolean;
}

export interface StreamCommand<State, Cmd, Evt extends { type: string; data: unknown }> {
  streamId: string;
  decider: Decider<State, Cmd, Evt>;
  /**
   * Builds the domain command from the stream's current state. It may throw (a 404 for a record
   * outside the caller's scope, a DomainError); nothing is appended then.
   */
  command(state: State, stream: StreamState<State>): Cmd | Promise<Cmd>;
}

/** How many times a command is re-decided when another writer got to the stream first. */
const MAX_ATTEMPTS = 40;

/**
 * Runs a command against one stream: read, replay, decide, append with the version read — and
 * on a concurrency conflict, read and decide again (bounded), so concurrent writers on one case all
 * succeed unless the client pinned a version with If-Match (then 412).
 */
@Injectable()
export class CommandRunner {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamStateCache) private readonly streams: StreamStateCache,
    @Inject(PersonalData) private readonly personalData: PersonalData,
  ) {}

  async run<State, Cmd, Evt extends { type: string; data: unknown }>(
    context: CommandContext,
    target: StreamCommand<State, Cmd, Evt>,
  ): Promise<CommandOutcome> {
    const decider = target.decider as Decider<State, unknown, Evt>;
    for (let attempt = 1; ; attempt++) {
      // First try on the cached state without a read: the append names the version decided on, so
      // if the stream moved meanwhile (another process, another request) it fails and we read.
      const cached = attempt === 1 ? this.streams.peek(target.streamId, decider) : undefined;
      let stream = cached ?? (await this.streams.load(target.streamId, decider));
      let earlier = this.earlierAnswer(context, stream);
      if (cached && (earlier || (context.expectedVersion !== undefined && context.expectedVersion !== stream.version))) {
        // A stale cache must not decide a replay or a 412: look again with what is stored.
        stream = await this.streams.load(target.streamId, decider);
        earlier = this.earlierAnswer(context, stream);
      }
      if (earlier) return earlier;
      const { state, version } = stream;
      let decided: Evt[];
      try {
        // Building the command checks scope first, so that If-Match on another team's record is a
        // 404 like any other request about it, never a 412 that would confirm it exists.
        const command = await target.command(state, stream);
        if (context.expectedVersion !== undefined && context.expectedVersion !== version) throw preconditionFailed(version);
        decided = target.decider.decide(command, state);
      } catch (error) {
        if (cached) continue; // refused on possibly stale state: judge again on what is stored
        throw error;
      }
      if (decided.length === 0) return { version, checkpoint: stream.checkpoint, replayed: false };
      const sealed = await Promise.all(decided.map((event) => this.personalData.seal(event, personOf(event, state))));
      const events: NewEvent[] = sealed.map((event, index) => ({
        type: event.type,
        data: event.data,
        metadata: {
          eventId: mintId(context, `event:${index}`),
          actor: { id: context.actor.id, name: context.actor.name, role: context.actor.role, team: context.actor.team },
          correlationId: context.correlationId,
          causationId: context.causationId,
          recordedAt: context.now,
          schemaVersion: 1,
          // Stored with the events, in the same append: the retry check above finds them. Key and
          // request are kept only as keyed fingerprints (HMAC): clients may name the person in a
          // key, which must not outlive an erasure, and a stored hash cannot confirm guessed bodies.
          ...(context.idempotencyKey ? { idempotencyKeyHash: this.keyHash(context), requestHash: this.personalData.fingerprint(context.requestHash) } : {}),
        },
      }));
      try {
        const result = await this.store.append(target.streamId, events, { expectedVersion: version });
        if (!result.replayed) {
          const plain = events.map((event, index) => ({ ...event, data: decided[index].data }));
          this.streams.record(target.streamId, decider, stream, plain, result.checkpoint);
        }
        return { version: result.nextVersion, checkpoint: result.checkpoint, replayed: result.replayed };
      } catch (error) {
        if (error instanceof DuplicateEventIdError) {
          // Our minted ids exist already. A twin request in this stream: the next read answers it.
          // Elsewhere: the key was used for another request.
          const again = this.earlierAnswer(context, await this.streams.load(target.streamId, decider));
          if (again) return again;
          throw keyReused();
        }
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (cached) continue; // the cache was behind: read and decide again, no pause needed
        if (context.expectedVersion !== undefined) throw preconditionFailed(error.actualVersion);
        if (attempt >= MAX_ATTEMPTS) {
          throw new ApiError(503, 'contention', 'too many concurrent changes to this record; try again', { 'Retry-After': '1' });
        }
        // Jittered pause so that a crowd of writers on one stream spreads out.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 * attempt, 20)));
      }
    }
  }

  /** A retry under an Idempotency-Key this actor already used on this stream gets the first answer. */
  private earlierAnswer(context: CommandContext, stream: StreamState<unknown>): CommandOutcome | undefined {
    if (!context.idempotencyKey) return undefined;
    const earlier = stream.keys.get(this.keyHash(context)) ?? stream.keys.get(`${context.actor.id}\n${context.idempotencyKey}`);
    if (!earlier) return undefined;
    if (earlier.requestHash !== this.personalData.fingerprint(context.requestHash)) throw keyReused();
    return { version: earlier.version, checkpoint: earlier.checkpoint, replayed: true };
  }

  /** The actor's Idempotency-Key as stored: a keyed fingerprint, never the key itself. */
  private keyHash(context: CommandContext): string {
    return this.personalData.fingerprint(`idempotency-key\n${context.actor.id}\n${context.idempotencyKey}`);
  }
}

/** Whose personal data an event holds: named in the event, or the person of the stream's state. */
function personOf(event: { data: unknown }, state: unknown): string | undefined {
  const fromEvent = (event.data as { personId?: unknown } | null)?.personId;
  if (typeof fromEvent === 'string') return fromEvent;
  const fromState = (state as { personId?: unknown; id?: unknown } | null)?.personId;
  return typeof fromState === 'string' ? fromState : undefined;
}

const preconditionFailed = (version: number) =>
  new ApiError(412, 'version_mismatch', `the record is at version ${version}, not the one in If-Match`, { ETag: `"${version}"` });

const keyReused = () => new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
