import { createHash, randomUUID } from 'node:crypto';
import type { CaseDisposition, CaselineEvent, ReferralOutcome, ReferralType } from '@caseline/domain';
import { PgliteDatabase, PostgresDatabase, type RecordedEvent, type SqlDatabase } from '@caseline/event-store';
import { createTestDatabase, type TestDatabase } from '@caseline/event-store/testing';
import { caseworkProjections } from './casework-projections';
import { outcomes, type OutcomeQuery } from './outcomes';
import { projectBatch } from './projection';
import { ReadModels } from './read-models/read-model-database';

// The outcome metrics of SPEC §6 against real databases, on a small data set worked out by hand.
// Every expected number below is derived from the SPEC definitions (and the choices documented at
// the top of outcomes.ts), with the arithmetic beside it; none is copied from the code's output.
//
// Period: March and April 2025 (from 2025-03-01T00:00Z inclusive, to 2025-05-01T00:00Z exclusive).
// now: 2025-05-02T00:00Z. Teams: north, south.
//
// Referrals (h = hours after ReferralMade; d = days after it):
//   id   team  made              type           provider        what happened
//   R0   south 03-01T00:00 (from) food           Food Bank       accepted 12h; closed service_received 34d (04-04)
//   R1   north 03-03T10:00       shelter        Harbor Shelter  accepted 2h; service started 6h; closed service_received 17d
//   R2   north 03-05T09:00       mental_health  Mind Clinic     declined by the provider 10h
//   R3   north 03-10T08:00       food           Food Bank       accepted 80h (> 72: SLA breach); closed service_received 15d
//   R4   north 03-12T00:00       shelter        Hope Shelter    revoked 5h — out of every numerator and denominator
//   R5   north 03-20T12:00       mental_health  Mind Clinic     never answered (42 days by now: SLA breach)
//   R6   south 03-07T00:00       shelter        Harbor Shelter  accepted 24h; service started 39d (936h) — placed, not within 30d
//   R7   south 03-15T06:00       mental_health  Mind Clinic     declined by the client 4h
//   R8   north 04-02T00:00       food           Food Bank       accepted exactly 72h (not a breach); closed could_not_contact 18d
//   R9   north 04-10T00:00       shelter        Harbor Shelter  accepted 1h; closed no_capacity 2d
//   R10  north 04-30T12:00       mental_health  Mind Clinic     never answered, 36h old at now (not yet a breach)
//   R12  south 04-05T00:00       shelter        Hope Shelter    accepted 30h; service started 48h; closed service_received 26d
//   R13  south 04-08T00:00       mental_health  Mind Clinic     accepted 100h (SLA breach); nothing since
//   X1   north 02-28T23:00 (before the period), X2 south 05-01T00:00 (= to, excluded)
//
// Per referral in the period (R4 left out as revoked):
//   id   acc dec resp(h) breach loop30 success30 shelter placed placement(h)
//   R0   A   -   12      -      -      -         -
//   R1   A   -   2       -      ✓      ✓ (svc)   ✓       ✓      6
//   R2   -   D   10      -      ✓      -         -
//   R3   A   -   80      ✓      ✓      ✓ (closed service_received 15d)
//   R5   -   -   -       ✓      -      -         -
//   R6   A   -   24      -      -      -         ✓       ✓      936
//   R7   -   D   4       -      ✓      -         -
//   R8   A   -   72      -      ✓      -         -
//   R9   A   -   1       -      ✓      -         ✓       -
//   R10  -   -   -       -      -      -         -
//   R12  A   -   30      -      ✓      ✓         ✓       ✓      48
//   R13  A   -   100     ✓      -      -         -
//
// Follow-ups (due → what happened; cancelled ones are no longer due, per outcomes.ts):
//   F1  north C1 due 03-10T12:00 completed 03-10T09:00 (kept)    F2  north C1 due 03-15T12:00 completed exactly then (kept)
//   F3  north C2 due 03-20 completed 03-22 (late)                F4  north C2 due 04-05 never completed (missed)
//   F5  north C1 due 04-10 cancelled 04-09 (excluded)            F6  south C3 due 03-25 completed 03-24 (kept)
//   F7  south C3 due 04-20 completed 04-25 (late)                F8  south C4 due 04-28 cancelled 04-27 (excluded)
//   F9  north C1 due 02-20 (before the period)                   F10 south C3 due 05-01T00:00 (= to, excluded)
//   F11 north C2 due 03-01T00:00 (= from) completed 02-28T18:00 (kept)
//
// Welfare checks, per person:
//   P1 north: 03-02, 03-20 (18 days later: repeat)       P2 north: 03-05, 04-05 (31 days later: no repeat)
//   P5 north: 02-20, 03-10 (the earlier one is before the period; none after 03-10: no repeat)
//   P3 south: 04-10 only                                 P4 south: 04-25, 05-01T12:00 (6.5 days later, after the period: repeat)
//   P6 south: 03-12, 04-11 (exactly 30 days later: repeat)
//
// Case closures (duration = closed − opened):
//   C7  north opened 03-01 closed 03-11 resolved (10 d)            C8  north opened 02-10 closed 03-22T12:00 linked_to_services (40.5 d)
//   C9  south opened 03-05 closed 03-09 declined_services (4 d)    C10 south opened 03-20 closed 04-15 linked_to_services (26 d)
//   C11 north closed 03-25, reopened 04-02 (open: not counted)    C12 north opened 04-01 closed 04-04T06:00 resolved (3.25 d)
//   C13 south closed 02-27 (before), C14 north closed 05-01T00:00 (= to): not counted
//   C15 south opened 03-01, closed 03-05, reopened 03-10, closed 04-10 moved_away: counted in April only (40 d since opening)
//
// Apart, in March 2024 (across the US daylight-saving change of 03-10): boundaries of exactly 30 days,
// to show that "within 30 days" means 30 × 24 h whatever the database server's TimeZone.
//   Q1 north food, Food Bank, made 03-01T12:00, accepted 1 h, closed service_received 03-31T12:00 (exactly 720 h)
//   Q2 north shelter, Harbor Shelter, made 03-02T00:00, accepted 2 h, service started 04-01T00:00 (exactly 720 h)
//   P7 north: checks 03-01T12:00 and 03-31T12:00 (exactly 720 h)

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const plusHours = (iso: string, hours: number): string => new Date(Date.parse(iso) + hours * HOUR).toISOString();
const plusDays = (iso: string, days: number): string => plusHours(iso, days * 24);
const t = (local: string): string => `2025-${local}:00.000Z`; // t('03-10T08:00') → 2025-03-10T08:00:00.000Z

