/**
 * A realistic Caseline history, written straight into an event store (no HTTP), for benchmarks.
 *
 *   generateHistory(store, { cases, seed, onProgress?, seal?, erase?, concurrency?, start?, months? })
 *     → HistorySummary { cases, people, referrals, streams, events, byType, caseIds, from, to }
 *   generateLongCase(store, { events, seed, seal? }) → { caseId, personId, events }
 *
 * Every event comes from the domain's own deciders (libs/domain), so the history is one the
 * service could have recorded: people (some returning with a second case) with consents granted,
 * revoked, corrected details and a few erasures; cases opened by officers, social workers and
 * supervisors of several teams, assigned and reassigned, with welfare checks, team and
 * confidential notes, follow-ups completed, cancelled or left overdue, risk changes, closures
 * (which cancel what is still scheduled) and reopenings; referrals of every type (shelter among
 * them) made on consent or a supervisor's override, accepted, declined, revoked, started, closed.
 * Timestamps spread over `months` (18) from `start`; a case's events keep their time order.
 *
 * Streams are appended whole (batches of up to 1,000 events), chunk by chunk of cases in order of
 * opening, `concurrency` appends at a time; within a chunk people go first, then cases, then
 * referrals, so a reader of the store-wide order never meets a case before its person or a
 * referral before its case. The plaintext is a pure function of `seed` (ids included); `seal`
 * (e.g. PersonalData.seal) encrypts personal data as the service does, with random IVs.
 * `erase` is called for each erased person after their streams are written (crypto-shredding).
 *
 * CLI: npm run history -- --cases 1000 [--seed 42]   (DATABASE_URL, or a fresh test database)
 */
import { parseArgs } from 'node:util';
import {
  caseDecider,
  caseDispositions,
  caseReasons,
  caseStream,
  isDomainError,
  personDecider,
  personStream,
  referralDecider,
  referralOutcomes,
  referralStream,
  referralTypes,
  referralUrgencies,
  streamCategories,
  welfareCheckOutcomes,
  type CaseCommand,
  type CaseEvent,
  type CaseState,
  type PersonCommand,
  type PersonEvent,
  type PersonState,
  type ReferralCommand,
  type ReferralEvent,
  type ReferralState,
  type ReferralType,
  type RiskLevel,
} from '@caseline/domain';
import { PostgresDatabase, SqlEventStore, type Actor, type EventStore, type NewEvent } from '@caseline/event-store';
import { createTestDatabase } from '@caseline/event-store/testing';
import { PersonalData, PersonalDataKeys } from '@caseline/platform';

export interface HistoryOptions {
  /** How many cases (about 11 events each, person and referral streams included). */
  cases: number;
  seed: number | string;
  onProgress?(progress: HistoryProgress): void;
  /** Seals an event's personal data for `personId` (PersonalData.seal); plaintext when absent. */
  seal?<E extends { type: string; data: unknown }>(event: E, personId: string): Promise<E>;
  /** Called once per erased person, after their streams are written (destroy their key). */
  erase?(personId: string): Promise<void>;
  /** Appends in flight at once (default 8). */
  concurrency?: number;
  /** First instant of the history (default 2024-01-01T00:00:00Z). */
  start?: string;
  /** Length of the history in months of 30 days (default 18). */
  months?: number;
}

export interface HistoryProgress {
  cases: number;
  totalCases: number;
  events: number;
}

