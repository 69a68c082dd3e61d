import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

describe.each(ADAPTERS)('access log on %s', (adapter) => {
  let api: ApiHarness;
  let worker: Record<string, string>;
  let auditor: Record<string, string>;
  let supervisorSouth: Record<string, string>;
  let caseId: string;
  let personId: string;
  beforeAll(async () => {
    api = await startApi(adapter);
    worker = { Authorization: `Bearer ${await api.token('social_worker')}` };
    auditor = { Authorization: `Bearer ${await api.token('auditor', 'audit')}` };
    supervisorSouth = { Authorization: `Bearer ${await api.token('supervisor', 'south')}` };
    personId = (await api.http().post('/api/people').set(worker).send({ givenName: 'Ana', familyName: 'Lopez' }).expect(201)).body.id;
    caseId = (await api.http().post('/api/cases').set(worker).send({ personId, reason: 'other', risk: 'low', summary: 's' }).expect(201)).body.id;
  });
  afterAll(() => api.close());

  it('records who read which case, when and through which endpoint', async () => {
    await api.http().get(`/api/cases/${caseId}`).set(worker).expect(200);
    await api.http().get(`/api/people/${personId}`).set(worker).expect(200);
    await api.http().get(`/api/audit/streams/case-${caseId}/events`).set(auditor).expect(200);
    const log = await api.http().get('/api/audit/access-log').query({ caseId }).set(auditor).expect(200);
    expect(log.body.items.map((entry: { actor: { id: string }; endpoint: string }) => [entry.actor.id, entry.endpoint])).toEqual([
      ['auditor-audit', 'GET /api/audit/streams/:streamId/events'],
      ['social_worker-north', 'GET /api/cases/:id'],
    ]);
    expect(log.body.items[1]).toMatchObject({ recordType: 'case', recordId: caseId, at: expect.any(String) });
    const byActor = await api.http().get('/api/audit/access-log').query({ actorId: 'social_worker-north' }).set(auditor).expect(200);
    expect(byActor.body.items.map((entry: { recordType: string }) => entry.recordType).sort()).toEqual(['case', 'person']);
  });

  it('does not log reads that were refused, and shows supervisors only their team', async () => {
    await api.http().get(`/api/cases/${caseId}`).set(supervisorSouth).expect(404);
    const log = await api.http().get('/api/audit/access-log').query({ caseId }).set(auditor).expect(200);
    expect(log.body.items.some((entry: { actor: { id: string } }) => entry.actor.id === 'supervisor-south')).toBe(false);
    expect((await api.http().get('/api/audit/access-log').query({ caseId }).set(supervisorSouth).expect(200)).body.items).toEqual([]);
  });

  it('is append-only in the database itself', async () => {
    await expect(api.db.query(`DELETE FROM access_log`)).rejects.toThrow(/append-only/);
    await expect(api.db.query(`UPDATE access_log SET actor_id = 'someone else'`)).rejects.toThrow(/append-only/);
  });

  it('pages with a cursor and refuses bad parameters', async () => {
    for (let i = 0; i < 3; i++) await api.http().get(`/api/cases/${caseId}`).set(worker).expect(200);
    const first = await api.http().get('/api/audit/access-log').query({ caseId, limit: 2 }).set(auditor).expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await api.http().get('/api/audit/access-log').query({ caseId, limit: 2, cursor: first.body.nextCursor }).set(auditor).expect(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[1].id);
    await api.http().get('/api/audit/access-log').query({ limit: 500 }).set(auditor).expect(400);
    await api.http().get('/api/audit/access-log').query({ caseId: 'nope' }).set(auditor).expect(400);
  });
});
