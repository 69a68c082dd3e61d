import type { RecordedEvent } from '@caseline/event-store';
import { casesProjection, peopleProjection, referralsProjection, timelineProjection, UnprojectableEventError } from './casework-projections';
import type { Projection, Row, Rows } from './projection';

// Each projection as a specification: events in, rows out (pure; no database).

const PERSON = '00000000-0000-4000-8000-000000000001';
const CASE = '00000000-0000-4000-8000-000000000002';
const REFERRAL = '00000000-0000-4000-8000-000000000003';
const FOLLOW_UP = '00000000-0000-4000-8000-000000000004';
const sealed = (text: string) => ({ $pii: 1, p: PERSON, v: `sealed(${text})` });

let position = 0n;
function event(streamId: string, type: string, data: Record<string, unknown>, version = 1, actor = { id: 'sw-1', name: 'Sam', role: 'social_worker', team: 'north' }): RecordedEvent {
  position += 1n;
  return {
    streamId,
    version,
    position,
    checkpoint: `1:${position}`,
    type,
    data,
    metadata: { eventId: `00000000-0000-4000-9000-${String(position).padStart(12, '0')}`, actor, correlationId: 'c', causationId: 'c', recordedAt: `2026-03-01T10:00:0${Number(position) % 10}.000Z`, schemaVersion: 1 },
    hash: 'h',
  };
}

/** Runs events through a projection over in-memory tables, as projectBatch does over SQL ones. */
function project(projection: Projection, events: RecordedEvent[], tables = new Map<string, Map<string, Row>>()) {
  for (const table of projection.tables) if (!tables.has(table.name)) tables.set(table.name, new Map());
  const keyOf = (table: string) => projection.tables.find((t) => t.name === table)?.key as string;
  const rows: Rows = {
    get: (table, key) => tables.get(table)?.get(key),
    put: (table, row) => void tables.get(table)?.set(String(row[keyOf(table)]), row),
    remove: (table, key) => void tables.get(table)?.delete(key),
  };
  for (const e of events) projection.apply(e, rows);
  return (table: string) => [...(tables.get(table)?.values() ?? [])];
}

const caseStream = `case-${CASE}`;
const opened = () => event(caseStream, 'CaseOpened', { caseId: CASE, personId: PERSON, team: 'north', reason: 'homelessness', risk: 'medium', summary: sealed('s'), cadIncidentId: null, openedAt: '2026-03-01T10:00:00.000Z' });

describe('people projection', () => {
  const registered = () => event(`person-${PERSON}`, 'PersonRegistered', { personId: PERSON, givenName: sealed('Ana'), familyName: sealed('Lopez'), registeredAt: '2026-03-01T09:00:00.000Z' });

  it('keeps the sealed name with the event that sealed it, and the registering team', () => {
    expect(project(peopleProjection, [registered()])('rm_people')).toEqual([
      {
        person_id: PERSON,
        team: 'north',
        given_name: { event: 'PersonRegistered', value: sealed('Ana') },
        family_name: { event: 'PersonRegistered', value: sealed('Lopez') },
        erased: false,
        registered_at: '2026-03-01T09:00:00.000Z',
      },
    ]);
  });

  it('takes corrections, and on erasure drops the sealed copies too', () => {
    const corrected = event(`person-${PERSON}`, 'PersonDetailsCorrected', { personId: PERSON, changes: { familyName: sealed('López') }, correctedAt: 'x' }, 2);
    const rows = project(peopleProjection, [registered(), corrected]);
    expect(rows('rm_people')[0].family_name).toEqual({ event: 'PersonDetailsCorrected', value: sealed('López') });
    expect(rows('rm_people')[0].given_name).toEqual({ event: 'PersonRegistered', value: sealed('Ana') });
    const erased = project(peopleProjection, [registered(), corrected, event(`person-${PERSON}`, 'PersonErased', { personId: PERSON, reason: 'r', erasedAt: 'x' }, 3)]);
    expect(erased('rm_people')[0]).toMatchObject({ given_name: null, family_name: null, erased: true });
  });

  it('ignores consents (the caseload needs none of it)', () => {
    const consent = event(`person-${PERSON}`, 'ConsentGranted', { personId: PERSON, consentId: 'c', scope: 'referral-sharing', recipients: ['any'], expiresAt: null, grantedAt: 'x' }, 2);
    expect(project(peopleProjection, [registered(), consent])('rm_people')).toHaveLength(1);
  });
});