export interface HistorySummary {
  cases: number;
  people: number;
  referrals: number;
  streams: number;
  events: number;
  byType: Record<string, number>;
  /** Every case id, in order of opening. */
  caseIds: string[];
  from: string;
  to: string;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TEAMS = ['north', 'south', 'east', 'west', 'central', 'harbor'];
const PROVIDERS: Record<ReferralType, string[]> = {
  shelter: ['Harbor House Shelter', 'Eastside Family Shelter', 'Northgate Night Shelter'],
  mental_health: ['Riverside Mental Health', 'Crisis Stabilization Unit'],
  substance_use: ['New Path Recovery', 'County Detox Center'],
  medical: ['Community Health Clinic', 'Mobile Medical Van'],
  housing: ['Rapid Rehousing Program', 'Housing Authority'],
  food: ['Central Food Bank', 'Meals on Wheels'],
  income: ['Benefits Navigator'],
  legal: ['Legal Aid Society'],
  other: ['Community Resource Hub'],
};
const GIVEN = ['Ana', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Iris', 'Jamal', 'Kira', 'Liam', 'Maya', 'Noah', 'Olga', 'Pavel', 'Rosa', 'Sam', 'Tariq', 'Uma'];
const FAMILY = ['Lopez', 'Nguyen', 'Smith', 'Okafor', 'Kowalski', 'Haddad', 'Silva', 'Brown', 'Jensen', 'Moreau', 'Tanaka', 'Rossi'];
const STREETS = ['Elm St', 'Main St', '5th Ave', 'Harbor Rd', 'Mill Lane', 'Station Sq', 'Park Ave', 'River Walk'];
const OBSERVATIONS = [
  'Calm, has food and heating; agreed to a visit next week.',
  'Agitated, talked about losing the flat; accepted information about the shelter.',
  'Not at home; neighbour says they sleep at the station some nights.',
  'Found outside in the cold, provided a blanket and a hot drink.',
  'Visibly unwell; ambulance called, transported to the hospital.',
  'Sober and engaged, asked about the recovery programme.',
];
const NOTES = [
  'Prefers morning visits; dog at home, friendly.',
  'Daughter is the main contact and asked to be called first.',
  'Disclosed past trauma; handle with care and offer a female worker.',
  'Missed appointment at the clinic; will try again with a reminder call.',
  'Landlord threatens eviction at the end of the month.',
  'Talked through the safety plan again; copies left on the fridge.',
];
const FOLLOW_UP_PURPOSES = ['Check in after the welfare check', 'Accompany to the clinic', 'Review the safety plan', 'Confirm the shelter bed', 'Call about benefits'];

/** Small fast seeded generator (sfc32), seeded through a string hash: the same seed, the same history. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    let h = 1779033703 ^ String(seed).length;
    for (const char of String(seed)) {
      h = Math.imul(h ^ char.charCodeAt(0), 3432918353);
      h = (h << 13) | (h >>> 19);
    }
    const next = () => {
      h = Math.imul(h ^ (h >>> 16), 2246822507);
      h = Math.imul(h ^ (h >>> 13), 3266489909);
      return (h ^= h >>> 16) >>> 0;
    };
    [this.a, this.b, this.c, this.d] = [next(), next(), next(), next()];
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  uuid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 4; i++) hex.push(Math.floor(this.next() * 2 ** 32).toString(16).padStart(8, '0'));
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

interface Staff {
  officers: Actor[];
  workers: Actor[];
  supervisors: Actor[];
}

function staffOf(random: Random): Record<string, Staff> {
  const staff: Record<string, Staff> = {};
  for (const team of TEAMS) {
    const person = (role: string, n: number) => ({ id: random.uuid(), name: `${random.pick(GIVEN)} ${random.pick(FAMILY)} (${role} ${n})`, role, team });
    staff[team] = {
      officers: Array.from({ length: 6 }, (_, n) => person('officer', n)),
      workers: Array.from({ length: 5 }, (_, n) => person('social_worker', n)),
      supervisors: Array.from({ length: 2 }, (_, n) => person('supervisor', n)),
    };
  }
  return staff;
}

interface Recorded {
  type: string;
  data: unknown;
  actor: Actor;
  at: number;
  /** The person whose personal data the event holds. */
  personId: string;
}

/** One aggregate driven through its decider: every event is one the domain accepted. */
class Aggregate<State, Cmd extends { type: string; data: unknown; now: string }, Evt extends { type: string; data: unknown }> {
  state: State;
  readonly events: Recorded[] = [];
  /** Events already handed to the store (a returning person's stream grows in a later chunk). */
  written = 0;
  version = 0;
  private lastAt = 0;

  constructor(
    private readonly decider: { decide(command: Cmd, state: State): Evt[]; evolve(state: State, event: Evt): State; initialState(): State },
    readonly streamId: string,
    readonly personId: string,
  ) {
    this.state = decider.initialState();
  }

