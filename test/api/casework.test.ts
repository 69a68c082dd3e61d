import type { Response } from 'supertest';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import {
  bodies,
  caller,
  closeCase,
  consentedCase,
  eventCount,
  expectProblem,
  expectStatus,
  grantConsent,
  makeReferral,
  openCase,
  registerPerson,
  scheduleFollowUp,
  serverErrors,
  streams,
  UUID,
  versionOf,
  type Caller,
} from '../support/casework-client';

jest.setTimeout(60_000);

// Every casework endpoint through real HTTP: happy paths, role and scope refusals, and the
// lifecycle rules of SPEC §3. After every refusal the target stream is unchanged.

describe.each(ADAPTERS)('casework API on %s', (adapter) => {
  let api: ApiHarness;
  let officer: Caller;
  let worker: Caller;
  let supervisor: Caller;
  let auditor: Caller;
  let admin: Caller;
  let southWorker: Caller;
  let southSupervisor: Caller;

  beforeAll(async () => {
    api = await startApi(adapter);
    [officer, worker, supervisor, auditor, admin, southWorker, southSupervisor] = await Promise.all([
      caller(api, 'officer'),
      caller(api, 'social_worker'),
      caller(api, 'supervisor'),
      caller(api, 'auditor', 'audit'),
      caller(api, 'admin', 'ops'),
      caller(api, 'social_worker', 'south'),
      caller(api, 'supervisor', 'south'),
    ]);
  });
  afterAll(() => api.close());

  /** A refusal: problem+json with this status and code, and the stream did not move. */
  async function expectRefused(response: Response, status: number, code: string | undefined, streamId: string, before: number) {
    expectProblem(response, status, code);
    expect(await versionOf(api, streamId)).toBe(before);
  }

  /** A refusal of a creation: problem+json and not one event anywhere in the store. */
  async function expectNothingAppended(response: Response, status: number, code: string | undefined, eventsBefore: number) {
    expectProblem(response, status, code);
    expect(await eventCount(api)).toBe(eventsBefore);
  }

  function expectCommandHeaders(response: Response, version: number) {
    expect(response.headers.etag).toBe(`"${version}"`);
    expect(response.headers['x-consistency-token']).toEqual(expect.any(String));
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  }

  describe('people', () => {
    it('registers a person: 201 with id and version', async () => {
      const response = await worker.post('/api/people', bodies.person());
      expect(expectStatus(response, 201)).toEqual({ id: expect.stringMatching(UUID), version: 1 });
      expectCommandHeaders(response, 1);
      expect(await versionOf(api, streams.person(response.body.id))).toBe(1);
    });

    it('reads a person back with consents for a social worker', async () => {
      const personId = await registerPerson(worker, { givenName: 'Rosa', familyName: 'Diaz' });
      const response = await worker.get(`/api/people/${personId}`);
      expect(expectStatus(response, 200)).toMatchObject({
        id: personId,
        givenName: 'Rosa',
        familyName: 'Diaz',
        dateOfBirth: '1980-04-12',
        phone: '+1 555 0100',
        erased: false,
        version: 1,
        consents: [],
      });
      expect(response.headers.etag).toBe('"1"');
    });

    it('gives an officer the person without any consents key', async () => {
      const personId = await registerPerson(worker);
      await grantConsent(worker, personId);
      const response = await officer.get(`/api/people/${personId}`);
      expect(expectStatus(response, 200)).toMatchObject({ id: personId, givenName: 'Ana' });
      expect(response.body).not.toHaveProperty('consents');
    });

    it('registers people as officer and supervisor, not as auditor or admin', async () => {
      expectStatus(await officer.post('/api/people', bodies.person()), 201);
      expectStatus(await supervisor.post('/api/people', bodies.person()), 201);
      const before = await eventCount(api);
      await expectNothingAppended(await auditor.post('/api/people', bodies.person()), 403, 'forbidden', before);
      await expectNothingAppended(await admin.post('/api/people', bodies.person()), 403, 'forbidden', before);
    });

    it('hides a person of another team as 404, and shows them to an auditor', async () => {
      const personId = await registerPerson(worker);
      expectProblem(await southWorker.get(`/api/people/${personId}`), 404, 'not_found');
      expectStatus(await auditor.get(`/api/people/${personId}`), 200);
    });

    it('refuses an admin reading a person (403)', async () => {
      const personId = await registerPerson(worker);
      expectProblem(await admin.get(`/api/people/${personId}`), 403, 'forbidden');
    });

    it('answers 404 for an unknown or malformed person id', async () => {
      expectProblem(await worker.get('/api/people/6f1c2a54-0000-4000-8000-000000000000'), 404);
      expectProblem(await worker.get('/api/people/not-a-uuid'), 404);
      expectProblem(await worker.get('/api/people/1'), 404);
    });
  });

  describe('consents', () => {
    it('grants a consent: 201 with consentId', async () => {
      const personId = await registerPerson(worker);
      const response = await worker.post(`/api/people/${personId}/consents`, bodies.consent(['Harbor House'], { expiresAt: '2099-01-01T00:00:00Z' }));
      expect(expectStatus(response, 201)).toEqual({ id: personId, version: 2, consentId: expect.stringMatching(UUID) });
      expectCommandHeaders(response, 2);
      const person = await worker.get(`/api/people/${personId}`);
      expect(person.body.consents).toEqual([
        expect.objectContaining({ consentId: response.body.consentId, scope: 'referral-sharing', recipients: ['Harbor House'], active: true }),
      ]);
    });

    it('revokes a consent: 200, and a second revocation is 409', async () => {
      const personId = await registerPerson(worker);
      const consentId = await grantConsent(worker, personId);
      const revoked = await worker.post(`/api/people/${personId}/consents/${consentId}/revocation`, bodies.reason());
      expect(expectStatus(revoked, 200)).toEqual({ id: personId, version: 3, consentId });
      expectCommandHeaders(revoked, 3);
      const again = await worker.post(`/api/people/${personId}/consents/${consentId}/revocation`, bodies.reason());
      await expectRefused(again, 409, 'consent_already_revoked', streams.person(personId), 3);
      const person = await worker.get(`/api/people/${personId}`);
      expect(person.body.consents).toEqual([expect.objectContaining({ consentId, active: false, revokedAt: expect.any(String) })]);
    });

    it('answers 404 for revoking an unknown consent', async () => {
      const personId = await registerPerson(worker);
      const response = await worker.post(`/api/people/${personId}/consents/0d6f5a8e-1111-4111-8111-111111111111/revocation`, bodies.reason());
      await expectRefused(response, 404, undefined, streams.person(personId), 1);
    });

    it('refuses consents to an officer (403)', async () => {
      const personId = await registerPerson(worker);
      await expectRefused(await officer.post(`/api/people/${personId}/consents`, bodies.consent()), 403, 'forbidden', streams.person(personId), 1);
    });

    it('hides another team’s person from consent changes (404)', async () => {
      const personId = await registerPerson(worker);
      await expectRefused(await southWorker.post(`/api/people/${personId}/consents`, bodies.consent()), 404, undefined, streams.person(personId), 1);
    });
  });

  describe('erasure', () => {
    it('lets an admin erase a person, who then reads as erased', async () => {
      const personId = await registerPerson(worker, { givenName: 'Erasmo', familyName: 'Borrado' });
      const response = await admin.post(`/api/people/${personId}/erasure`, bodies.reason('subject request'));
      expect(expectStatus(response, 200)).toEqual({ id: personId, version: 2 });
      expectCommandHeaders(response, 2);
      const person = await worker.get(`/api/people/${personId}`);
      expect(expectStatus(person, 200)).toMatchObject({
        id: personId,
        erased: true,
        erasedAt: expect.any(String),
        givenName: null,
        familyName: null,
        dateOfBirth: null,
        phone: null,
      });
    });

    it('refuses erasure to every role but admin (403)', async () => {
      const personId = await registerPerson(worker);
      for (const who of [officer, worker, supervisor, auditor]) {
        await expectRefused(await who.post(`/api/people/${personId}/erasure`, bodies.reason()), 403, 'forbidden', streams.person(personId), 1);
      }
    });

    it('refuses erasing twice (409)', async () => {
      const personId = await registerPerson(worker);
      expectStatus(await admin.post(`/api/people/${personId}/erasure`, bodies.reason()), 200);
      await expectRefused(await admin.post(`/api/people/${personId}/erasure`, bodies.reason()), 409, 'person_already_erased', streams.person(personId), 2);
    });

    it('answers 404 for erasing an unknown person', async () => {
      const before = await eventCount(api);
      await expectNothingAppended(await admin.post('/api/people/6f1c2a54-0000-4000-8000-00000000beef/erasure', bodies.reason()), 404, undefined, before);
    });

    it('refuses a case for an erased person (409)', async () => {
      const personId = await registerPerson(worker);
      expectStatus(await admin.post(`/api/people/${personId}/erasure`, bodies.reason()), 200);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post('/api/cases', bodies.case(personId)), 409, 'person_erased', before);
    });

    it('leaves no readable personal data of an erased person in the store (crypto-shredding)', async () => {
      const marker = `Shredded${Date.now()}`;
      const personId = await registerPerson(worker, { givenName: marker, familyName: `${marker}Family`, phone: '+1 555 0142' });
      expectStatus(await admin.post(`/api/people/${personId}/erasure`, bodies.reason()), 200);
      const { rows } = await api.db.query<{ row: string }>('SELECT (data::text || metadata::text) AS row FROM es_events WHERE stream_id = $1', [streams.person(personId)]);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter(({ row }) => row.includes(marker) || row.includes('555 0142'))).toEqual([]);
    });
  });

  describe('cases', () => {
    it('opens a case: 201, then reads it back', async () => {
      const personId = await registerPerson(officer);
      const response = await officer.post('/api/cases', bodies.case(personId, { cadIncidentId: 'CAD-2024-0042' }));
      expect(expectStatus(response, 201)).toEqual({ id: expect.stringMatching(UUID), version: 1 });
      expectCommandHeaders(response, 1);
      const read = await officer.get(`/api/cases/${response.body.id}`);
      expect(expectStatus(read, 200)).toMatchObject({
        id: response.body.id,
        personId,
        status: 'open',
        reason: 'homelessness',
        risk: 'medium',
        team: 'north',
        assignedWorkerId: null,
        openedAt: expect.any(String),
        closedAt: null,
        disposition: null,
        version: 1,
      });
      expect(read.headers.etag).toBe('"1"');
    });

    it('answers 404 for a case on an unknown person', async () => {
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post('/api/cases', bodies.case('6f1c2a54-0000-4000-8000-000000000001')), 404, undefined, before);
    });

    it('answers 404 for a case on another team’s person', async () => {
      const personId = await registerPerson(southWorker);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post('/api/cases', bodies.case(personId)), 404, undefined, before);
    });

    it('refuses opening a case to auditor and admin (403)', async () => {
      const personId = await registerPerson(worker);
      const before = await eventCount(api);
      await expectNothingAppended(await auditor.post('/api/cases', bodies.case(personId)), 403, 'forbidden', before);
      await expectNothingAppended(await admin.post('/api/cases', bodies.case(personId)), 403, 'forbidden', before);
    });

    it('hides another team’s case (404), shows it to an auditor, refuses it to an admin (403)', async () => {
      const { caseId } = await openCase(worker);
      expectProblem(await southWorker.get(`/api/cases/${caseId}`), 404, 'not_found');
      expectStatus(await auditor.get(`/api/cases/${caseId}`), 200);
      expectProblem(await admin.get(`/api/cases/${caseId}`), 403, 'forbidden');
    });

    it('answers 404 for unknown and malformed case ids', async () => {
      expectProblem(await worker.get('/api/cases/6f1c2a54-0000-4000-8000-000000000002'), 404);
      expectProblem(await worker.get('/api/cases/123'), 404);
      expectProblem(await worker.post('/api/cases/not-a-uuid/welfare-checks', bodies.welfareCheck()), 404);
      expectProblem(await worker.post('/api/cases/6f1c2a54-0000-4000-8000-000000000002/notes', bodies.note()), 404);
    });

    it('refuses every command on another team’s case (404)', async () => {
      const { caseId } = await openCase(worker);
      const followUpId = await scheduleFollowUp(worker, caseId);
      const stream = streams.case(caseId);
      const attempts: Array<[string, object]> = [
        ['welfare-checks', bodies.welfareCheck()],
        ['notes', bodies.note()],
        ['follow-ups', bodies.followUp()],
        [`follow-ups/${followUpId}/completion`, bodies.completion()],
        [`follow-ups/${followUpId}/cancellation`, bodies.reason()],
        ['risk', bodies.risk()],
        ['closure', bodies.closure()],
        ['referrals', bodies.referral({ consentOverride: { reason: 'imminent danger' } })],
      ];
      for (const [path, body] of attempts) {
        await expectRefused(await southSupervisor.post(`/api/cases/${caseId}/${path}`, body), 404, undefined, stream, 2);
      }
      await expectRefused(await southSupervisor.post(`/api/cases/${caseId}/assignment`, bodies.assignment()), 404, undefined, stream, 2);
    });
  });

  describe('assignment and risk', () => {
    it('lets a supervisor assign a case (200)', async () => {
      const { caseId } = await openCase(worker);
      const response = await supervisor.post(`/api/cases/${caseId}/assignment`, bodies.assignment('sw-42'));
      expect(expectStatus(response, 200)).toEqual({ id: caseId, version: 2 });
      expectCommandHeaders(response, 2);
      expect((await worker.get(`/api/cases/${caseId}`)).body).toMatchObject({ assignedWorkerId: 'sw-42', version: 2 });
    });

    it('refuses assignment to social worker and officer (403)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await worker.post(`/api/cases/${caseId}/assignment`, bodies.assignment()), 403, 'forbidden', streams.case(caseId), 1);
      await expectRefused(await officer.post(`/api/cases/${caseId}/assignment`, bodies.assignment()), 403, 'forbidden', streams.case(caseId), 1);
    });

    it('checks the role before the body (403, not 400)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await worker.post(`/api/cases/${caseId}/assignment`, { nonsense: true }), 403, 'forbidden', streams.case(caseId), 1);
      await expectRefused(await officer.post(`/api/cases/${caseId}/risk`, { risk: 'extreme' }), 403, 'forbidden', streams.case(caseId), 1);
    });

    it('refuses assigning the same worker again (409)', async () => {
      const { caseId } = await openCase(worker);
      expectStatus(await supervisor.post(`/api/cases/${caseId}/assignment`, bodies.assignment('sw-1')), 200);
      await expectRefused(await supervisor.post(`/api/cases/${caseId}/assignment`, bodies.assignment('sw-1')), 409, 'already_assigned', streams.case(caseId), 2);
    });

    it('lets a social worker change the risk (200), not an officer (403)', async () => {
      const { caseId } = await openCase(worker);
      const response = await worker.post(`/api/cases/${caseId}/risk`, bodies.risk('high'));
      expect(expectStatus(response, 200)).toEqual({ id: caseId, version: 2 });
      expect((await worker.get(`/api/cases/${caseId}`)).body.risk).toBe('high');
      await expectRefused(await officer.post(`/api/cases/${caseId}/risk`, bodies.risk('low')), 403, 'forbidden', streams.case(caseId), 2);
    });

    it('refuses a risk change to the current level (409)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await worker.post(`/api/cases/${caseId}/risk`, bodies.risk('medium')), 409, 'risk_unchanged', streams.case(caseId), 1);
    });

    it('refuses assignment and risk changes on a closed case (409)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      await expectRefused(await supervisor.post(`/api/cases/${caseId}/assignment`, bodies.assignment()), 409, 'case_closed', streams.case(caseId), 2);
      await expectRefused(await worker.post(`/api/cases/${caseId}/risk`, bodies.risk()), 409, 'case_closed', streams.case(caseId), 2);
    });
  });

  describe('welfare checks and notes', () => {
    it('records a welfare check as an officer: 201 with welfareCheckId', async () => {
      const { caseId } = await openCase(officer);
      const response = await officer.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck());
      expect(expectStatus(response, 201)).toEqual({ id: caseId, version: 2, welfareCheckId: expect.stringMatching(UUID) });
      expectCommandHeaders(response, 2);
      const [, event] = await api.store.readStream(streams.case(caseId));
      expect(event).toMatchObject({ type: 'WelfareCheckRecorded', data: { welfareCheckId: response.body.welfareCheckId, outcome: 'safe' } });
    });

    it('refuses a welfare check on a closed case (409 case_closed)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      await expectRefused(await officer.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck()), 409, 'case_closed', streams.case(caseId), 2);
    });

    it('refuses welfare checks to auditor and admin (403)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await auditor.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck()), 403, 'forbidden', streams.case(caseId), 1);
      await expectRefused(await admin.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck()), 403, 'forbidden', streams.case(caseId), 1);
    });

    it('adds a team note as an officer and a confidential note as a social worker (201 with noteId)', async () => {
      const { caseId } = await openCase(worker);
      const team = await officer.post(`/api/cases/${caseId}/notes`, bodies.note('team'));
      expect(expectStatus(team, 201)).toEqual({ id: caseId, version: 2, noteId: expect.stringMatching(UUID) });
      const confidential = await worker.post(`/api/cases/${caseId}/notes`, bodies.note('confidential', 'Disclosed history'));
      expect(expectStatus(confidential, 201)).toEqual({ id: caseId, version: 3, noteId: expect.stringMatching(UUID) });
      const events = await api.store.readStream(streams.case(caseId));
      expect(events.slice(1).map((event) => (event.data as { visibility: string }).visibility)).toEqual(['team', 'confidential']);
    });

    it('refuses a confidential note to an officer (403)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await officer.post(`/api/cases/${caseId}/notes`, bodies.note('confidential')), 403, 'forbidden', streams.case(caseId), 1);
    });

    it('allows notes on a closed case', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      expect(expectStatus(await officer.post(`/api/cases/${caseId}/notes`, bodies.note('team')), 201)).toMatchObject({ version: 3 });
      expect(expectStatus(await worker.post(`/api/cases/${caseId}/notes`, bodies.note('confidential')), 201)).toMatchObject({ version: 4 });
    });
  });

  describe('follow-ups', () => {
    it('schedules a follow-up: 201 with followUpId', async () => {
      const { caseId } = await openCase(officer);
      const response = await officer.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp());
      expect(expectStatus(response, 201)).toEqual({ id: caseId, version: 2, followUpId: expect.stringMatching(UUID) });
      expectCommandHeaders(response, 2);
      const card = (await officer.get(`/api/cases/${caseId}`)).body;
      expect(card.followUps).toEqual([expect.objectContaining({ followUpId: response.body.followUpId, status: 'scheduled' })]);
    });

    it('completes a follow-up (200), and a second completion is 409', async () => {
      const { caseId } = await openCase(officer);
      const followUpId = await scheduleFollowUp(officer, caseId);
      const response = await officer.post(`/api/cases/${caseId}/follow-ups/${followUpId}/completion`, bodies.completion('Met', { note: 'All good' }));
      expect(expectStatus(response, 200)).toEqual({ id: caseId, version: 3, followUpId });
      expectCommandHeaders(response, 3);
      await expectRefused(
        await officer.post(`/api/cases/${caseId}/follow-ups/${followUpId}/completion`, bodies.completion()),
        409,
        'follow_up_not_scheduled',
        streams.case(caseId),
        3,
      );
      await expectRefused(await officer.post(`/api/cases/${caseId}/follow-ups/${followUpId}/cancellation`, bodies.reason()), 409, 'follow_up_not_scheduled', streams.case(caseId), 3);
    });

    it('cancels a follow-up (200), and then refuses completing it (409)', async () => {
      const { caseId } = await openCase(worker);
      const followUpId = await scheduleFollowUp(worker, caseId);
      expect(expectStatus(await worker.post(`/api/cases/${caseId}/follow-ups/${followUpId}/cancellation`, bodies.reason('moved')), 200)).toEqual({
        id: caseId,
        version: 3,
        followUpId,
      });
      await expectRefused(await worker.post(`/api/cases/${caseId}/follow-ups/${followUpId}/completion`, bodies.completion()), 409, 'follow_up_not_scheduled', streams.case(caseId), 3);
    });

    it('answers 404 for an unknown or malformed follow-up id', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(
        await worker.post(`/api/cases/${caseId}/follow-ups/0d6f5a8e-2222-4222-8222-222222222222/completion`, bodies.completion()),
        404,
        undefined,
        streams.case(caseId),
        1,
      );
      await expectRefused(await worker.post(`/api/cases/${caseId}/follow-ups/nope/cancellation`, bodies.reason()), 404, undefined, streams.case(caseId), 1);
    });

    it('refuses scheduling a follow-up on a closed case (409 case_closed)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      await expectRefused(await worker.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp()), 409, 'case_closed', streams.case(caseId), 2);
    });
  });

  describe('closure and reopening', () => {
    it('closes a case (200) and cancels its scheduled follow-ups', async () => {
      const { caseId } = await openCase(worker);
      const done = await scheduleFollowUp(worker, caseId);
      const pendingA = await scheduleFollowUp(worker, caseId);
      const pendingB = await scheduleFollowUp(worker, caseId);
      expectStatus(await worker.post(`/api/cases/${caseId}/follow-ups/${done}/completion`, bodies.completion()), 200);
      const response = await worker.post(`/api/cases/${caseId}/closure`, bodies.closure('linked_to_services', { note: 'Housed' }));
      expect(expectStatus(response, 200)).toEqual({ id: caseId, version: 8 });
      expectCommandHeaders(response, 8);
      const appended = (await api.store.readStream(streams.case(caseId))).slice(5);
      expect(appended.map((event) => event.type)).toEqual(['FollowUpCancelled', 'FollowUpCancelled', 'CaseClosed']);
      expect(appended.slice(0, 2).map((event) => (event.data as { followUpId: string }).followUpId).sort()).toEqual([pendingA, pendingB].sort());
      const card = (await worker.get(`/api/cases/${caseId}`)).body;
      expect(card).toMatchObject({ status: 'closed', disposition: 'linked_to_services', closedAt: expect.any(String), nextFollowUpDueAt: null, overdueFollowUps: 0 });
      const statuses = Object.fromEntries(card.followUps.map((followUp: { followUpId: string; status: string }) => [followUp.followUpId, followUp.status]));
      expect(statuses).toEqual({ [done]: 'completed', [pendingA]: 'cancelled', [pendingB]: 'cancelled' });
    });

    it('refuses closing a closed case (409)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      await expectRefused(await worker.post(`/api/cases/${caseId}/closure`, bodies.closure()), 409, 'case_already_closed', streams.case(caseId), 2);
    });

    it('refuses closing to an officer (403)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await officer.post(`/api/cases/${caseId}/closure`, bodies.closure()), 403, 'forbidden', streams.case(caseId), 1);
    });

    it('reopens a closed case (200)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      const response = await worker.post(`/api/cases/${caseId}/reopening`, bodies.reason('new incident'));
      expect(expectStatus(response, 200)).toEqual({ id: caseId, version: 3 });
      expectCommandHeaders(response, 3);
      expect((await worker.get(`/api/cases/${caseId}`)).body).toMatchObject({ status: 'open', reopenedAt: expect.any(String) });
      expectStatus(await officer.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck()), 201);
    });

    it('refuses reopening an open case (409)', async () => {
      const { caseId } = await openCase(worker);
      await expectRefused(await worker.post(`/api/cases/${caseId}/reopening`, bodies.reason()), 409, 'case_not_closed', streams.case(caseId), 1);
    });

    it('refuses reopening to an officer (403)', async () => {
      const { caseId } = await openCase(worker);
      await closeCase(worker, caseId);
      await expectRefused(await officer.post(`/api/cases/${caseId}/reopening`, bodies.reason()), 403, 'forbidden', streams.case(caseId), 2);
    });
  });

  describe('referrals', () => {
    it('makes a referral with a covering consent: 201 with referralId and caseId', async () => {
      const { caseId, consentId } = await consentedCase(worker);
      const caseVersion = await versionOf(api, streams.case(caseId));
      const response = await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral({ notes: 'Needs a bed tonight' }));
      expect(expectStatus(response, 201)).toEqual({ id: response.body.referralId, version: 1, referralId: expect.stringMatching(UUID), caseId });
      expectCommandHeaders(response, 1);
      const [made] = await api.store.readStream(streams.referral(response.body.referralId));
      expect(made).toMatchObject({ type: 'ReferralMade', data: { caseId, consentBasis: { kind: 'consent', consentId } } });
      expect(await versionOf(api, streams.case(caseId))).toBe(caseVersion);
    });

    it('accepts a consent naming the provider, case-insensitively', async () => {
      const personId = await registerPerson(worker);
      await grantConsent(worker, personId, ['harbor house']);
      const { caseId } = await openCase(worker, personId);
      await makeReferral(worker, caseId);
    });

    it('refuses a referral without consent (409 consent_required)', async () => {
      const { caseId } = await openCase(worker);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral()), 409, 'consent_required', before);
    });

    it('refuses a referral when the consent names another provider or was revoked (409)', async () => {
      const personId = await registerPerson(worker);
      const other = await grantConsent(worker, personId, ['Other Shelter']);
      const revoked = await grantConsent(worker, personId);
      expectStatus(await worker.post(`/api/people/${personId}/consents/${revoked}/revocation`, bodies.reason()), 200);
      const { caseId } = await openCase(worker, personId);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral()), 409, 'consent_required', before);
      await expectNothingAppended(await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentId: other })), 409, 'consent_invalid', before);
    });

    it('lets a supervisor override missing consent with a reason (201)', async () => {
      const { caseId } = await openCase(worker);
      const referralId = await makeReferral(supervisor, caseId, { consentOverride: { reason: 'imminent risk to life' } });
      // The override reason is free text about the person: stored sealed, read back through the API.
      const [made] = await api.store.readStream(streams.referral(referralId));
      expect(JSON.stringify(made.data)).not.toContain('imminent risk to life');
      const read = await supervisor.get(`/api/referrals/${referralId}`);
      expect(expectStatus(read, 200)).toMatchObject({ consentBasis: { kind: 'override', reason: 'imminent risk to life' } });
    });

    it('refuses a consent override to a social worker (403)', async () => {
      const { caseId } = await consentedCase(worker);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentOverride: { reason: 'urgent' } })), 403, 'forbidden', before);
    });

    it('refuses referrals to an officer (403)', async () => {
      const { caseId } = await consentedCase(worker);
      const before = await eventCount(api);
      await expectNothingAppended(await officer.post(`/api/cases/${caseId}/referrals`, bodies.referral()), 403, 'forbidden', before);
    });

    it('refuses a referral on a closed case (409 case_closed)', async () => {
      const { caseId } = await consentedCase(worker);
      await closeCase(worker, caseId);
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post(`/api/cases/${caseId}/referrals`, bodies.referral()), 409, 'case_closed', before);
      await expectNothingAppended(await supervisor.post(`/api/cases/${caseId}/referrals`, bodies.referral({ consentOverride: { reason: 'x' } })), 409, 'case_closed', before);
    });

    it('runs made → accepted → service started → closed, each 200', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const base = `/api/referrals/${referralId}`;
      const accepted = await worker.post(`${base}/acceptance`, { note: 'bed reserved' });
      expect(expectStatus(accepted, 200)).toEqual({ id: referralId, version: 2 });
      expectCommandHeaders(accepted, 2);
      expect(expectStatus(await worker.post(`${base}/service-start`, bodies.serviceStart()), 200)).toEqual({ id: referralId, version: 3 });
      expect(expectStatus(await worker.post(`${base}/closure`, bodies.referralClosure('service_received')), 200)).toEqual({ id: referralId, version: 4 });
      const events = await api.store.readStream(streams.referral(referralId));
      expect(events.map((event) => event.type)).toEqual(['ReferralMade', 'ReferralAccepted', 'ReferralServiceStarted', 'ReferralClosed']);
      expect((await worker.get(base)).body).toMatchObject({ status: 'closed', outcome: 'service_received', version: 4 });
    });

    it('closes an accepted referral without a service start (200)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      expectStatus(await worker.post(`/api/referrals/${referralId}/acceptance`, {}), 200);
      expect(expectStatus(await worker.post(`/api/referrals/${referralId}/closure`, bodies.referralClosure('no_capacity')), 200)).toEqual({ id: referralId, version: 3 });
    });

    it('refuses forbidden moves from accepted, service started and closed (409)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const base = `/api/referrals/${referralId}`;
      const stream = streams.referral(referralId);
      expectStatus(await worker.post(`${base}/acceptance`, {}), 200);
      await expectRefused(await worker.post(`${base}/acceptance`, {}), 409, 'referral_not_pending', stream, 2);
      await expectRefused(await worker.post(`${base}/decline`, bodies.decline()), 409, 'referral_not_pending', stream, 2);
      await expectRefused(await worker.post(`${base}/revocation`, bodies.reason()), 409, 'referral_not_pending', stream, 2);
      expectStatus(await worker.post(`${base}/service-start`, bodies.serviceStart()), 200);
      await expectRefused(await worker.post(`${base}/service-start`, bodies.serviceStart()), 409, 'service_already_started', stream, 3);
      expectStatus(await worker.post(`${base}/closure`, bodies.referralClosure()), 200);
      await expectRefused(await worker.post(`${base}/closure`, bodies.referralClosure()), 409, 'referral_already_closed', stream, 4);
      await expectRefused(await worker.post(`${base}/service-start`, bodies.serviceStart()), 409, undefined, stream, 4);
      await expectRefused(await worker.post(`${base}/revocation`, bodies.reason()), 409, 'referral_not_pending', stream, 4);
    });

    it('declines a made referral (200), after which nothing moves it (409)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const base = `/api/referrals/${referralId}`;
      const stream = streams.referral(referralId);
      expect(expectStatus(await worker.post(`${base}/decline`, bodies.decline('client', 'prefers family')), 200)).toEqual({ id: referralId, version: 2 });
      await expectRefused(await worker.post(`${base}/acceptance`, {}), 409, 'referral_not_pending', stream, 2);
      await expectRefused(await worker.post(`${base}/service-start`, bodies.serviceStart()), 409, 'referral_not_accepted', stream, 2);
      await expectRefused(await worker.post(`${base}/closure`, bodies.referralClosure()), 409, 'referral_not_accepted', stream, 2);
      await expectRefused(await worker.post(`${base}/revocation`, bodies.reason()), 409, 'referral_not_pending', stream, 2);
    });

    it('revokes a made referral (200), after which nothing moves it (409)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const base = `/api/referrals/${referralId}`;
      const stream = streams.referral(referralId);
      expect(expectStatus(await worker.post(`${base}/revocation`, bodies.reason('sent in error')), 200)).toEqual({ id: referralId, version: 2 });
      await expectRefused(await worker.post(`${base}/acceptance`, {}), 409, 'referral_not_pending', stream, 2);
      await expectRefused(await worker.post(`${base}/decline`, bodies.decline()), 409, 'referral_not_pending', stream, 2);
      await expectRefused(await worker.post(`${base}/service-start`, bodies.serviceStart()), 409, 'referral_not_accepted', stream, 2);
      await expectRefused(await worker.post(`${base}/closure`, bodies.referralClosure()), 409, 'referral_not_accepted', stream, 2);
    });

    it('refuses service start and closure of a referral not yet accepted (409)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const stream = streams.referral(referralId);
      await expectRefused(await worker.post(`/api/referrals/${referralId}/service-start`, bodies.serviceStart()), 409, 'referral_not_accepted', stream, 1);
      await expectRefused(await worker.post(`/api/referrals/${referralId}/closure`, bodies.referralClosure()), 409, 'referral_not_accepted', stream, 1);
    });

    it('reads a referral (200 with ETag), refuses it to an officer (403) and hides it from another team (404)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const read = await worker.get(`/api/referrals/${referralId}`);
      expect(expectStatus(read, 200)).toMatchObject({ id: referralId, caseId, status: 'made', type: 'shelter', provider: { name: 'Harbor House' }, urgency: 'urgent', version: 1 });
      expect(read.headers.etag).toBe('"1"');
      expectProblem(await officer.get(`/api/referrals/${referralId}`), 403, 'forbidden');
      expectProblem(await southWorker.get(`/api/referrals/${referralId}`), 404, 'not_found');
      expectStatus(await auditor.get(`/api/referrals/${referralId}`), 200);
      expectProblem(await admin.get(`/api/referrals/${referralId}`), 403, 'forbidden');
      expectProblem(await worker.get('/api/referrals/not-a-uuid'), 404);
      expectProblem(await worker.get('/api/referrals/6f1c2a54-0000-4000-8000-000000000003'), 404);
    });

    it('refuses lifecycle moves to an officer (403) and to another team (404)', async () => {
      const { caseId } = await consentedCase(worker);
      const referralId = await makeReferral(worker, caseId);
      const base = `/api/referrals/${referralId}`;
      const stream = streams.referral(referralId);
      await expectRefused(await officer.post(`${base}/acceptance`, {}), 403, 'forbidden', stream, 1);
      await expectRefused(await officer.post(`${base}/revocation`, bodies.reason()), 403, 'forbidden', stream, 1);
      await expectRefused(await southWorker.post(`${base}/acceptance`, {}), 404, undefined, stream, 1);
      await expectRefused(await southWorker.post(`${base}/decline`, bodies.decline()), 404, undefined, stream, 1);
      await expectRefused(await southSupervisor.post(`${base}/revocation`, bodies.reason()), 404, undefined, stream, 1);
    });

    it('answers 404 for lifecycle moves on an unknown or malformed referral id', async () => {
      const before = await eventCount(api);
      await expectNothingAppended(await worker.post('/api/referrals/6f1c2a54-0000-4000-8000-000000000004/acceptance', {}), 404, undefined, before);
      await expectNothingAppended(await worker.post('/api/referrals/xyz/closure', bodies.referralClosure()), 404, undefined, before);
    });
  });

  it('answered no request with a 5xx', () => {
    expect(serverErrors(api)).toEqual([]);
  });
});