/** Builds RecordedEvents in call order: positions store-wide, versions per stream. */
class History {
  readonly events: RecordedEvent[] = [];
  private readonly versions = new Map<string, number>();
  private readonly cases = new Map<string, { personId: string; team: string }>();
  private readonly referrals = new Map<string, string>();

  private record(streamId: string, event: CaselineEvent, at: string, team: string): void {
    const version = (this.versions.get(streamId) ?? 0) + 1;
    this.versions.set(streamId, version);
    const position = BigInt(this.events.length + 1);
    const eventId = randomUUID();
    const previous = this.events.at(-1)?.hash ?? '';
    this.events.push({
      streamId,
      version,
      position,
      checkpoint: position.toString(),
      type: event.type,
      data: event.data,
      metadata: {
        eventId,
        actor: { id: `worker-${team}`, name: `Worker ${team}`, role: 'social_worker', team },
        correlationId: eventId,
        causationId: eventId,
        recordedAt: at,
        schemaVersion: 1,
      },
      hash: createHash('sha256').update(previous + eventId).digest('hex'),
    });
  }

  private caseOf(caseId: string): { personId: string; team: string } {
    const found = this.cases.get(caseId);
    if (!found) throw new Error(`no case ${caseId}`);
    return found;
  }

  /** Registers a person and opens a case about them. */
  openCase(team: string, openedAt: string): string {
    const personId = randomUUID();
    this.record(`person-${personId}`, { type: 'PersonRegistered', data: { personId, givenName: 'Given', familyName: 'Family', registeredAt: openedAt } }, openedAt, team);
    const caseId = randomUUID();
    this.cases.set(caseId, { personId, team });
    this.record(
      `case-${caseId}`,
      {
        type: 'CaseOpened',
        data: { caseId, personId, team, reason: 'welfare_concern', risk: 'medium', summary: 'summary', cadIncidentId: null, openedAt },
      },
      openedAt,
      team,
    );
    return caseId;
  }

  welfareCheck(caseId: string, performedAt: string): void {
    const welfareCheckId = randomUUID();
    this.record(
      `case-${caseId}`,
      {
        type: 'WelfareCheckRecorded',
        data: { caseId, welfareCheckId, performedAt, location: 'home', outcome: 'safe', observations: 'fine', recordedAt: performedAt },
      },
      performedAt,
      this.caseOf(caseId).team,
    );
  }

  /** Schedules a follow-up two days before it is due, then completes or cancels it (or neither). */
  followUp(caseId: string, dueAt: string, then?: { completedAt: string } | { cancelledAt: string }): void {
    const { team } = this.caseOf(caseId);
    const followUpId = randomUUID();
    const scheduledAt = plusDays(dueAt, -2);
    this.record(`case-${caseId}`, { type: 'FollowUpScheduled', data: { caseId, followUpId, dueAt, assigneeId: `worker-${team}`, purpose: 'visit', scheduledAt } }, scheduledAt, team);
    if (then && 'completedAt' in then) {
      this.record(`case-${caseId}`, { type: 'FollowUpCompleted', data: { caseId, followUpId, outcome: 'seen', note: null, completedAt: then.completedAt } }, then.completedAt, team);
    } else if (then) {
      this.record(`case-${caseId}`, { type: 'FollowUpCancelled', data: { caseId, followUpId, reason: 'no longer needed', cancelledAt: then.cancelledAt } }, then.cancelledAt, team);
    }
  }

  closeCase(caseId: string, disposition: CaseDisposition, closedAt: string): void {
    this.record(`case-${caseId}`, { type: 'CaseClosed', data: { caseId, disposition, note: null, closedAt } }, closedAt, this.caseOf(caseId).team);
  }

  reopenCase(caseId: string, reopenedAt: string): void {
    this.record(`case-${caseId}`, { type: 'CaseReopened', data: { caseId, reason: 'new concern', reopenedAt } }, reopenedAt, this.caseOf(caseId).team);
  }

  referral(caseId: string, type: ReferralType, provider: string, madeAt: string): string {
    const { personId, team } = this.caseOf(caseId);
    const referralId = randomUUID();
    this.referrals.set(referralId, team);
    this.record(
      `referral-${referralId}`,
      {
        type: 'ReferralMade',
        data: {
          referralId,
          caseId,
          personId,
          team,
          type,
          provider: { name: provider },
          urgency: 'routine',
          notes: null,
          consentBasis: { kind: 'override', reason: 'test' },
          madeAt,
        },
      },
      madeAt,
      team,
    );
    return referralId;
  }