  run(command: Omit<Cmd, 'now'>, when: number, actor: Actor): Evt[] {
    // A stream's events keep their time order (a returning person's stream is shared by cases).
    const at = (this.lastAt = Math.max(when, this.lastAt));
    const decided = this.decider.decide({ ...command, now: new Date(at).toISOString() } as Cmd, this.state);
    for (const event of decided) {
      this.state = this.decider.evolve(this.state, event);
      this.events.push({ type: event.type, data: event.data, actor, at, personId: this.personId });
    }
    return decided;
  }

  /** Like run, but a refusal (the domain said no) is skipped: the generator just tries something else. */
  attempt(command: Omit<Cmd, 'now'>, at: number, actor: Actor): boolean {
    try {
      this.run(command, at, actor);
      return true;
    } catch (error) {
      if (isDomainError(error)) return false;
      throw error;
    }
  }
}

type PersonAggregate = Aggregate<PersonState, PersonCommand, PersonEvent>;
type CaseAggregate = Aggregate<CaseState, CaseCommand, CaseEvent>;
type ReferralAggregate = Aggregate<ReferralState, ReferralCommand, ReferralEvent>;

interface CasePlan {
  person: PersonAggregate;
  kase: CaseAggregate;
  referrals: ReferralAggregate[];
  erase: boolean;
}

/** Writes the generated streams: at most 1,000 events per append, ids and times as generated. */
class Writer {
  events = 0;
  readonly byType: Record<string, number> = {};

  constructor(
    private readonly store: EventStore,
    private readonly random: Random,
    private readonly options: Pick<HistoryOptions, 'seal' | 'concurrency'>,
  ) {}

  /** Builds the new events (ids drawn here, in a fixed order, so they follow from the seed). */
  prepare(aggregate: { streamId: string; events: Recorded[]; written: number; version: number }): { streamId: string; expected: number; events: (Recorded & { eventId: string; correlationId: string })[] } {
    const fresh = aggregate.events.slice(aggregate.written).map((event) => ({ ...event, eventId: this.random.uuid(), correlationId: this.random.uuid() }));
    const expected = aggregate.version;
    aggregate.written = aggregate.events.length;
    aggregate.version += fresh.length;
    return { streamId: aggregate.streamId, expected, events: fresh };
  }

  async write(batches: ReturnType<Writer['prepare']>[]): Promise<void> {
    const queue = batches.filter((batch) => batch.events.length > 0);
    const worker = async () => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        let expected = batch.expected;
        for (let from = 0; from < batch.events.length; from += 1000) {
          const slice = batch.events.slice(from, from + 1000);
          const events: NewEvent[] = await Promise.all(
            slice.map(async (event) => {
              const sealed = this.options.seal ? await this.options.seal({ type: event.type, data: event.data }, event.personId) : event;
              return {
                type: event.type,
                data: sealed.data,
                metadata: {
                  eventId: event.eventId,
                  actor: event.actor,
                  correlationId: event.correlationId,
                  causationId: event.correlationId,
                  recordedAt: new Date(event.at).toISOString(),
                  schemaVersion: 1,
                },
              };
            }),
          );
          await this.store.append(batch.streamId, events, { expectedVersion: expected });
          expected += events.length;
          this.events += events.length;
          for (const event of events) this.byType[event.type] = (this.byType[event.type] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 8 }, worker));
  }
}

/** Simulates one case's life through the deciders: its person, its events, its referrals. */
class CaseSimulator {
  constructor(
    private readonly random: Random,
    private readonly staff: Record<string, Staff>,
    private readonly end: number,
  ) {}

  newPerson(at: number, team: string): PersonAggregate {
    const r = this.random;
    const personId = r.uuid();
    const person: PersonAggregate = new Aggregate(personDecider, personStream(personId), personId);
    const actor = r.pick(this.staff[team].officers);
    person.run(
      {
        type: 'RegisterPerson',
        data: {
          personId,
          givenName: r.pick(GIVEN),
          familyName: r.pick(FAMILY),
          dateOfBirth: r.chance(0.7) ? `${r.int(1940, 2006)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}` : null,
          phone: r.chance(0.5) ? `+1555${String(r.int(0, 9_999_999)).padStart(7, '0')}` : null,
        },
      },
      at,
      actor,
    );
    return person;
  }

