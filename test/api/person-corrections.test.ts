import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

describe.each(ADAPTERS)('person corrections on %s', (adapter) => {
  let api: ApiHarness;
  let worker: Record<string, string>;
  beforeAll(async () => {
    api = await startApi(adapter);
    worker = { Authorization: `Bearer ${await api.token('social_worker')}` };
  });
  afterAll(() => api.close());

  const register = async () =>
    (await api.http().post('/api/people').set(worker).send({ givenName: 'Ana', familyName: 'Lopez', phone: '+1 555 0100' }).expect(201)).body.id as string;

  it('changes only the fields given, and null clears phone', async () => {
    const id = await register();
    const corrected = await api.http().post(`/api/people/${id}/corrections`).set(worker).send({ familyName: 'López', phone: null }).expect(200);
    expect(corrected.body).toEqual({ id, version: 2 });
    const person = await api.http().get(`/api/people/${id}`).set(worker).expect(200);
    expect(person.body).toMatchObject({ givenName: 'Ana', familyName: 'López', phone: null, version: 2 });
  });

  it('refuses a correction that changes nothing (400) and appends nothing', async () => {
    const id = await register();
    const refused = await api.http().post(`/api/people/${id}/corrections`).set(worker).send({ givenName: 'Ana' }).expect(400);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await api.store.streamVersion(`person-${id}`)).toBe(1);
  });

  it('is for social workers and supervisors: officers get 403', async () => {
    const id = await register();
    const officer = { Authorization: `Bearer ${await api.token('officer')}` };
    await api.http().post(`/api/people/${id}/corrections`).set(officer).send({ givenName: 'Anna' }).expect(403);
    expect(await api.store.streamVersion(`person-${id}`)).toBe(1);
  });

  it("answers 404 for another team's person", async () => {
    const id = await register();
    const south = { Authorization: `Bearer ${await api.token('social_worker', 'south')}` };
    await api.http().post(`/api/people/${id}/corrections`).set(south).send({ givenName: 'Anna' }).expect(404);
  });
});