  private referralEvent(referralId: string, event: CaselineEvent, at: string): void {
    this.record(`referral-${referralId}`, event, at, this.referrals.get(referralId) ?? 'unknown');
  }

  accept(referralId: string, acceptedAt: string): void {
    this.referralEvent(referralId, { type: 'ReferralAccepted', data: { referralId, note: null, acceptedAt } }, acceptedAt);
  }

  decline(referralId: string, by: 'provider' | 'client', declinedAt: string): void {
    this.referralEvent(referralId, { type: 'ReferralDeclined', data: { referralId, by, reason: 'no', declinedAt } }, declinedAt);
  }

  startService(referralId: string, startedAt: string): void {
    this.referralEvent(referralId, { type: 'ReferralServiceStarted', data: { referralId, startedAt, note: null, recordedAt: startedAt } }, startedAt);
  }

  closeReferral(referralId: string, outcome: ReferralOutcome, closedAt: string): void {
    this.referralEvent(referralId, { type: 'ReferralClosed', data: { referralId, outcome, note: null, closedAt } }, closedAt);
  }

  revoke(referralId: string, revokedAt: string): void {
    this.referralEvent(referralId, { type: 'ReferralRevoked', data: { referralId, reason: 'withdrawn', revokedAt } }, revokedAt);
  }
}

/** The data set of the header comment. */
function dataSet(): RecordedEvent[] {
  const h = new History();

  // Cases with welfare checks, follow-ups and referrals.
  const c1 = h.openCase('north', t('02-15T00:00')); // P1
  const c2 = h.openCase('north', t('02-25T00:00')); // P2
  const c5 = h.openCase('north', t('02-18T00:00')); // P5
  const c3 = h.openCase('south', t('03-01T00:00')); // P3
  const c4 = h.openCase('south', t('04-01T00:00')); // P4
  const c6 = h.openCase('south', t('03-01T00:00')); // P6

  h.welfareCheck(c1, t('03-02T10:00'));
  h.welfareCheck(c1, t('03-20T10:00'));
  h.welfareCheck(c2, t('03-05T00:00'));
  h.welfareCheck(c2, t('04-05T00:00'));
  h.welfareCheck(c5, t('02-20T00:00'));
  h.welfareCheck(c5, t('03-10T00:00'));
  h.welfareCheck(c3, t('04-10T00:00'));
  h.welfareCheck(c4, t('04-25T00:00'));
  h.welfareCheck(c4, t('05-01T12:00'));
  h.welfareCheck(c6, t('03-12T00:00'));
  h.welfareCheck(c6, t('04-11T00:00'));

  h.followUp(c1, t('03-10T12:00'), { completedAt: t('03-10T09:00') }); // F1
  h.followUp(c1, t('03-15T12:00'), { completedAt: t('03-15T12:00') }); // F2
  h.followUp(c2, t('03-20T00:00'), { completedAt: t('03-22T00:00') }); // F3
  h.followUp(c2, t('04-05T00:00')); // F4
  h.followUp(c1, t('04-10T00:00'), { cancelledAt: t('04-09T00:00') }); // F5
  h.followUp(c3, t('03-25T00:00'), { completedAt: t('03-24T00:00') }); // F6
  h.followUp(c3, t('04-20T00:00'), { completedAt: t('04-25T00:00') }); // F7
  h.followUp(c4, t('04-28T00:00'), { cancelledAt: t('04-27T00:00') }); // F8
  h.followUp(c1, t('02-20T00:00'), { completedAt: t('02-19T00:00') }); // F9
  h.followUp(c3, t('05-01T00:00'), { completedAt: t('04-30T00:00') }); // F10
  h.followUp(c2, t('03-01T00:00'), { completedAt: t('02-28T18:00') }); // F11

  const r0 = h.referral(c3, 'food', 'Food Bank', t('03-01T00:00'));
  h.accept(r0, plusHours(t('03-01T00:00'), 12));
  h.closeReferral(r0, 'service_received', t('04-04T00:00')); // 34 days

  const r1 = h.referral(c1, 'shelter', 'Harbor Shelter', t('03-03T10:00'));
  h.accept(r1, t('03-03T12:00')); // 2 h
  h.startService(r1, t('03-03T16:00')); // 6 h
  h.closeReferral(r1, 'service_received', t('03-20T10:00')); // 17 days

  const r2 = h.referral(c2, 'mental_health', 'Mind Clinic', t('03-05T09:00'));
  h.decline(r2, 'provider', t('03-05T19:00')); // 10 h

  const r3 = h.referral(c1, 'food', 'Food Bank', t('03-10T08:00'));
  h.accept(r3, t('03-13T16:00')); // 3 d 8 h = 80 h
  h.closeReferral(r3, 'service_received', t('03-25T08:00')); // 15 days, no service start

  const r4 = h.referral(c1, 'shelter', 'Hope Shelter', t('03-12T00:00'));
  h.revoke(r4, t('03-12T05:00'));

  h.referral(c2, 'mental_health', 'Mind Clinic', t('03-20T12:00')); // R5, never answered

  const r6 = h.referral(c3, 'shelter', 'Harbor Shelter', t('03-07T00:00'));
  h.accept(r6, t('03-08T00:00')); // 24 h
  h.startService(r6, t('04-15T00:00')); // 24 days left of March + 15 = 39 days = 936 h

  const r7 = h.referral(c3, 'mental_health', 'Mind Clinic', t('03-15T06:00'));
  h.decline(r7, 'client', t('03-15T10:00')); // 4 h

  const r8 = h.referral(c5, 'food', 'Food Bank', t('04-02T00:00'));
  h.accept(r8, t('04-05T00:00')); // exactly 72 h
  h.closeReferral(r8, 'could_not_contact', t('04-20T00:00')); // 18 days

  const r9 = h.referral(c5, 'shelter', 'Harbor Shelter', t('04-10T00:00'));
  h.accept(r9, t('04-10T01:00')); // 1 h
  h.closeReferral(r9, 'no_capacity', t('04-12T00:00')); // 2 days

  h.referral(c5, 'mental_health', 'Mind Clinic', t('04-30T12:00')); // R10, waiting 36 h at now

  const r12 = h.referral(c4, 'shelter', 'Hope Shelter', t('04-05T00:00'));
  h.accept(r12, t('04-06T06:00')); // 30 h
  h.startService(r12, t('04-07T00:00')); // 48 h
  h.closeReferral(r12, 'service_received', t('05-01T00:00')); // 26 days

  const r13 = h.referral(c4, 'mental_health', 'Mind Clinic', t('04-08T00:00'));
  h.accept(r13, t('04-12T04:00')); // 4 d 4 h = 100 h

  const x1 = h.referral(c1, 'shelter', 'Harbor Shelter', t('02-28T23:00')); // before the period
  h.accept(x1, t('03-01T00:00'));
  h.referral(c6, 'food', 'Food Bank', t('05-01T00:00')); // X2, at `to`: excluded

  // Cases that only close.
  const c7 = h.openCase('north', t('03-01T00:00'));
  h.closeCase(c7, 'resolved', t('03-11T00:00'));
  const c8 = h.openCase('north', t('02-10T00:00'));
  h.closeCase(c8, 'linked_to_services', t('03-22T12:00'));
  const c9 = h.openCase('south', t('03-05T00:00'));
  h.closeCase(c9, 'declined_services', t('03-09T00:00'));
  const c10 = h.openCase('south', t('03-20T00:00'));
  h.closeCase(c10, 'linked_to_services', t('04-15T00:00'));
  const c11 = h.openCase('north', t('03-10T00:00'));
  h.closeCase(c11, 'resolved', t('03-25T00:00'));
  h.reopenCase(c11, t('04-02T00:00'));
  const c12 = h.openCase('north', t('04-01T00:00'));
  h.closeCase(c12, 'resolved', t('04-04T06:00'));
  const c13 = h.openCase('south', t('01-10T00:00'));
  h.closeCase(c13, 'resolved', t('02-27T00:00'));
  const c14 = h.openCase('north', t('04-20T00:00'));
  h.closeCase(c14, 'resolved', t('05-01T00:00'));
  const c15 = h.openCase('south', t('03-01T00:00'));
  h.closeCase(c15, 'resolved', t('03-05T00:00'));
  h.reopenCase(c15, t('03-10T00:00'));
  h.closeCase(c15, 'moved_away', t('04-10T00:00'));

  // March 2024, across daylight saving time (US: 2024-03-10).
  const d1 = h.openCase('north', '2024-02-20T00:00:00.000Z'); // P7
  h.welfareCheck(d1, '2024-03-01T12:00:00.000Z');
  h.welfareCheck(d1, '2024-03-31T12:00:00.000Z');
  const q1 = h.referral(d1, 'food', 'Food Bank', '2024-03-01T12:00:00.000Z');
  h.accept(q1, '2024-03-01T13:00:00.000Z');
  h.closeReferral(q1, 'service_received', '2024-03-31T12:00:00.000Z');
  const q2 = h.referral(d1, 'shelter', 'Harbor Shelter', '2024-03-02T00:00:00.000Z');
  h.accept(q2, '2024-03-02T02:00:00.000Z');
  h.startService(q2, '2024-04-01T00:00:00.000Z');

  return h.events;
}

