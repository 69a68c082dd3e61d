import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';

jest.setTimeout(60_000);

describe.each(ADAPTERS)('API smoke on %s', (adapter) => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi(adapter);
  });
  afterAll(() => api.close());

  it('registers a person, opens a case and reads it back', async () => {
    const auth = { Authorization: `Bearer ${await api.token('social_worker')}` };
    const person = await api.http().post('/api/people').set(auth).send({ givenName: 'Ana', familyName: 'Lopez' }).expect(201);
    const opened = await api.http().post('/api/cases').set(auth).send({ personId: person.body.id, reason: 'homelessness', risk: 'medium', summary: 'Sleeping in car' }).expect(201);
    expect(opened.headers.etag).toBe('"1"');
    const read = await api.http().get(`/api/cases/${opened.body.id}`).set(auth).expect(200);
    expect(read.body).toMatchObject({ id: opened.body.id, status: 'open', team: 'north', version: 1 });
  });
});