describe('cases projection', () => {
  it('opens a case row with nothing scheduled', () => {
    expect(project(casesProjection, [opened()])('rm_cases')).toEqual([
      {
        case_id: CASE,
        person_id: PERSON,
        team: 'north',
        status: 'open',
        reason: 'homelessness',
        risk: 'medium',
        assigned_worker_id: null,
        opened_at: '2026-03-01T10:00:00.000Z',
        closed_at: null,
        disposition: null,
        last_contact_at: null,
        scheduled_follow_ups: {},
        next_follow_up_due_at: null,
        version: 1,
      },
    ]);
  });

  it('tracks assignment, risk, last contact, scheduled follow-ups and the next one due', () => {
    const rows = project(casesProjection, [
      opened(),
      event(caseStream, 'CaseAssigned', { caseId: CASE, workerId: 'sw-9', previousWorkerId: null, assignedAt: 'x' }, 2),
      event(caseStream, 'RiskLevelChanged', { caseId: CASE, from: 'medium', to: 'high', reason: sealed('r'), changedAt: 'x' }, 3),
      event(caseStream, 'WelfareCheckRecorded', { caseId: CASE, welfareCheckId: 'w1', performedAt: '2026-03-02T08:00:00.000Z', location: sealed('l'), outcome: 'safe', observations: sealed('o'), recordedAt: 'x' }, 4),
      event(caseStream, 'FollowUpScheduled', { caseId: CASE, followUpId: FOLLOW_UP, dueAt: '2026-03-09T08:00:00.000Z', assigneeId: 'sw-9', purpose: sealed('p'), scheduledAt: '2026-03-02T08:00:00.000Z' }, 5),
      event(caseStream, 'FollowUpScheduled', { caseId: CASE, followUpId: 'f2', dueAt: '2026-03-05T08:00:00.000Z', assigneeId: 'sw-9', purpose: sealed('p'), scheduledAt: '2026-03-02T08:00:00.000Z' }, 6),
      event(caseStream, 'FollowUpCompleted', { caseId: CASE, followUpId: 'f2', outcome: sealed('met'), note: null, completedAt: '2026-03-04T08:00:00.000Z' }, 7),
    ]);
    expect(rows('rm_cases')[0]).toMatchObject({
      assigned_worker_id: 'sw-9',
      risk: 'high',
      last_contact_at: '2026-03-04T08:00:00.000Z',
      scheduled_follow_ups: { [FOLLOW_UP]: '2026-03-09T08:00:00.000Z' },
      next_follow_up_due_at: '2026-03-09T08:00:00.000Z',
      version: 7,
    });
    expect(rows('rm_welfare_checks')).toEqual([{ welfare_check_id: 'w1', case_id: CASE, person_id: PERSON, team: 'north', performed_at: '2026-03-02T08:00:00.000Z', outcome: 'safe' }]);
    expect(rows('rm_follow_ups').map((f) => [f.follow_up_id, f.status, f.completed_at])).toEqual([
      [FOLLOW_UP, 'scheduled', null],
      ['f2', 'completed', '2026-03-04T08:00:00.000Z'],
    ]);
  });

  it('closes (cancelling what was scheduled) and reopens', () => {
    const rows = project(casesProjection, [
      opened(),
      event(caseStream, 'FollowUpScheduled', { caseId: CASE, followUpId: FOLLOW_UP, dueAt: '2026-03-09T08:00:00.000Z', assigneeId: 'a', purpose: sealed('p'), scheduledAt: 'x' }, 2),
      event(caseStream, 'FollowUpCancelled', { caseId: CASE, followUpId: FOLLOW_UP, reason: 'case_closed', cancelledAt: '2026-03-03T08:00:00.000Z' }, 3),
      event(caseStream, 'CaseClosed', { caseId: CASE, disposition: 'resolved', note: null, closedAt: '2026-03-03T08:00:00.000Z' }, 4),
    ]);
    expect(rows('rm_cases')[0]).toMatchObject({ status: 'closed', closed_at: '2026-03-03T08:00:00.000Z', disposition: 'resolved', scheduled_follow_ups: {}, next_follow_up_due_at: null });
    expect(rows('rm_follow_ups')[0]).toMatchObject({ status: 'cancelled', cancelled_at: '2026-03-03T08:00:00.000Z' });
    const reopened = project(casesProjection, [opened(), event(caseStream, 'CaseClosed', { caseId: CASE, disposition: 'resolved', note: null, closedAt: 'x' }, 2), event(caseStream, 'CaseReopened', { caseId: CASE, reason: sealed('r'), reopenedAt: 'y' }, 3)]);
    expect(reopened('rm_cases')[0]).toMatchObject({ status: 'open', closed_at: null, disposition: null, version: 3 });
  });

  it('cannot handle an event about a case or follow-up it never saw (a poison event)', () => {
    expect(() => project(casesProjection, [event(caseStream, 'CaseAssigned', { caseId: CASE, workerId: 'w', previousWorkerId: null, assignedAt: 'x' }, 2)])).toThrow(UnprojectableEventError);
    expect(() => project(casesProjection, [opened(), event(caseStream, 'FollowUpCompleted', { caseId: CASE, followUpId: 'nope', outcome: 'x', note: null, completedAt: 'x' }, 2)])).toThrow(/no rm_follow_ups row/);
  });
});