// Expected values. Rates are numerator ÷ denominator (null over 0); hours and days are compared
// to 6 decimals (percentile_cont interpolates in double precision).
const ratio = (numerator: number, denominator: number) => ({ numerator, denominator, rate: denominator === 0 ? null : numerator / denominator });
const approx = (value: number | null) => (value === null ? null : expect.closeTo(value, 6));
const hours = (median: number | null, p90: number | null, count: number) => ({ median: approx(median), p90: approx(p90), count });
const placementHours = (median: number | null, count: number) => ({ median: approx(median), count });
const days = (median: number | null, count: number) => ({ median: approx(median), count });
const mix = (counts: Record<string, number>) => ({ total: Object.values(counts).reduce((a, b) => a + b, 0), counts });
/** Groupings by type or provider carry only the referral metrics. */
const referralOnly = { followUpCompliance: null, repeatWelfareCheckRate30d: null, caseDispositionMix: null, medianCaseDurationDays: null };

const FROM = '2025-03-01T00:00:00.000Z';
const TO = '2025-05-01T00:00:00.000Z';
const NOW = '2025-05-02T00:00:00.000Z';

// PGlite runs in UTC; PostgreSQL once as the test server is set up (UTC here) and once with the
// server's TimeZone elsewhere, as initdb sets it from the host: the figures must not change.
type Adapter = 'pglite' | 'postgres' | 'postgres, TimeZone America/New_York';

