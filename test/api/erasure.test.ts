import { verifyStore } from '@caseline/event-store';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

describe.each(ADAPTERS)('erasure (crypto-shredding) on %s', (adapter) => {
  let api: ApiHarness;
  let worker: Record<string, string>;
  let admin: Record<string, string>;
  beforeAll(async () => {
    api = await startApi(adapter);
    worker = { Authorization: `Bearer ${await api.token('social_worker')}` };
    admin = { Authorization: `Bearer ${await api.token('admin')}` };
  });
  afterAll(() => api.close());

  it('stores personal data only sealed, and after erasure every copy reads as erased while the chains still verify', async () => {
    const marker = `Marker${Date.now()}`;
    const person = await api.http().post('/api/people').set(worker).send({ givenName: marker, familyName: 'Doe', phone: '+1 555 0199' }).expect(201);
    const opened = await api
      .http()
      .post('/api/cases')
      .set(worker)
      .send({ personId: person.body.id, reason: 'mental_health', risk: 'high', summary: `${marker} in crisis` })
      .expect(201);
    const caseId = opened.body.id;
    await api
      .http()
      .post(`/api/cases/${caseId}/welfare-checks`)
      .set(worker)
      .send({ performedAt: new Date().toISOString(), location: `${marker} street`, outcome: 'safe', observations: `${marker} was calm` })
      .expect(201);
    // Sealed at rest, readable through the API while the key exists.
    const { rows } = await api.db.query<{ row: string }>(`SELECT data::text AS row FROM es_events`);
    expect(rows.filter(({ row }) => row.includes(marker) || row.includes('555 0199'))).toEqual([]);
    expect((await api.http().get(`/api/cases/${caseId}`).set(worker).expect(200)).body.summary).toBe(`${marker} in crisis`);

    await api.http().post(`/api/people/${person.body.id}/erasure`).set(admin).send({ reason: 'right to erasure request 2026-114' }).expect(200);

    const erasedPerson = await api.http().get(`/api/people/${person.body.id}`).set(worker).expect(200);
    expect(erasedPerson.body).toMatchObject({ erased: true, givenName: null, familyName: null, phone: null });
    expect((await api.http().get(`/api/cases/${caseId}`).set(worker).expect(200)).body.summary).toBe('[erased]');
    // Nothing new may be sealed for an erased person.
    const note = await api.http().post(`/api/cases/${caseId}/notes`).set(worker).send({ body: 'after erasure', visibility: 'team' }).expect(409);
    expect(note.body.code).toBe('person_erased');
    const { rows: keys } = await api.db.query<{ wrapped: string | null }>(`SELECT wrapped_key AS wrapped FROM pii_keys WHERE person_id = $1`, [person.body.id]);
    expect(keys).toEqual([{ wrapped: null }]);
    expect((await verifyStore(api.store)).ok).toBe(true);
  });
});