  /** A case from `openedAt`, `interactions` long (before closure), for `person`. */
  simulate(person: PersonAggregate, openedAt: number, interactions: number, lifetimeDays: number, options: { erase: boolean; reopenings: number }): CasePlan {
    const r = this.random;
    // The case belongs to the team that registered the person, who can then read both.
    const team = person.events[0].actor.team;
    const crew = this.staff[team];
    const opener = r.chance(0.5) ? r.pick(crew.officers) : r.chance(0.8) ? r.pick(crew.workers) : r.pick(crew.supervisors);
    const caseId = r.uuid();
    const kase: CaseAggregate = new Aggregate(caseDecider, caseStream(caseId), person.personId);
    const referrals: ReferralAggregate[] = [];
    let t = openedAt;
    const gap = (lifetimeDays * DAY) / Math.max(1, interactions);
    const step = () => (t = Math.min(t + 60_000 + Math.floor(r.next() * 2 * gap), this.end));
    const worker = () => r.pick(crew.workers);
    const anyone = () => (r.chance(0.4) ? r.pick(crew.officers) : worker());

    kase.run(
      {
        type: 'OpenCase',
        data: {
          caseId,
          personId: person.personId,
          team,
          reason: r.pick(caseReasons),
          risk: r.pick(['low', 'medium', 'medium', 'high'] as RiskLevel[]),
          summary: `${r.pick(['Caller reports', 'Officer found', 'Neighbour worried about'])} ${r.pick(['a person in distress', 'someone sleeping rough', 'an elderly resident alone', 'shouting and threats'])} near ${r.int(1, 200)} ${r.pick(STREETS)}`,
          cadIncidentId: r.chance(0.6) ? `CAD-${r.int(100000, 999999)}` : null,
          person: { registered: true, erased: false },
        },
      },
      t,
      opener,
    );
    if (r.chance(0.8)) {
      step();
      kase.run({ type: 'AssignCase', data: { caseId, workerId: worker().id } }, t, r.pick(crew.supervisors));
    }
    let cycles = options.reopenings;
    for (let done = 0; done < interactions && t < this.end; done++) {
      step();
      const state = kase.state;
      if (state.status === 'none') break;
      const roll = r.next();
      const id = r.uuid();
      const scheduled = Object.values(state.followUps).filter((followUp) => followUp.status === 'scheduled');
      if (state.status === 'closed') {
        if (cycles > 0 && roll < 0.5) {
          cycles--;
          kase.run({ type: 'ReopenCase', data: { caseId, reason: r.pick(['New incident reported', 'Person asked for help again', 'Closed by mistake']) } }, t, worker());
        } else kase.run({ type: 'AddNote', data: { caseId, noteId: id, body: r.pick(NOTES), visibility: r.chance(0.2) ? 'confidential' : 'team' } }, t, worker());
      } else if (roll < 0.24) {
        kase.run(
          {
            type: 'RecordWelfareCheck',
            data: {
              caseId,
              welfareCheckId: id,
              performedAt: new Date(t - r.int(0, 120) * 60_000).toISOString(),
              location: `${r.int(1, 200)} ${r.pick(STREETS)}`,
              outcome: r.pick(welfareCheckOutcomes),
              observations: r.pick(OBSERVATIONS),
            },
          },
          t,
          anyone(),
        );
      } else if (roll < 0.46) {
        const confidential = r.chance(0.2);
        kase.run({ type: 'AddNote', data: { caseId, noteId: id, body: r.pick(NOTES), visibility: confidential ? 'confidential' : 'team' } }, t, confidential ? worker() : anyone());
      } else if (roll < 0.6) {
        kase.run(
          { type: 'ScheduleFollowUp', data: { caseId, followUpId: id, dueAt: new Date(t + r.int(1, 14) * DAY).toISOString(), assigneeId: worker().id, purpose: r.pick(FOLLOW_UP_PURPOSES) } },
          t,
          anyone(),
        );
      } else if (roll < 0.78 && scheduled.length === 0) {
        kase.run({ type: 'AddNote', data: { caseId, noteId: id, body: r.pick(NOTES), visibility: 'team' } }, t, anyone());
      } else if (roll < 0.78) {
        const followUp = r.pick(scheduled);
        // Most are done (on time or late, as it falls); a few are cancelled.
        if (r.chance(0.85)) {
          kase.run({ type: 'CompleteFollowUp', data: { caseId, followUpId: followUp.followUpId, outcome: r.pick(['Reached by phone', 'Met at home', 'Accompanied to appointment']), note: r.chance(0.3) ? r.pick(NOTES) : null } }, t, anyone());
        } else kase.run({ type: 'CancelFollowUp', data: { caseId, followUpId: followUp.followUpId, reason: r.pick(['Person moved to a shelter', 'Duplicate', 'No longer needed']) } }, t, worker());
      } else if (roll < 0.83) {
        const to = r.pick((['low', 'medium', 'high'] as RiskLevel[]).filter((risk) => risk !== state.risk));
        kase.run({ type: 'ChangeRisk', data: { caseId, risk: to, reason: r.pick(['Threats of self-harm', 'Stable housing found', 'Relapse reported', 'Engaging well']) } }, t, worker());
      } else if (roll < 0.92) {
        referrals.push(this.referral(kase, person, t, crew));
      } else if (roll < 0.94) {
        kase.attempt({ type: 'AssignCase', data: { caseId, workerId: worker().id } }, t, r.pick(crew.supervisors));
      } else if (roll < 0.96) {
        const active = Object.values(person.state.consents).find((consent) => consent.revokedAt === null);
        if (active && r.chance(0.5)) {
          person.run({ type: 'RevokeConsent', data: { personId: person.personId, consentId: active.consentId, reason: 'Person no longer wants details shared' } }, t, worker());
        } else person.run({ type: 'CorrectPersonDetails', data: { personId: person.personId, changes: { phone: `+1555${String(r.int(0, 9_999_999)).padStart(7, '0')}` } } }, t, worker());
      } else if (done > interactions / 2) {
        kase.run({ type: 'CloseCase', data: { caseId, disposition: r.pick(caseDispositions), note: r.chance(0.4) ? 'Closing summary written' : null } }, t, worker());
      }
    }
    // Three in four cases end closed (closure cancels the follow-ups still scheduled); the rest stay
    // open, and their follow-ups due before the end of the history are overdue.
    if (kase.state.status === 'open' && r.chance(0.75) && t < this.end) {
      step();
      kase.run({ type: 'CloseCase', data: { caseId, disposition: r.pick(caseDispositions), note: r.chance(0.4) ? 'Closing summary written' : null } }, t, worker());
    }
    if (options.erase && kase.state.status === 'closed' && t < this.end - DAY) {
      person.run({ type: 'ErasePerson', data: { personId: person.personId, reason: 'Right to erasure request' } }, t + DAY, { id: 'admin-1', name: 'System Admin', role: 'admin', team: 'admin' });
    }
    return { person, kase, referrals, erase: person.state.erased };
  }

