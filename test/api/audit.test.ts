import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

describe.each(ADAPTERS)('audit endpoints on %s', (adapter) => {
  let api: ApiHarness;
  let worker: Record<string, string>;
  let auditor: Record<string, string>;
  let supervisorSouth: Record<string, string>;
  let officer: Record<string, string>;
  let caseId: string;
  let afterOpen: string;
  beforeAll(async () => {
    api = await startApi(adapter);
    worker = { Authorization: `Bearer ${await api.token('social_worker')}` };
    auditor = { Authorization: `Bearer ${await api.token('auditor', 'audit')}` };
    supervisorSouth = { Authorization: `Bearer ${await api.token('supervisor', 'south')}` };
    officer = { Authorization: `Bearer ${await api.token('officer')}` };
    const personId = (await api.http().post('/api/people').set(worker).send({ givenName: 'Ana', familyName: 'Lopez' }).expect(201)).body.id;
    caseId = (await api.http().post('/api/cases').set(worker).send({ personId, reason: 'other', risk: 'low', summary: 'first summary' }).expect(201)).body.id;
    await new Promise((resolve) => setTimeout(resolve, 20));
    afterOpen = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await api.http().post(`/api/cases/${caseId}/risk`).set(worker).send({ risk: 'high', reason: 'escalating' }).expect(200);
    await api.http().post(`/api/cases/${caseId}/closure`).set(worker).send({ disposition: 'resolved' }).expect(200);
  });
  afterAll(() => api.close());

  it('lists every event of a stream with data, metadata, version, position and hash (personal data opened)', async () => {
    const response = await api.http().get(`/api/audit/streams/case-${caseId}/events`).set(auditor).expect(200);
    expect(response.body.items.map((e: { version: number; type: string }) => [e.version, e.type])).toEqual([
      [1, 'CaseOpened'],
      [2, 'RiskLevelChanged'],
      [3, 'CaseClosed'],
    ]);
    expect(response.body.items[0]).toMatchObject({ data: { summary: 'first summary' }, hash: expect.stringMatching(/^[0-9a-f]{64}$/), position: expect.any(String) });
    expect(response.body.items[0].metadata.actor).toMatchObject({ id: 'social_worker-north', role: 'social_worker' });
  });

  it('replays the case as of an instant or a version through the domain', async () => {
    const asOf = await api.http().get(`/api/audit/cases/${caseId}/state`).query({ asOf: afterOpen }).set(auditor).expect(200);
    expect(asOf.body).toMatchObject({ version: 1, state: { status: 'open', risk: 'low' } });
    const v2 = await api.http().get(`/api/audit/cases/${caseId}/state`).query({ version: 2 }).set(auditor).expect(200);
    expect(v2.body).toMatchObject({ version: 2, state: { status: 'open', risk: 'high' } });
    const now = await api.http().get(`/api/audit/cases/${caseId}/state`).query({ version: 99 }).set(auditor).expect(200);
    expect(now.body).toMatchObject({ version: 3, state: { status: 'closed', disposition: 'resolved' } });
    await api.http().get(`/api/audit/cases/${caseId}/state`).set(auditor).expect(400);
    await api.http().get(`/api/audit/cases/${caseId}/state`).query({ asOf: 'yesterday' }).set(auditor).expect(400);
  });

  it('verifies one stream, or the whole store for auditors, and names the first altered event', async () => {
    expect((await api.http().get('/api/audit/verification').query({ streamId: `case-${caseId}` }).set(auditor).expect(200)).body).toEqual({
      ok: true,
      checkedEvents: 3,
      checkedStreams: 1,
    });
    expect((await api.http().get('/api/audit/verification').set(auditor).expect(200)).body).toMatchObject({ ok: true });
    await api.db.query(`UPDATE es_events SET data = jsonb_set(data, '{disposition}', '"moved_away"') WHERE stream_id = $1 AND version = 3`, [`case-${caseId}`]);
    expect((await api.http().get('/api/audit/verification').query({ streamId: `case-${caseId}` }).set(auditor).expect(200)).body).toMatchObject({
      ok: false,
      firstBadVersion: 3,
    });
  });

  it("keeps supervisors to their own team (404) and officers out (403)", async () => {
    await api.http().get(`/api/audit/streams/case-${caseId}/events`).set(supervisorSouth).expect(404);
    await api.http().get(`/api/audit/verification`).set(supervisorSouth).expect(404);
    await api.http().get(`/api/audit/streams/case-${caseId}/events`).set(officer).expect(403);
    await api.http().get(`/api/audit/streams/not-a-stream/events`).set(auditor).expect(404);
  });
});