describe.each<Adapter>(['pglite', 'postgres', 'postgres, TimeZone America/New_York'])('outcome metrics (%s)', (adapter) => {
  let database: TestDatabase | undefined;
  let db: SqlDatabase;
  let readModels: ReadModels;

  beforeAll(async () => {
    if (adapter === 'pglite') db = await PgliteDatabase.open();
    else {
      database = await createTestDatabase('caseline_outcomes');
      if (adapter !== 'postgres') {
        const setup = new PostgresDatabase({ connectionString: database.url, max: 1 });
        await setup.query(`ALTER DATABASE ${database.name} SET timezone TO 'America/New_York'`);
        await setup.close();
      }
      db = new PostgresDatabase({ connectionString: database.url, max: 4 });
    }
    readModels = await ReadModels.open(db);
    const events = dataSet();
    await db.transaction(async (tx) => {
      for (const projection of caseworkProjections) await projectBatch(tx, projection, events);
    });
  });

  afterAll(async () => {
    await readModels?.close();
    await db?.close();
    await database?.drop();
  });

  const run = (query: Partial<OutcomeQuery> & Pick<OutcomeQuery, 'groupBy'>) =>
    outcomes(readModels.dataSource, { from: FROM, to: TO, slaHours: 72, now: NOW, ...query });

  it('groups by month (of ReferralMade, dueAt, the index check, the closure)', async () => {
    expect(await run({ groupBy: 'month' })).toEqual([
      {
        key: '2025-03',
        // March referrals: R0 R1 R2 R3 R5 R6 R7 = 7 made (R4 revoked, X1 in February).
        // accepted R0,R1,R3,R6 ÷ (accepted 4 + declined R2,R7) = 4/6
        referralAcceptanceRate: ratio(4, 6),
        // responses 2,4,10,12,24,80 (n=6): median at rank 2.5 → (10+12)/2 = 11; p90 at rank 0.9×5 = 4.5 → 24 + 0.5×(80−24) = 52
        providerResponseHours: hours(11, 52, 6),
        // R3 (80 h) and R5 (never, 42 days) ÷ 7 made = 2/7
        responseSlaBreachRate: ratio(2, 7),
        // closed/declined within 30 d: R1 (17 d), R2, R3 (15 d), R7 = 4; R0 closed at 34 d, R6 still open → 4/7
        loopClosureRate30d: ratio(4, 7),
        // R1 (service started 6 h), R3 (closed service_received 15 d); R0 at 34 d and R6 started at 39 d are too late → 2/7
        successfulReferralRate30d: ratio(2, 7),
        // shelter made R1,R6 (R4 revoked); both started → 2/2
        shelterPlacementRate: ratio(2, 2),
        // placements 6 h and 936 h: median (6+936)/2 = 471
        shelterPlacementHours: placementHours(471, 2),
        // due in March: F1,F2,F3,F6,F11 (F9 in February); kept F1 (early), F2 (exactly at dueAt), F6, F11; F3 late → 4/5
        followUpCompliance: ratio(4, 5),
        // people checked in March: P1,P2,P5,P6 = 4; repeated P1 (18 d), P6 (exactly 30 d); P2 next at 31 d, P5 none after → 2/4
        repeatWelfareCheckRate30d: ratio(2, 4),
        // closed in March and still closed: C7 resolved, C8 linked_to_services, C9 declined_services (C11 reopened, C15 closed again in April)
        caseDispositionMix: mix({ resolved: 1, linked_to_services: 1, declined_services: 1 }),
        // durations 10, 40.5, 4 → sorted 4, 10, 40.5: median 10
        medianCaseDurationDays: days(10, 3),
      },
      {
        key: '2025-04',
        // April referrals: R8 R9 R10 R12 R13 = 5 made (X2 at `to` excluded).
        // accepted R8,R9,R12,R13 ÷ (4 + 0 declined) = 4/4
        referralAcceptanceRate: ratio(4, 4),
        // responses 1,30,72,100 (n=4): median rank 1.5 → (30+72)/2 = 51; p90 rank 2.7 → 72 + 0.7×(100−72) = 91.6
        providerResponseHours: hours(51, 91.6, 4),
        // R13 (100 h) only: R8 answered at exactly 72 h is within; R10 has waited 36 h → 1/5
        responseSlaBreachRate: ratio(1, 5),
        // R8 (18 d), R9 (2 d), R12 (26 d) → 3/5
        loopClosureRate30d: ratio(3, 5),
        // R12 (service started 48 h, closed service_received 26 d); R8 could_not_contact, R9 no_capacity → 1/5
        successfulReferralRate30d: ratio(1, 5),
        // shelter made R9,R12; started R12 → 1/2
        shelterPlacementRate: ratio(1, 2),
        // R12: 48 h
        shelterPlacementHours: placementHours(48, 1),
        // due in April: F4 (never done), F7 (late); F5, F8 cancelled; F10 due at `to` → 0/2
        followUpCompliance: ratio(0, 2),
        // checked in April: P2,P3,P4,P6 = 4; repeated P4 (6.5 d later, on 05-01 after the period) → 1/4
        repeatWelfareCheckRate30d: ratio(1, 4),
        // C10 linked_to_services, C12 resolved, C15 moved_away (its current closure); C14 closed at `to`
        caseDispositionMix: mix({ linked_to_services: 1, resolved: 1, moved_away: 1 }),
        // durations 26, 3.25, 40 (C15 from its opening on 03-01) → median 26
        medianCaseDurationDays: days(26, 3),
      },
    ]);
  });

  it('groups by team', async () => {
    expect(await run({ groupBy: 'team' })).toEqual([
      {
        key: 'north',
        // north referrals: R1 R2 R3 R5 R8 R9 R10 = 7 made (R4 revoked, X1 before the period)
        // accepted R1,R3,R8,R9 ÷ (4 + declined R2) = 4/5
        referralAcceptanceRate: ratio(4, 5),
        // responses 1,2,10,72,80 (n=5): median 10; p90 rank 3.6 → 72 + 0.6×(80−72) = 76.8
        providerResponseHours: hours(10, 76.8, 5),
        // R3, R5 ÷ 7 = 2/7
        responseSlaBreachRate: ratio(2, 7),
        // R1, R2, R3, R8, R9 → 5/7
        loopClosureRate30d: ratio(5, 7),
        // R1, R3 → 2/7
        successfulReferralRate30d: ratio(2, 7),
        // shelter R1, R9; started R1 → 1/2
        shelterPlacementRate: ratio(1, 2),
        shelterPlacementHours: placementHours(6, 1),
        // F1,F2,F3,F4,F11 due; kept F1,F2,F11 → 3/5
        followUpCompliance: ratio(3, 5),
        // P1,P2,P5; repeated P1 → 1/3
        repeatWelfareCheckRate30d: ratio(1, 3),
        // C7 resolved, C8 linked_to_services, C12 resolved
        caseDispositionMix: mix({ resolved: 2, linked_to_services: 1 }),
        // 10, 40.5, 3.25 → median 10
        medianCaseDurationDays: days(10, 3),
      },
      {
        key: 'south',
        // south referrals: R0 R6 R7 R12 R13 = 5 made (X2 at `to`)
        // accepted R0,R6,R12,R13 ÷ (4 + declined by the client R7) = 4/5
        referralAcceptanceRate: ratio(4, 5),
        // responses 4,12,24,30,100 (n=5): median 24; p90 rank 3.6 → 30 + 0.6×(100−30) = 72
        providerResponseHours: hours(24, 72, 5),
        // R13 → 1/5
        responseSlaBreachRate: ratio(1, 5),
        // R7 (declined), R12 (26 d); R0 34 d → 2/5
        loopClosureRate30d: ratio(2, 5),
        // R12 → 1/5 (R6 started at 39 d)
        successfulReferralRate30d: ratio(1, 5),
        // shelter R6, R12, both started → 2/2
        shelterPlacementRate: ratio(2, 2),
        // 936 h and 48 h → median 492
        shelterPlacementHours: placementHours(492, 2),
        // F6 kept, F7 late (F8 cancelled, F10 at `to`) → 1/2
        followUpCompliance: ratio(1, 2),
        // P3, P4, P6; repeated P4, P6 → 2/3
        repeatWelfareCheckRate30d: ratio(2, 3),
        // C9 declined_services, C10 linked_to_services, C15 moved_away (C13 before the period)
        caseDispositionMix: mix({ declined_services: 1, linked_to_services: 1, moved_away: 1 }),
        // 4, 26, 40 → median 26
        medianCaseDurationDays: days(26, 3),
      },
    ]);
  });

  it('groups by referral type, with only the referral metrics', async () => {
    expect(await run({ groupBy: 'type' })).toEqual([
      {
        key: 'food',
        // R0, R3, R8: all accepted → 3/3
        referralAcceptanceRate: ratio(3, 3),
        // 12, 72, 80: median 72; p90 rank 1.8 → 72 + 0.8×8 = 78.4
        providerResponseHours: hours(72, 78.4, 3),
        // R3 → 1/3
        responseSlaBreachRate: ratio(1, 3),
        // R3 (15 d), R8 (18 d); R0 34 d → 2/3
        loopClosureRate30d: ratio(2, 3),
        // R3 → 1/3
        successfulReferralRate30d: ratio(1, 3),
        shelterPlacementRate: ratio(0, 0),
        shelterPlacementHours: placementHours(null, 0),
        ...referralOnly,
      },
      {
        key: 'mental_health',
        // R2, R5, R7, R10, R13: accepted R13 ÷ (1 + declined R2, R7) = 1/3
        referralAcceptanceRate: ratio(1, 3),
        // 4, 10, 100: median 10; p90 rank 1.8 → 10 + 0.8×90 = 82
        providerResponseHours: hours(10, 82, 3),
        // R5, R13 → 2/5
        responseSlaBreachRate: ratio(2, 5),
        // R2, R7 (declines are terminal) → 2/5
        loopClosureRate30d: ratio(2, 5),
        successfulReferralRate30d: ratio(0, 5),
        shelterPlacementRate: ratio(0, 0),
        shelterPlacementHours: placementHours(null, 0),
        ...referralOnly,
      },
      {
        key: 'shelter',
        // R1, R6, R9, R12 (R4 revoked, X1 before): all accepted → 4/4
        referralAcceptanceRate: ratio(4, 4),
        // 1, 2, 24, 30: median (2+24)/2 = 13; p90 rank 2.7 → 24 + 0.7×6 = 28.2
        providerResponseHours: hours(13, 28.2, 4),
        responseSlaBreachRate: ratio(0, 4),
        // R1, R9, R12 → 3/4
        loopClosureRate30d: ratio(3, 4),
        // R1, R12 → 2/4
        successfulReferralRate30d: ratio(2, 4),
        // started R1, R6, R12 (R9 no_capacity) → 3/4
        shelterPlacementRate: ratio(3, 4),
        // 6, 48, 936 → median 48
        shelterPlacementHours: placementHours(48, 3),
        ...referralOnly,
      },
    ]);
  });

  it('groups by provider; a revoked referral leaves its provider’s figures', async () => {
    const food = {
      // as the food type above: R0, R3, R8
      referralAcceptanceRate: ratio(3, 3),
      providerResponseHours: hours(72, 78.4, 3),
      responseSlaBreachRate: ratio(1, 3),
      loopClosureRate30d: ratio(2, 3),
      successfulReferralRate30d: ratio(1, 3),
      shelterPlacementRate: ratio(0, 0),
      shelterPlacementHours: placementHours(null, 0),
      ...referralOnly,
    };
    expect(await run({ groupBy: 'provider' })).toEqual([
      { key: 'Food Bank', ...food },
      {
        key: 'Harbor Shelter',
        // R1, R6, R9: all accepted → 3/3
        referralAcceptanceRate: ratio(3, 3),
        // 1, 2, 24: median 2; p90 rank 1.8 → 2 + 0.8×22 = 19.6
        providerResponseHours: hours(2, 19.6, 3),
        responseSlaBreachRate: ratio(0, 3),
        // R1, R9 → 2/3
        loopClosureRate30d: ratio(2, 3),
        // R1 → 1/3
        successfulReferralRate30d: ratio(1, 3),
        // R1, R6 started → 2/3
        shelterPlacementRate: ratio(2, 3),
        // 6, 936 → 471
        shelterPlacementHours: placementHours(471, 2),
        ...referralOnly,
      },
      {
        key: 'Hope Shelter',
        // R12 alone: R4 (revoked) counts nowhere, so 1 made, not 2
        referralAcceptanceRate: ratio(1, 1),
        providerResponseHours: hours(30, 30, 1),
        responseSlaBreachRate: ratio(0, 1),
        loopClosureRate30d: ratio(1, 1),
        successfulReferralRate30d: ratio(1, 1),
        shelterPlacementRate: ratio(1, 1),
        shelterPlacementHours: placementHours(48, 1),
        ...referralOnly,
      },
      {
        key: 'Mind Clinic',
        // as the mental_health type above: R2, R5, R7, R10, R13
        referralAcceptanceRate: ratio(1, 3),
        providerResponseHours: hours(10, 82, 3),
        responseSlaBreachRate: ratio(2, 5),
        loopClosureRate30d: ratio(2, 5),
        successfulReferralRate30d: ratio(0, 5),
        shelterPlacementRate: ratio(0, 0),
        shelterPlacementHours: placementHours(null, 0),
        ...referralOnly,
      },
    ]);
  });

  it('a team filter sees only that team', async () => {
    expect(await run({ groupBy: 'month', team: 'north' })).toEqual([
      {
        key: '2025-03',
        // R1, R2, R3, R5: accepted R1,R3 ÷ (2 + declined R2) = 2/3
        referralAcceptanceRate: ratio(2, 3),
        // 2, 10, 80: median 10; p90 rank 1.8 → 10 + 0.8×70 = 66
        providerResponseHours: hours(10, 66, 3),
        // R3, R5 → 2/4
        responseSlaBreachRate: ratio(2, 4),
        // R1, R2, R3 → 3/4
        loopClosureRate30d: ratio(3, 4),
        // R1, R3 → 2/4
        successfulReferralRate30d: ratio(2, 4),
        // R1 → 1/1 (R4 revoked)
        shelterPlacementRate: ratio(1, 1),
        shelterPlacementHours: placementHours(6, 1),
        // F1, F2, F3, F11; kept F1, F2, F11 → 3/4
        followUpCompliance: ratio(3, 4),
        // P1, P2, P5; repeated P1 → 1/3
        repeatWelfareCheckRate30d: ratio(1, 3),
        // C7 resolved, C8 linked_to_services
        caseDispositionMix: mix({ resolved: 1, linked_to_services: 1 }),
        // 10, 40.5 → (10+40.5)/2 = 25.25
        medianCaseDurationDays: days(25.25, 2),
      },
      {
        key: '2025-04',
        // R8, R9, R10: accepted R8, R9 → 2/2
        referralAcceptanceRate: ratio(2, 2),
        // 1, 72: median 36.5; p90 rank 0.9 → 1 + 0.9×71 = 64.9
        providerResponseHours: hours(36.5, 64.9, 2),
        // none: R8 at exactly 72 h, R10 waiting 36 h → 0/3
        responseSlaBreachRate: ratio(0, 3),
        // R8, R9 → 2/3
        loopClosureRate30d: ratio(2, 3),
        successfulReferralRate30d: ratio(0, 3),
        // R9 not placed → 0/1
        shelterPlacementRate: ratio(0, 1),
        shelterPlacementHours: placementHours(null, 0),
        // F4 missed (F5 cancelled) → 0/1
        followUpCompliance: ratio(0, 1),
        // P2 (04-05, nothing after) → 0/1
        repeatWelfareCheckRate30d: ratio(0, 1),
        // C12 resolved (C11 reopened, C14 at `to`)
        caseDispositionMix: mix({ resolved: 1 }),
        medianCaseDurationDays: days(3.25, 1),
      },
    ]);
    const byTeam = await run({ groupBy: 'team', team: 'north' });
    expect(byTeam.map((group) => group.key)).toEqual(['north']);
    // the same north figures as the unfiltered grouping by team
    expect(byTeam[0]).toEqual((await run({ groupBy: 'team' }))[0]);
  });

  it('counts a referral still waiting as a breach once the SLA has passed; the SLA is configurable', async () => {
    // A month later R10 (made 04-30T12:00, never answered) has waited past 72 h: April breaches R13, R10 → 2/5.
    const later = await run({ groupBy: 'month', now: '2025-06-01T00:00:00.000Z' });
    expect(later.map((group) => [group.key, group.responseSlaBreachRate])).toEqual([
      ['2025-03', ratio(2, 7)], // R3, R5 as before
      ['2025-04', ratio(2, 5)],
    ]);
    // With a 24 h SLA (now 05-02):
    const strict = await run({ groupBy: 'team', slaHours: 24 });
    expect(strict.map((group) => [group.key, group.responseSlaBreachRate])).toEqual([
      // north: R3 (80 h), R5 (never), R8 (72 h), R10 (waiting 36 h) → 4/7; R1 2 h, R2 10 h, R9 1 h within
      ['north', ratio(4, 7)],
      // south: R12 (30 h), R13 (100 h) → 2/5; R6 at exactly 24 h is within, R0 12 h, R7 4 h
      ['south', ratio(2, 5)],
    ]);
  });

  it('answers an empty period with no groups', async () => {
    expect(await run({ groupBy: 'month', from: '2024-01-01T00:00:00.000Z', to: '2024-02-01T00:00:00.000Z' })).toEqual([]);
  });

  it('reports a group with closures only, its other metrics empty', async () => {
    // 2025-02-27 holds only C13's closure (opened 01-10, closed 02-27: 21 days of January + 27 = 48 days).
    const period = { from: '2025-02-27T00:00:00.000Z', to: '2025-02-28T00:00:00.000Z' };
    expect(await run({ groupBy: 'month', ...period })).toEqual([
      {
        key: '2025-02',
        referralAcceptanceRate: ratio(0, 0),
        providerResponseHours: hours(null, null, 0),
        responseSlaBreachRate: ratio(0, 0),
        loopClosureRate30d: ratio(0, 0),
        successfulReferralRate30d: ratio(0, 0),
        shelterPlacementRate: ratio(0, 0),
        shelterPlacementHours: placementHours(null, 0),
        followUpCompliance: ratio(0, 0),
        repeatWelfareCheckRate30d: ratio(0, 0),
        caseDispositionMix: mix({ resolved: 1 }),
        medianCaseDurationDays: days(48, 1),
      },
    ]);
    expect(await run({ groupBy: 'type', ...period })).toEqual([]);
  });

  it('counts "within 30 days" as 30 × 24 h, across a daylight-saving change and whatever the server TimeZone', async () => {
    if (adapter === 'postgres, TimeZone America/New_York') {
      const { rows } = await db.query<{ timezone: string }>(`SELECT current_setting('TimeZone') AS timezone`);
      expect(rows[0].timezone).toBe('America/New_York');
    }
    expect(await run({ groupBy: 'month', from: '2024-03-01T00:00:00.000Z', to: '2024-04-01T00:00:00.000Z', now: '2024-04-15T00:00:00.000Z' })).toEqual([
      {
        key: '2024-03',
        // Q1, Q2 accepted → 2/2
        referralAcceptanceRate: ratio(2, 2),
        // 1 h, 2 h: median 1.5; p90 rank 0.9 → 1 + 0.9×1 = 1.9
        providerResponseHours: hours(1.5, 1.9, 2),
        responseSlaBreachRate: ratio(0, 2),
        // Q1 closed at exactly 720 h (within); Q2 not closed → 1/2
        loopClosureRate30d: ratio(1, 2),
        // Q1 closed service_received at 720 h, Q2 started at 720 h: both within → 2/2
        successfulReferralRate30d: ratio(2, 2),
        shelterPlacementRate: ratio(1, 1),
        shelterPlacementHours: placementHours(720, 1),
        followUpCompliance: ratio(0, 0),
        // P7: the second check 720 h after the first → 1/1
        repeatWelfareCheckRate30d: ratio(1, 1),
        caseDispositionMix: mix({}),
        medianCaseDurationDays: days(null, 0),
      },
    ]);
  });

  it('counts only follow-ups already due, and one cancelled after its due date as not kept', async () => {
    // Mid-April: F4 (due 04-05, never done) is due; F5 was cancelled before its due date; F7 and
    // F8 are not due yet → April 0/1 (with NOW in May it was 0/2: F4, F7 late).
    const april = (await run({ groupBy: 'month', now: '2025-04-15T00:00:00.000Z' })).find((group) => group.key === '2025-04');
    expect(april?.followUpCompliance).toEqual(ratio(0, 1));
    // June: G1 cancelled two days after it was due (a missed visit, not a cancelled one), G2 kept → 1/2.
    const h = new History();
    const c = h.openCase('north', '2025-06-01T00:00:00.000Z');
    h.followUp(c, '2025-06-10T00:00:00.000Z', { cancelledAt: '2025-06-12T00:00:00.000Z' }); // G1
    h.followUp(c, '2025-06-11T00:00:00.000Z', { completedAt: '2025-06-11T00:00:00.000Z' }); // G2
    await db.transaction(async (tx) => {
      for (const projection of caseworkProjections) await projectBatch(tx, projection, h.events);
    });
    const june = await run({ groupBy: 'month', from: '2025-06-01T00:00:00.000Z', to: '2025-07-01T00:00:00.000Z', now: '2025-07-01T00:00:00.000Z' });
    expect(june[0].followUpCompliance).toEqual(ratio(1, 2));
  });
});