  private referral(kase: CaseAggregate, person: PersonAggregate, at: number, crew: Staff): ReferralAggregate {
    const r = this.random;
    const state = kase.state as Exclude<CaseState, { status: 'none' }>;
    const type = r.chance(0.25) ? 'shelter' : r.pick(referralTypes);
    const provider = r.pick(PROVIDERS[type]);
    const worker = r.pick(crew.workers);
    // Consent first when the person has none covering the provider (usually asked at the visit).
    const consents = Object.values(person.state.consents).filter((consent) => consent.revokedAt === null && (consent.expiresAt === null || Date.parse(consent.expiresAt) > at));
    if (consents.length === 0 && r.chance(0.85)) {
      // attempt: a returning person's stream may already be later than `at` (an expiry now past).
      person.attempt(
        {
          type: 'GrantConsent',
          data: { personId: person.personId, consentId: r.uuid(), scope: 'referral-sharing', recipients: r.chance(0.6) ? ['any'] : [provider], expiresAt: r.chance(0.5) ? new Date(at + r.int(60, 365) * DAY).toISOString() : null },
        },
        at - 60_000,
        worker,
      );
    }
    const referralId = r.uuid();
    const referral: ReferralAggregate = new Aggregate(referralDecider, referralStream(referralId), person.personId);
    const make = (override: boolean, actor: Actor) =>
      referral.attempt(
        {
          type: 'MakeReferral',
          data: {
            referralId,
            caseId: state.id,
            type,
            provider: { name: provider },
            urgency: r.pick(referralUrgencies),
            notes: r.chance(0.5) ? 'Needs a ground-floor room; has a small dog' : null,
            consentOverride: override ? { reason: 'Imminent risk to life; person unable to consent' } : null,
            caseState: { status: state.status, personId: state.personId, team: state.team },
            person: person.state,
          },
        },
        at,
        actor,
      );
    if (!make(false, worker)) make(true, r.pick(crew.supervisors));
    // The provider's answer within hours to days; a few are never answered.
    let t = at + r.int(1, 96) * HOUR;
    const roll = r.next();
    if (t >= this.end || roll > 0.95) return referral;
    if (roll < 0.62) {
      referral.run({ type: 'AcceptReferral', data: { referralId, note: r.chance(0.3) ? 'Bed reserved' : null } }, t, worker);
      if (r.chance(0.7)) {
        const started = t + r.int(1, 240) * HOUR;
        t = started + r.int(0, 48) * HOUR;
        if (t < this.end) referral.run({ type: 'StartReferralService', data: { referralId, startedAt: new Date(started).toISOString(), note: null } }, t, worker);
      }
      t += r.int(24, 60 * 24) * HOUR;
      if (t < this.end && r.chance(0.8)) referral.run({ type: 'CloseReferral', data: { referralId, outcome: r.chance(0.6) ? 'service_received' : r.pick(referralOutcomes), note: null } }, t, worker);
    } else if (roll < 0.85) {
      referral.run({ type: 'DeclineReferral', data: { referralId, by: r.chance(0.7) ? 'provider' : 'client', reason: r.pick(['No capacity this week', 'Not eligible', 'Person declined']) } }, t, worker);
    } else {
      referral.run({ type: 'RevokeReferral', data: { referralId, reason: 'Found a place elsewhere' } }, t, worker);
    }
    return referral;
  }
}

