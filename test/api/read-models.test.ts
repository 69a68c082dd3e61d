import { randomUUID } from 'node:crypto';
import { caseworkEvent, until } from '@caseline/projections/testing';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import {
  bodies,
  caller,
  consentedCase,
  expectProblem,
  expectStatus,
  makeReferral,
  openCase,
  registerPerson,
  scheduleFollowUp,
  type Caller,
} from '../support/casework-client';

// The read side through the API: caseload, timeline, referral list, outcomes, read-your-writes.

// Starting the embedded database takes seconds on a busy machine; Jest's 5 s default is too tight.
jest.setTimeout(60_000);

describe.each(ADAPTERS)('read models through the API (%s)', (adapter) => {
  let api: ApiHarness;
  let worker: Caller;
  let officer: Caller;
  let auditor: Caller;
  let otherTeam: Caller;

  beforeAll(async () => {
    api = await startApi(adapter);
    worker = await caller(api, 'social_worker');
    officer = await caller(api, 'officer');
    auditor = await caller(api, 'auditor', 'audit');
    otherTeam = await caller(api, 'social_worker', 'south');
  });
  afterAll(() => api.close());

  /** The consistency token of a command's answer, to read our own write. */
  const token = (response: { headers: Record<string, string> }) => ({ 'X-Consistency-Token': response.headers['x-consistency-token'] });

  it('lists the caseload with overdue follow-ups and open referrals, read-your-writes', async () => {
    const personId = await registerPerson(worker, { givenName: 'Maya', familyName: 'Okafor' });
    const { caseId } = await openCase(worker, personId);
    const overdue = await worker.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp({ dueAt: new Date(Date.now() + 1500).toISOString() }));
    expectStatus(overdue, 201);
    await scheduleFollowUp(worker, caseId);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const consentId = expectStatus(await worker.post(`/api/people/${personId}/consents`, bodies.consent()), 201).consentId;
    const referral = await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentId }));
    expectStatus(referral, 201);
    const page = expectStatus(await worker.get(`/api/caseload?overdue=true&limit=200`, token(referral)), 200);
    const item = page.items.find((entry: { caseId: string }) => entry.caseId === caseId);
    expect(item).toMatchObject({ caseId, personName: 'Maya Okafor', status: 'open', overdueFollowUps: 1, openReferrals: 1, reason: 'homelessness', risk: 'medium' });
    expect(Date.parse(item.nextFollowUpDueAt)).toBeLessThan(Date.now());
    // Other teams see none of it; the caseload is not for officers.
    const south = expectStatus(await otherTeam.get('/api/caseload?limit=200', token(referral)), 200);
    expect(south.items.map((entry: { caseId: string }) => entry.caseId)).not.toContain(caseId);
    expectProblem(await officer.get('/api/caseload'), 403);
    // Each listed case was a read, and is in the access log.
    const log = expectStatus(await auditor.get(`/api/audit/access-log?caseId=${caseId}`), 200);
    const fromCaseload = log.items.filter((entry: { endpoint: string; actor: { id: string } }) => entry.endpoint === 'GET /api/caseload' && entry.actor.id === worker.sub);
    expect(fromCaseload.map((entry: { recordType: string; recordId: string }) => [entry.recordType, entry.recordId])).toEqual(
      expect.arrayContaining([
        ['case', caseId],
        ['person', personId],
      ]),
    );
  });

  it('pages the caseload with a cursor, and filters by worker and status', async () => {
    const supervisor = await caller(api, 'supervisor');
    const cases: string[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      const { caseId } = await openCase(worker);
      last = await supervisor.post(`/api/cases/${caseId}/assignment`, { workerId: 'sw-pager' });
      cases.push(caseId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { caseId: string; assignedWorkerId: string }[]; nextCursor: string | null } = expectStatus(
        await worker.get(`/api/caseload?workerId=sw-pager&status=open&limit=2${cursor ? `&cursor=${cursor}` : ''}`, token(last as never)),
        200,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.caseId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...cases].sort());
    expectProblem(await worker.get('/api/caseload?cursor=bogus!'), 400);
    // Well-formed but forged: its parts are checked before they reach a query.
    expectProblem(await worker.get(`/api/caseload?cursor=${Buffer.from('["x"]').toString('base64url')}`), 400);
    expectProblem(await worker.get(`/api/referrals?cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`), 400);
    expectProblem(await worker.get('/api/caseload?limit=500'), 400);
    expectProblem(await worker.get('/api/caseload?colour=blue'), 400);
  });

  it('tells the case story oldest first; officers get no confidential notes and no referral details', async () => {
    const { caseId, consentId } = await consentedCase(worker);
    expectStatus(await officer.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck({ location: 'Elm Park', observations: 'Shivering, accepted blanket' })), 201);
    expectStatus(await worker.post(`/api/cases/${caseId}/notes`, bodies.note('confidential', 'Discloses relapse')), 201);
    const referral = await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentId, notes: 'Needs a ground-floor bed' }));
    expectStatus(referral, 201);
    const accepted = await worker.post(`/api/referrals/${referral.body.referralId}/acceptance`, {});
    const asWorker = expectStatus(await worker.get(`/api/cases/${caseId}/timeline`, token(accepted)), 200);
    expect(asWorker.items.map((entry: { type: string }) => entry.type)).toEqual(['CaseOpened', 'WelfareCheckRecorded', 'NoteAdded', 'ReferralMade', 'ReferralAccepted']);
    const texts = asWorker.items.map((entry: { summary: string }) => entry.summary).join('\n');
    expect(texts).toContain('Elm Park');
    expect(texts).toContain('Discloses relapse');
    expect(texts).toContain('Harbor House');
    expect(asWorker.items[1].actor).toEqual({ id: officer.sub, name: 'Test officer', role: 'officer' });
    const asOfficer = expectStatus(await officer.get(`/api/cases/${caseId}/timeline`, token(accepted)), 200);
    expect(asOfficer.items.map((entry: { type: string }) => entry.type)).toEqual(['CaseOpened', 'WelfareCheckRecorded', 'ReferralMade', 'ReferralAccepted']);
    const officerText = JSON.stringify(asOfficer);
    expect(officerText).not.toContain('relapse');
    expect(officerText).not.toContain('Harbor House');
    expect(officerText).not.toContain('ground-floor');
    expectProblem(await otherTeam.get(`/api/cases/${caseId}/timeline`), 404);
    // The worker's page showed the referral's details: that read is logged too; the officer's did not.
    const log = expectStatus(await auditor.get(`/api/audit/access-log?caseId=${caseId}`), 200);
    const timelineReads = log.items.filter((entry: { endpoint: string }) => entry.endpoint === 'GET /api/cases/:id/timeline');
    expect(timelineReads.filter((entry: { recordType: string; actor: { id: string } }) => entry.recordType === 'referral').map((entry: { actor: { id: string } }) => entry.actor.id)).toContain(worker.sub);
    expect(timelineReads.some((entry: { recordType: string; actor: { id: string } }) => entry.recordType === 'referral' && entry.actor.id === officer.sub)).toBe(false);
  });

  it('lists referrals with time to first response and SLA breach', async () => {
    const { caseId, consentId } = await consentedCase(worker);
    const referralId = await makeReferral(worker, caseId, { consentId, type: 'food', provider: { name: 'Pantry Co' } });
    const declined = await worker.post(`/api/referrals/${referralId}/decline`, bodies.decline('provider', 'out of area'));
    expectStatus(declined, 200);
    const list = expectStatus(await worker.get(`/api/referrals?caseId=${caseId}&status=declined&provider=Pantry%20Co`, token(declined)), 200);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ id: referralId, caseId, type: 'food', provider: { name: 'Pantry Co' }, status: 'declined', slaBreached: false, declinedBy: 'provider' });
    expect(list.items[0].hoursToFirstResponse).toBeGreaterThanOrEqual(0);
    expect(expectStatus(await otherTeam.get(`/api/referrals?caseId=${caseId}`), 200).items).toEqual([]);
    expectProblem(await officer.get('/api/referrals'), 403);
    expectProblem(await worker.get('/api/referrals?type=spaceship'), 400);
  });

  it('answers outcomes per group with numerators and denominators, scoped to the team', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const { caseId, consentId } = await consentedCase(worker);
    const referralId = await makeReferral(worker, caseId, { consentId });
    const accepted = await worker.post(`/api/referrals/${referralId}/acceptance`, {});
    const body = expectStatus(await worker.get(`/api/outcomes?from=${from}&to=${to}&groupBy=type`, token(accepted)), 200);
    expect(body).toMatchObject({ groupBy: 'type', team: 'north' });
    const shelter = body.groups.find((group: { key: string }) => group.key === 'shelter');
    expect(shelter.referralAcceptanceRate.numerator).toBeGreaterThanOrEqual(1);
    expect(shelter.referralAcceptanceRate.denominator).toBeGreaterThanOrEqual(shelter.referralAcceptanceRate.numerator);
    expect(shelter.followUpCompliance).toBeNull();
    const south = expectStatus(await otherTeam.get(`/api/outcomes?from=${from}&to=${to}&groupBy=team`), 200);
    expect(south.groups.map((group: { key: string }) => group.key)).not.toContain('north');
    expectProblem(await worker.get(`/api/outcomes?from=${to}&to=${from}`), 400);
    expectProblem(await worker.get(`/api/outcomes?from=yesterday&to=${to}`), 400);
    expectProblem(await officer.get(`/api/outcomes?from=${from}&to=${to}`), 403);
  });

  it('refuses a malformed consistency token, and answers 503 when the read side cannot catch up in time', async () => {
    expectProblem(await worker.get('/api/caseload', { 'X-Consistency-Token': 'not-a-token' }), 400);
    // A token for a checkpoint far ahead of anything stored: the bounded wait runs out.
    const ahead = Buffer.from(`c1:${'9'.repeat(15)}:1`).toString('base64url');
    const response = await worker.get('/api/caseload', { 'X-Consistency-Token': ahead });
    expectProblem(response, 503);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('shows a parked poison event in /health/ready and the metrics, and goes on projecting', async () => {
    const { caseId } = await openCase(worker);
    // An event the cases projection cannot handle (a follow-up that was never scheduled).
    await api.store.append(`case-${caseId}`, [caseworkEvent('FollowUpCompleted', { caseId, followUpId: randomUUID(), outcome: 'x', note: null, completedAt: new Date().toISOString() })]);
    await until(async () => (await api.http().get('/health/ready')).body.info?.projections?.deadLetters === 1);
    const ready = expectStatus(await api.http().get('/health/ready'), 200);
    expect(ready.info.projections.projections.cases).toEqual({ started: true, deadLetters: 1 });
    const later = await worker.post(`/api/cases/${caseId}/notes`, bodies.note());
    expectStatus(await worker.get('/api/caseload', token(later)), 200);
    const metrics = await api.http().get('/health/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('caseline_projection_dead_letters{projection="cases"} 1');
    expect(metrics.text).toMatch(/caseline_projection_events_behind\{projection="timeline"\} \d+/);
    // The note above was one event onto an existing case: sent as a group (of one, at least).
    expect(metrics.text).toMatch(/^caseline_append_groups_total [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^caseline_append_groups_failed_total 0$/m);
  });
});