describe('referrals projection', () => {
  const referralStream = `referral-${REFERRAL}`;
  const made = () =>
    event(referralStream, 'ReferralMade', {
      referralId: REFERRAL,
      caseId: CASE,
      personId: PERSON,
      team: 'north',
      type: 'shelter',
      provider: { name: 'Harbor House' },
      urgency: 'urgent',
      notes: sealed('n'),
      consentBasis: { kind: 'consent', consentId: 'c' },
      madeAt: '2026-03-01T10:00:00.000Z',
    });

  it('follows the closed loop: first response, service start, closure with outcome', () => {
    const rows = project(referralsProjection, [
      made(),
      event(referralStream, 'ReferralAccepted', { referralId: REFERRAL, note: null, acceptedAt: '2026-03-01T14:00:00.000Z' }, 2),
      event(referralStream, 'ReferralServiceStarted', { referralId: REFERRAL, startedAt: '2026-03-02T10:00:00.000Z', note: null, recordedAt: 'x' }, 3),
      event(referralStream, 'ReferralClosed', { referralId: REFERRAL, outcome: 'service_received', note: null, closedAt: '2026-03-20T10:00:00.000Z' }, 4),
    ]);
    expect(rows('rm_referrals')).toEqual([
      {
        referral_id: REFERRAL,
        case_id: CASE,
        person_id: PERSON,
        team: 'north',
        type: 'shelter',
        provider: 'Harbor House',
        urgency: 'urgent',
        status: 'closed',
        made_at: '2026-03-01T10:00:00.000Z',
        first_response_at: '2026-03-01T14:00:00.000Z',
        accepted_at: '2026-03-01T14:00:00.000Z',
        declined_at: null,
        declined_by: null,
        service_started_at: '2026-03-02T10:00:00.000Z',
        closed_at: '2026-03-20T10:00:00.000Z',
        outcome: 'service_received',
        revoked_at: null,
        version: 4,
      },
    ]);
  });

  it('records who declined, and revocations', () => {
    const declined = project(referralsProjection, [made(), event(referralStream, 'ReferralDeclined', { referralId: REFERRAL, by: 'client', reason: sealed('r'), declinedAt: '2026-03-01T11:00:00.000Z' }, 2)]);
    expect(declined('rm_referrals')[0]).toMatchObject({ status: 'declined', declined_by: 'client', first_response_at: '2026-03-01T11:00:00.000Z' });
    const revoked = project(referralsProjection, [made(), event(referralStream, 'ReferralRevoked', { referralId: REFERRAL, reason: sealed('r'), revokedAt: '2026-03-01T12:00:00.000Z' }, 2)]);
    expect(revoked('rm_referrals')[0]).toMatchObject({ status: 'revoked', revoked_at: '2026-03-01T12:00:00.000Z', first_response_at: null });
  });
});

describe('timeline projection', () => {
  it('writes one entry per case or referral event: where the event is, its time and who may read it', () => {
    const officer = { id: 'of-1', name: 'Olu', role: 'officer', team: 'north' };
    const rows = project(timelineProjection, [
      opened(),
      event(caseStream, 'NoteAdded', { caseId: CASE, noteId: 'n1', body: sealed('secret'), visibility: 'confidential', addedAt: 'x' }, 2),
      event(caseStream, 'WelfareCheckRecorded', { caseId: CASE, welfareCheckId: 'w', performedAt: 'x', location: sealed('l'), outcome: 'safe', observations: sealed('o'), recordedAt: 'x' }, 3, officer),
      event(`referral-${REFERRAL}`, 'ReferralMade', { referralId: REFERRAL, caseId: CASE, personId: PERSON, team: 'north', type: 'food', provider: { name: 'P' }, urgency: 'routine', notes: null, consentBasis: { kind: 'consent', consentId: 'c' }, madeAt: 'x' }),
      event(`referral-${REFERRAL}`, 'ReferralAccepted', { referralId: REFERRAL, note: null, acceptedAt: 'x' }, 2),
      event(`person-${PERSON}`, 'ConsentGranted', { personId: PERSON, consentId: 'c', scope: 'referral-sharing', recipients: ['any'], expiresAt: null, grantedAt: 'x' }),
    ]);
    const entries = rows('rm_timeline');
    expect(entries.map((e) => [e.stream_id, e.version, e.case_id, e.visibility])).toEqual([
      [caseStream, 1, CASE, 'team'],
      [caseStream, 2, CASE, 'confidential'],
      [caseStream, 3, CASE, 'team'],
      [`referral-${REFERRAL}`, 1, CASE, 'referral'],
      [`referral-${REFERRAL}`, 2, CASE, 'referral'],
    ]);
    // An entry points at its event; the event's data and actor stay in the log alone.
    expect(Object.keys(entries[2]).sort()).toEqual(['at', 'case_id', 'event_id', 'seq', 'stream_id', 'version', 'visibility']);
    expect(Number(entries[1].seq)).toBeLessThan(Number(entries[2].seq));
  });
});