/** Generates `cases` cases with their people and referrals into `store` (see the header). */
export async function generateHistory(store: EventStore, options: HistoryOptions): Promise<HistorySummary> {
  const random = new Random(options.seed);
  const start = Date.parse(options.start ?? '2024-01-01T00:00:00Z');
  const end = start + (options.months ?? 18) * 30 * DAY;
  const staff = staffOf(random);
  const simulator = new CaseSimulator(random, staff, end);
  const writer = new Writer(store, random, options);
  // Opening times first, sorted, so that chunks go forward in time.
  const openings = Array.from({ length: options.cases }, () => start + Math.floor(random.next() * (end - start - 7 * DAY))).sort((a, b) => a - b);
  const returning: PersonAggregate[] = [];
  const summary = { people: 0, referrals: 0, streams: 0, caseIds: [] as string[] };
  const chunk = 500;
  for (let from = 0; from < openings.length; from += chunk) {
    const plans: CasePlan[] = [];
    for (const openedAt of openings.slice(from, from + chunk)) {
      // One person in ten comes back with another case; erasure only for people with one case.
      const back = returning.length > 0 && random.chance(0.1) ? returning[random.int(0, returning.length - 1)] : undefined;
      const person = back && !back.state.erased ? back : simulator.newPerson(openedAt - 5 * 60_000, random.pick(TEAMS));
      const plan = simulator.simulate(person, openedAt, random.int(3, 11), random.int(3, 120), { erase: !back && random.chance(0.004), reopenings: random.chance(0.1) ? 1 : 0 });
      if (person !== back) {
        summary.people++;
        if (returning.length < 5000) returning.push(person);
        else returning[random.int(0, returning.length - 1)] = person;
      }
      summary.referrals += plan.referrals.length;
      summary.caseIds.push(plan.kase.streamId.slice('case-'.length));
      plans.push(plan);
    }
    const people = [...new Set(plans.map((plan) => plan.person))];
    await writer.write(people.map((person) => writer.prepare(person)));
    await writer.write(plans.map((plan) => writer.prepare(plan.kase)));
    await writer.write(plans.flatMap((plan) => plan.referrals.map((referral) => writer.prepare(referral))));
    for (const plan of plans) if (plan.erase) await options.erase?.(plan.person.personId);
    summary.streams += new Set(plans.flatMap((plan) => [plan.person.streamId, plan.kase.streamId, ...plan.referrals.map((referral) => referral.streamId)])).size;
    options.onProgress?.({ cases: Math.min(from + chunk, openings.length), totalCases: openings.length, events: writer.events });
  }
  return { cases: options.cases, ...summary, events: writer.events, byType: writer.byType, from: new Date(start).toISOString(), to: new Date(end).toISOString() };
}

