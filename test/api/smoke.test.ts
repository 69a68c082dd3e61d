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

  it('sends the security headers on every answer, refusals and the API docs included', async () => {
    const auth = { Authorization: `Bearer ${await api.token('social_worker')}` };
    const answers = [
      await api.http().get('/api/caseload').set(auth).expect(200),
      await api.http().post('/api/people').set(auth).set('Content-Type', 'text/plain').send('givenName=Ana').expect(400),
      await api.http().get('/api/caseload').expect(401),
      await api.http().get('/api/docs').redirects(1),
    ];
    for (const answer of answers) {
      expect(answer.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
      expect(answer.headers['content-security-policy']).toContain("img-src 'self' data:");
      expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'strict-transport-security': expect.stringContaining('max-age=') });
    }
  });
});
