import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import {
  bodies,
  caller,
  eventCount,
  expectProblem,
  expectStatus,
  openCase,
  registerPerson,
  serverErrors,
  streams,
  UUID,
  versionOf,
  type Caller,
} from '../support/casework-client';

jest.setTimeout(90_000);

// Idempotency-Key (same key + same body → the first answer, nothing new; other body → 422),
// If-Match (stale → 412, nothing appended) and many concurrent writers on one case.

const key = () => `key-${randomUUID()}`;

describe.each(ADAPTERS)('idempotency and concurrency on %s', (adapter) => {
  let api: ApiHarness;
  let worker: Caller;
  let supervisor: Caller;

  beforeAll(async () => {
    api = await startApi(adapter);
    [worker, supervisor] = await Promise.all([caller(api, 'social_worker'), caller(api, 'supervisor')]);
  });
  afterAll(() => api.close());

  /** The retry answers exactly as the first did, marked as a replay. */
  function expectReplayOf(first: Response, retry: Response) {
    expect({ status: retry.status, body: retry.body }).toEqual({ status: first.status, body: first.body });
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
  }

  describe('Idempotency-Key', () => {
    it('replays a case opening: same status and body, no new event', async () => {
      const personId = await registerPerson(worker);
      const headers = { 'Idempotency-Key': key() };
      const first = await worker.post('/api/cases', bodies.case(personId), headers);
      expect(expectStatus(first, 201)).toEqual({ id: expect.stringMatching(UUID), version: 1 });
      const events = await eventCount(api);
      const retry = await worker.post('/api/cases', bodies.case(personId), headers);
      expectReplayOf(first, retry);
      expect(await eventCount(api)).toBe(events);
      expect(await versionOf(api, streams.case(first.body.id))).toBe(1);
    });

    it('replays a person registration without registering twice', async () => {
      const headers = { 'Idempotency-Key': key() };
      const first = await worker.post('/api/people', bodies.person(), headers);
      expectStatus(first, 201);
      const events = await eventCount(api);
      expectReplayOf(first, await worker.post('/api/people', bodies.person(), headers));
      expect(await eventCount(api)).toBe(events);
    });

    it('replays a welfare check: same welfareCheckId, stream version unchanged', async () => {
      const { caseId } = await openCase(worker);
      const body = bodies.welfareCheck();
      const headers = { 'Idempotency-Key': key() };
      const first = await worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers);
      expect(expectStatus(first, 201)).toEqual({ id: caseId, version: 2, welfareCheckId: expect.stringMatching(UUID) });
      const retry = await worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers);
      expectReplayOf(first, retry);
      expect(await versionOf(api, streams.case(caseId))).toBe(2);
    });

    it('replays the first answer even after the record moved on', async () => {
      const { caseId } = await openCase(worker);
      const body = bodies.welfareCheck();
      const headers = { 'Idempotency-Key': key() };
      const first = await worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers);
      expectStatus(first, 201);
      expectStatus(await worker.post(`/api/cases/${caseId}/notes`, bodies.note()), 201);
      expectReplayOf(first, await worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers));
      expect(await versionOf(api, streams.case(caseId))).toBe(3);
    });

    it('replays a transition instead of refusing it as a lifecycle conflict', async () => {
      const { caseId } = await openCase(worker);
      const headers = { 'Idempotency-Key': key() };
      const first = await worker.post(`/api/cases/${caseId}/closure`, bodies.closure(), headers);
      expect(expectStatus(first, 200)).toEqual({ id: caseId, version: 2 });
      expectReplayOf(first, await worker.post(`/api/cases/${caseId}/closure`, bodies.closure(), headers));
      expect(await versionOf(api, streams.case(caseId))).toBe(2);
    });

    it('refuses the same key with another body (422), appending nothing', async () => {
      const { caseId } = await openCase(worker);
      const headers = { 'Idempotency-Key': key() };
      expectStatus(await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck({ outcome: 'safe' }), headers), 201);
      const reused = await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck({ outcome: 'transported' }), headers);
      expectProblem(reused, 422, 'idempotency_key_reused');
      expect(await versionOf(api, streams.case(caseId))).toBe(2);
    });

    it('refuses the same key with another body on a creation (422), appending nothing', async () => {
      const personId = await registerPerson(worker);
      const headers = { 'Idempotency-Key': key() };
      expectStatus(await worker.post('/api/cases', bodies.case(personId), headers), 201);
      const events = await eventCount(api);
      expectProblem(await worker.post('/api/cases', bodies.case(personId, { summary: 'Another summary' }), headers), 422, 'idempotency_key_reused');
      expect(await eventCount(api)).toBe(events);
    });

    it('refuses the same key on another endpoint or record (422), appending nothing', async () => {
      const { caseId } = await openCase(worker);
      const { caseId: otherCaseId } = await openCase(worker);
      const headers = { 'Idempotency-Key': key() };
      expectStatus(await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck(), headers), 201);
      const events = await eventCount(api);
      expectProblem(await worker.post(`/api/cases/${caseId}/notes`, bodies.note(), headers), 422, 'idempotency_key_reused');
      expectProblem(await worker.post(`/api/cases/${otherCaseId}/welfare-checks`, bodies.welfareCheck(), headers), 422, 'idempotency_key_reused');
      expectProblem(await worker.post('/api/people', bodies.person(), headers), 422, 'idempotency_key_reused');
      expect(await eventCount(api)).toBe(events);
    });

    it('refuses a malformed Idempotency-Key (400)', async () => {
      const { caseId } = await openCase(worker);
      for (const bad of ['x'.repeat(201), 'has space', 'tab\there']) {
        expectProblem(await worker.post(`/api/cases/${caseId}/notes`, bodies.note(), { 'Idempotency-Key': bad }), 400);
      }
      expect(await versionOf(api, streams.case(caseId))).toBe(1);
    });
  });

  describe('If-Match', () => {
    it('refuses a stale If-Match (412) with the current ETag, appending nothing', async () => {
      const { caseId } = await openCase(worker);
      expectStatus(await worker.post(`/api/cases/${caseId}/notes`, bodies.note()), 201);
      const stale = await worker.post(`/api/cases/${caseId}/risk`, bodies.risk('high'), { 'If-Match': '"1"' });
      expectProblem(stale, 412, 'version_mismatch');
      expect(stale.headers.etag).toBe('"2"');
      expectProblem(await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck(), { 'If-Match': '"1"' }), 412, 'version_mismatch');
      expectProblem(await worker.post(`/api/cases/${caseId}/closure`, bodies.closure(), { 'If-Match': '"7"' }), 412, 'version_mismatch');
      expect(await versionOf(api, streams.case(caseId))).toBe(2);
    });

    it('accepts the current If-Match (200) and answers the new ETag', async () => {
      const { caseId } = await openCase(worker);
      const etag = (await worker.get(`/api/cases/${caseId}`)).headers.etag;
      expect(etag).toBe('"1"');
      const changed = await worker.post(`/api/cases/${caseId}/risk`, bodies.risk('high'), { 'If-Match': etag });
      expect(expectStatus(changed, 200)).toEqual({ id: caseId, version: 2 });
      expect(changed.headers.etag).toBe('"2"');
      expect(expectStatus(await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck(), { 'If-Match': '"2"' }), 201)).toMatchObject({ version: 3 });
    });

    it('guards people and referrals with If-Match too (412)', async () => {
      const personId = await registerPerson(worker);
      expectProblem(await worker.post(`/api/people/${personId}/consents`, bodies.consent(), { 'If-Match': '"5"' }), 412, 'version_mismatch');
      expect(await versionOf(api, streams.person(personId))).toBe(1);
      const { caseId } = await openCase(worker, personId);
      const referral = await supervisor.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentOverride: { reason: 'danger' } }));
      const referralId = expectStatus(referral, 201).referralId;
      expectProblem(await worker.post(`/api/referrals/${referralId}/acceptance`, {}, { 'If-Match': '"2"' }), 412, 'version_mismatch');
      expect(await versionOf(api, streams.referral(referralId))).toBe(1);
      expectStatus(await worker.post(`/api/referrals/${referralId}/acceptance`, {}, { 'If-Match': '"1"' }), 200);
    });

    it('refuses a malformed If-Match (400), appending nothing', async () => {
      const { caseId } = await openCase(worker);
      for (const bad of ['1', 'abc', '"one"', '"-1"', '"1.5"', '""']) {
        expectProblem(await worker.post(`/api/cases/${caseId}/risk`, bodies.risk('high'), { 'If-Match': bad }), 400);
      }
      expect(await versionOf(api, streams.case(caseId))).toBe(1);
    });

    it('lets exactly one of many writers holding the same If-Match win; the rest get 412', async () => {
      const { caseId } = await openCase(worker);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => worker.post(`/api/cases/${caseId}/notes`, bodies.note('team', `note ${i}`), { 'If-Match': '"1"' })),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([201, ...Array(9).fill(412)]);
      for (const answer of answers.filter((a) => a.status === 412)) expectProblem(answer, 412, 'version_mismatch');
      expect(await versionOf(api, streams.case(caseId))).toBe(2);
    });
  });

  describe('concurrent writers', () => {
    it('accepts 50 concurrent welfare checks on one case and loses none', async () => {
      const { caseId } = await openCase(worker);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck({ observations: `visit ${i}` }))),
      );
      for (const answer of answers) expectStatus(answer, 201);
      const returnedIds = answers.map((answer) => answer.body.welfareCheckId as string);
      expect(new Set(returnedIds).size).toBe(50);
      expect(answers.map((answer) => answer.body.version as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

      const events = await api.store.readStream(streams.case(caseId));
      expect(events).toHaveLength(51);
      const checks = events.filter((event) => event.type === 'WelfareCheckRecorded');
      expect(checks).toHaveLength(50);
      const storedIds = checks.map((event) => (event.data as { welfareCheckId: string }).welfareCheckId);
      expect(new Set(storedIds).size).toBe(50);
      expect([...storedIds].sort()).toEqual([...returnedIds].sort());
      expect(new Set(checks.map((event) => (event.data as { observations: string }).observations)).size).toBe(50);
      expect((await worker.get(`/api/cases/${caseId}`)).body).toMatchObject({ welfareCheckCount: 50, version: 51 });
    });

    it('appends one event for concurrent identical requests under one key', async () => {
      const { caseId } = await openCase(worker);
      const body = bodies.welfareCheck();
      const headers = { 'Idempotency-Key': key() };
      const answers = await Promise.all(Array.from({ length: 10 }, () => worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers)));
      for (const answer of answers) expect({ status: answer.status, body: answer.body }).toEqual({ status: 201, body: answers[0].body });
      expect(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
      const events = await api.store.readStream(streams.case(caseId));
      expect(events.map((event) => event.type)).toEqual(['CaseOpened', 'WelfareCheckRecorded']);
    });

    it('opens one case for concurrent identical creations under one key', async () => {
      const personId = await registerPerson(worker);
      const headers = { 'Idempotency-Key': key() };
      const events = await eventCount(api);
      const answers = await Promise.all(Array.from({ length: 10 }, () => worker.post('/api/cases', bodies.case(personId), headers)));
      for (const answer of answers) expect({ status: answer.status, body: answer.body }).toEqual({ status: 201, body: answers[0].body });
      expect(await eventCount(api)).toBe(events + 1);
      expect(await versionOf(api, streams.case(answers[0].body.id))).toBe(1);
    });

    it('keeps every follow-up of concurrent schedulers and completions', async () => {
      const { caseId } = await openCase(worker);
      const scheduled = await Promise.all(Array.from({ length: 20 }, () => worker.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp())));
      const followUpIds = scheduled.map((answer) => expectStatus(answer, 201).followUpId as string);
      const completed = await Promise.all(followUpIds.map((id) => worker.post(`/api/cases/${caseId}/follow-ups/${id}/completion`, bodies.completion())));
      for (const answer of completed) expectStatus(answer, 200);
      const card = (await worker.get(`/api/cases/${caseId}`)).body;
      expect(card.followUps).toHaveLength(20);
      expect(card.followUps.every((followUp: { status: string }) => followUp.status === 'completed')).toBe(true);
      expect(card.version).toBe(41);
    });
  });

  it('answered no request with a 5xx', () => {
    expect(serverErrors(api)).toEqual([]);
  });
});