/**
 * One very long case (`events` events in its stream, roughly): years of welfare checks, notes and
 * follow-ups, risk changes, reassignments, closures and reopenings — for state-as-of benchmarks.
 */
export async function generateLongCase(
  store: EventStore,
  options: { events: number; seed: number | string; seal?: HistoryOptions['seal']; start?: string; months?: number },
): Promise<{ caseId: string; personId: string; events: number }> {
  const random = new Random(options.seed);
  const start = Date.parse(options.start ?? '2024-01-01T00:00:00Z');
  const end = start + (options.months ?? 18) * 30 * DAY;
  const staff = staffOf(random);
  const simulator = new CaseSimulator(random, staff, end);
  const writer = new Writer(store, random, { seal: options.seal, concurrency: 1 });
  const person = simulator.newPerson(start, 'north');
  const days = (end - start) / DAY;
  const plan = simulator.simulate(person, start + HOUR, options.events, days, { erase: false, reopenings: Math.ceil(options.events / 400) });
  // Interactions skipped (the domain refused them) or past the end leave it short: top up with notes.
  const caseId = plan.kase.streamId.slice('case-'.length);
  let t = (plan.kase.events.at(-1) as Recorded).at;
  while (plan.kase.events.length < options.events) {
    t += 60_000;
    plan.kase.run({ type: 'AddNote', data: { caseId, noteId: random.uuid(), body: random.pick(NOTES), visibility: 'team' } }, t, staff.north.workers[0]);
  }
  await writer.write([writer.prepare(person)]);
  await writer.write([writer.prepare(plan.kase)]);
  await writer.write(plan.referrals.map((referral) => writer.prepare(referral)));
  return { caseId, personId: person.personId, events: plan.kase.events.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '1000' }, seed: { type: 'string', default: '42' } } });
  let url = process.env.DATABASE_URL;
  if (!url) {
    const database = await createTestDatabase('caseline_history');
    url = database.url;
    console.error(`no DATABASE_URL: writing into a fresh database ${database.name} (kept)`);
  }
  const db = new PostgresDatabase({ connectionString: url, max: 12 });
  const store = await SqlEventStore.open(db, { categories: streamCategories });
  // Sealed as the service seals when MASTER_KEY is given (the service can then read it); plaintext otherwise.
  const personalData = process.env.MASTER_KEY ? new PersonalData(await PersonalDataKeys.open(db, Buffer.from(process.env.MASTER_KEY, 'base64'))) : undefined;
  const started = Date.now();
  const summary = await generateHistory(store, {
    cases: Number(values.cases),
    seed: values.seed as string,
    seal: personalData ? (event, personId) => personalData.seal(event, personId) : undefined,
    erase: personalData ? (personId) => personalData.erase(personId) : undefined,
    onProgress: ({ cases, totalCases, events }) => process.stderr.write(`\r${cases}/${totalCases} cases, ${events} events, ${Math.round(events / ((Date.now() - started) / 1000))} events/s`),
  });
  process.stderr.write('\n');
  const { caseIds: _caseIds, ...rest } = summary;
  console.log(JSON.stringify({ ...rest, seconds: (Date.now() - started) / 1000 }, null, 2));
  await store.close();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
