/** A fact that happened to one aggregate; metadata (actor, recordedAt, …) is the store's concern. */
export interface Event<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** An intent, with the clock reading it is judged against (ISO-8601 UTC, taken by the caller). */
export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  now: string;
}

/**
 * One aggregate as three pure functions: `decide` turns a command into events (or throws a
 * DomainError), `evolve` applies one event, `initialState` is the state of an empty stream.
 * `evolveAll`, where given, answers what applying `evolve` to each event in turn would, faster on
 * long runs (a state whose collections grow with the stream need not be copied per event).
 */
export interface Decider<State, Cmd, Evt> {
  decide(command: Cmd, state: State): Evt[];
  evolve(state: State, event: Evt): State;
  evolveAll?(state: State, events: readonly Evt[]): State;
  initialState(): State;
}

/** The state of a stream after `events`, starting from `from` (the initial state by default). */
export function replay<State, Cmd, Evt>(
  decider: Decider<State, Cmd, Evt>,
  events: readonly Evt[],
  from: State = decider.initialState(),
): State {
  return decider.evolveAll ? decider.evolveAll(from, events) : events.reduce((state, event) => decider.evolve(state, event), from);
}

/** Alias of `replay`, named for readers coming from functional event sourcing. */
export const fold = replay;

/** Exhaustiveness check for switches over unions: compiling proves every member is handled. */
export function unreachable(value: never): never {
  throw new Error(`Unhandled member: ${JSON.stringify(value)}`);
}
