import { randomBytes } from 'node:crypto';
import { verifyStore } from '@caseline/event-store';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import { testAdminUrl } from '@caseline/event-store/testing';
import { bodies, caller, eventually, expectProblem, expectStatus, openCase, registerPerson } from '../support/casework-client';
import { TcpProxy } from '../support/tcp-proxy';

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

// Two API processes on one PostgreSQL database, as behind a load balancer: an erasure through one
// reaches the other's in-memory keys and decrypted states (NOTIFY), not only at its next restart.
describe('erasure across processes on postgres', () => {
  let first: ApiHarness;
  let second: ApiHarness;
  beforeAll(async () => {
    first = await startApi('postgres');
    second = await startApi('postgres', {}, { peer: first });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('makes the other process answer [erased] too, for the case card, the person and the audit replay', async () => {
    const worker = await caller(first, 'social_worker');
    const admin = await caller(first, 'admin');
    const onSecond = { worker: await caller(second, 'social_worker'), auditor: await caller(second, 'auditor') };
    const marker = `Peer${randomBytes(6).toString('hex')}`;
    const personId = expectStatus(await worker.post('/api/people', bodies.person({ givenName: marker })), 201).id;
    const caseId = expectStatus(await worker.post('/api/cases', bodies.case(personId, { summary: `${marker} summary` })), 201).id;

    // The second process reads (and so caches the unwrapped key and the decrypted states).
    expect((await onSecond.worker.get(`/api/cases/${caseId}`)).body.summary).toBe(`${marker} summary`);
    expect((await onSecond.worker.get(`/api/people/${personId}`)).body.givenName).toBe(marker);
    expect((await onSecond.auditor.get(`/api/audit/cases/${caseId}/state?version=1`)).body.state.summary).toBe(`${marker} summary`);

    expectStatus(await admin.post(`/api/people/${personId}/erasure`, bodies.reason('right to erasure')), 200);
    expect((await worker.get(`/api/cases/${caseId}`)).body.summary).toBe('[erased]');

    const card = await eventually(() => onSecond.worker.get(`/api/cases/${caseId}`), (response) => response.body.summary !== `${marker} summary`);
    expect({ status: card.status, summary: card.body.summary }).toEqual({ status: 200, summary: '[erased]' });
    expect((await onSecond.worker.get(`/api/people/${personId}`)).body).toMatchObject({ erased: true, givenName: null });
    expect((await onSecond.auditor.get(`/api/audit/cases/${caseId}/state?version=1`)).body.state.summary).toBe('[erased]');
    const events = await onSecond.auditor.get(`/api/audit/streams/person-${personId}/events`);
    expect(JSON.stringify(events.body)).not.toContain(marker);
    // Nor may the second process seal anything new with a key it remembered.
    expectProblem(await onSecond.worker.post(`/api/cases/${caseId}/notes`, bodies.note('team', `${marker} after`)), 409, 'person_erased');
    expect(JSON.stringify((await first.db.query(`SELECT data FROM es_events`)).rows)).not.toContain(`${marker} after`);
  });

  it('reaches a process that was cut off from the database when the notice went out, once it is back', async () => {
    const admin = new URL(testAdminUrl());
    const proxy = new TcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    await proxy.start();
    const third = await startApi('postgres', {}, {
      peer: first,
      connectionString: (url) => Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(proxy.port) }).toString(),
    });
    try {
      const worker = await caller(first, 'social_worker');
      const onThird = await caller(third, 'social_worker');
      const marker = `Cut${randomBytes(6).toString('hex')}`;
      const { caseId, personId } = await openCase(worker, await registerPerson(worker, { givenName: marker }));
      expectStatus(await worker.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck({ observations: `${marker} seen` })), 201);
      expect((await onThird.get(`/api/cases/${caseId}`)).body.personId).toBe(personId);
      expect((await onThird.get(`/api/people/${personId}`)).body.givenName).toBe(marker);

      await proxy.stop();
      expectStatus(await (await caller(first, 'admin')).post(`/api/people/${personId}/erasure`, bodies.reason()), 200);
      await proxy.start();

      const person = await eventually(() => onThird.get(`/api/people/${personId}`), (response) => response.status === 200 && response.body.erased === true);
      expect(person.body).toMatchObject({ erased: true, givenName: null });
      const card = await eventually(() => onThird.get(`/api/cases/${caseId}`), (response) => response.status === 200 && response.body.summary === '[erased]');
      expect({ status: card.status, summary: card.body.summary }).toEqual({ status: 200, summary: '[erased]' });
    } finally {
      await third.close();
      await proxy.stop();
    }
  });
});
