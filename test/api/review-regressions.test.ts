import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

// Defects found in review, each pinned by the rule it broke.
describe.each(ADAPTERS)('review regressions on %s', (adapter) => {
  let api: ApiHarness;
  let north: Record<string, string>;
  let south: Record<string, string>;
  let admin: Record<string, string>;
  let caseId: string;
  let personId: string;
  beforeAll(async () => {
    api = await startApi(adapter);
    north = { Authorization: `Bearer ${await api.token('social_worker')}` };
    south = { Authorization: `Bearer ${await api.token('social_worker', 'south')}` };
    admin = { Authorization: `Bearer ${await api.token('admin')}` };
    personId = (await api.http().post('/api/people').set(north).send({ givenName: 'Ana', familyName: 'Lopez' }).expect(201)).body.id;
    caseId = (await api.http().post('/api/cases').set(north).send({ personId, reason: 'other', risk: 'low', summary: 's' }).expect(201)).body.id;
  });
  afterAll(() => api.close());

  it("answers If-Match on another team's case with 404, never a 412 that confirms it exists", async () => {
    const response = await api.http().post(`/api/cases/${caseId}/notes`).set(south).set('If-Match', '"0"').send({ body: 'x', visibility: 'team' }).expect(404);
    expect(response.headers.etag).toBeUndefined();
  });

  it('answers a deeply nested body with 400, not a 500', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    const response = await api
      .http()
      .post(`/api/cases/${caseId}/notes`)
      .set(north)
      .set('content-type', 'application/json')
      .send(`{"body":"x","visibility":"team","a":${deep}}`);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('still closes an erased person’s case that has scheduled follow-ups', async () => {
    const person = (await api.http().post('/api/people').set(north).send({ givenName: 'Bo', familyName: 'Ng' }).expect(201)).body.id;
    const opened = (await api.http().post('/api/cases').set(north).send({ personId: person, reason: 'other', risk: 'low', summary: 's' }).expect(201)).body.id;
    await api.http().post(`/api/cases/${opened}/follow-ups`).set(north).send({ dueAt: new Date(Date.now() + 86_400_000).toISOString(), assigneeId: 'w1', purpose: 'check in' }).expect(201);
    await api.http().post(`/api/people/${person}/erasure`).set(admin).send({ reason: 'request' }).expect(200);
    await api.http().post(`/api/cases/${opened}/closure`).set(north).send({ disposition: 'other' }).expect(200);
  });

  it('completes an interrupted erasure when it is asked for again', async () => {
    const person = (await api.http().post('/api/people').set(north).send({ givenName: 'Cy', familyName: 'Ro' }).expect(201)).body.id;
    await api.http().post(`/api/people/${person}/erasure`).set(admin).send({ reason: 'request' }).expect(200);
    // Simulate a crash between the event and the key destruction: the key is back in the table.
    await api.db.query(`UPDATE pii_keys SET wrapped_key = decode(repeat('00', 60), 'hex'), destroyed_at = NULL WHERE person_id = $1`, [person]);
    const again = await api.http().post(`/api/people/${person}/erasure`).set(admin).send({ reason: 'request' }).expect(409);
    expect(again.body.code).toBe('person_already_erased');
    const { rows } = await api.db.query<{ wrapped: unknown }>(`SELECT wrapped_key AS wrapped FROM pii_keys WHERE person_id = $1`, [person]);
    expect(rows).toEqual([{ wrapped: null }]);
  });
});
