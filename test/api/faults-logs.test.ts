import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { testAdminUrl } from '@caseline/event-store/testing';
import { startApi, type ApiHarness } from '../support/api-harness';
import {
  bodies,
  caller,
  expectProblem,
  expectStatus,
  openCase,
  parsedLogs,
  scheduleFollowUp,
  serverErrors,
  streams,
  type Caller,
} from '../support/casework-client';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(60_000);

// PostgreSQL only: the database going away (before or in the middle of a request) gives 503
// problem+json and no partial write, and the service recovers by itself. Structured logs carry a
// correlation id per request and no personal data; no client error is ever a 500.

// Personal data sent in requests below; none of it may reach a log line.
const PII = {
  givenName: 'Quintessa',
  familyName: 'Marrowbone',
  phone: '+1 555 0199',
  dateOfBirth: '1977-07-17',
  summary: 'Summary-Sleeps-In-Blue-Van',
  observations: 'Observed-Bruising-On-Left-Arm',
  location: 'Location-Behind-Elm-Street-Laundromat',
  note: 'Note-Disclosed-Diagnosis',
  purpose: 'Purpose-Check-Medication',
};

const withPii = {
  person: () => bodies.person({ givenName: PII.givenName, familyName: PII.familyName, phone: PII.phone, dateOfBirth: PII.dateOfBirth }),
  welfareCheck: () => bodies.welfareCheck({ observations: PII.observations, location: PII.location }),
};

interface RealDb {
  version(streamId: string): Promise<number>;
  types(streamId: string): Promise<string[]>;
  count(): Promise<number>;
}

describe('faults and logs on postgres', () => {
  const admin = new URL(testAdminUrl());
  const proxy = new TcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
  let api: ApiHarness;
  let worker: Caller;
  let direct: Client;
  let real: RealDb;

  beforeAll(async () => {
    await proxy.start();
    api = await startApi('postgres', {}, {
      connectionString: (url) => {
        const viaProxy = new URL(url);
        viaProxy.hostname = '127.0.0.1';
        viaProxy.port = String(proxy.port);
        return viaProxy.toString();
      },
    });
    // Straight to the database, around the proxy: what really got written.
    direct = new Client({ connectionString: api.database?.url });
    await direct.connect();
    real = {
      version: async (streamId) => Number((await direct.query('SELECT coalesce(max(version), 0)::int AS v FROM es_events WHERE stream_id = $1', [streamId])).rows[0].v),
      types: async (streamId) => (await direct.query('SELECT type FROM es_events WHERE stream_id = $1 ORDER BY version', [streamId])).rows.map((row) => row.type as string),
      count: async () => Number((await direct.query('SELECT count(*)::int AS n FROM es_events')).rows[0].n),
    };
    worker = await caller(api, 'social_worker');
  });

  afterAll(async () => {
    await proxy.start();
    await direct?.end();
    await api?.close();
    await proxy.stop();
  });

  afterEach(async () => {
    // Whatever a test did to the proxy, the next one starts with the database reachable.
    proxy.disarm();
    await proxy.start();
  });

  /** The service recovers by itself: retries a request until it succeeds (bounded). */
  async function eventually(send: () => Promise<Response>, status: number, withinMs = 10_000): Promise<Response> {
    const deadline = Date.now() + withinMs;
    let last = await send();
    while (last.status !== status && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      last = await send();
    }
    return last;
  }

  function expectUnavailable(response: Response) {
    expectProblem(response, 503);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
  }

  describe('the database going away', () => {
    it('answers commands and reads with 503 problem+json and Retry-After while the database is down, appending nothing', async () => {
      const { caseId } = await openCase(worker);
      const before = await real.count();
      await proxy.stop();
      expectUnavailable(await worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()));
      expectUnavailable(await worker.post('/api/people', withPii.person()));
      expectUnavailable(await worker.post(`/api/cases/${caseId}/closure`, bodies.closure()));
      expectUnavailable(await worker.get(`/api/cases/${caseId}`));
      expect(await real.count()).toBe(before);
      expect(await real.version(streams.case(caseId))).toBe(1);
      await proxy.start();
    });

    it('reports not ready (503) while the database is down, and ready again after', async () => {
      await proxy.stop();
      expect((await api.http().get('/health/ready')).status).toBe(503);
      expect((await api.http().get('/health/live')).status).toBe(200);
      await proxy.start();
      expect((await eventually(() => api.http().get('/health/ready'), 200)).status).toBe(200);
    });

    it('recovers by itself when the database returns, without a restart', async () => {
      const { caseId } = await openCase(worker);
      await proxy.stop();
      expectUnavailable(await worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()));
      await proxy.start();
      const recovered = await eventually(() => worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()), 201);
      expect(expectStatus(recovered, 201)).toMatchObject({ id: caseId, version: 2 });
      expect(await real.types(streams.case(caseId))).toEqual(['CaseOpened', 'WelfareCheckRecorded']);
    });

    it('writes nothing when the database goes away in the middle of an append (503)', async () => {
      const { caseId } = await openCase(worker);
      await scheduleFollowUp(worker, caseId);
      await scheduleFollowUp(worker, caseId);
      // The store appends through one prepared statement named caseline_append…; the outage strikes as it is sent.
      const cut = proxy.cutWhenClientSends('caseline_append', { forward: false });
      const response = await worker.post(`/api/cases/${caseId}/closure`, bodies.closure());
      expectUnavailable(response);
      await cut;
      expect(await real.types(streams.case(caseId))).toEqual(['CaseOpened', 'FollowUpScheduled', 'FollowUpScheduled']);
      await proxy.start();
      const closed = await eventually(() => worker.post(`/api/cases/${caseId}/closure`, bodies.closure()), 200);
      expect(expectStatus(closed, 200)).toEqual({ id: caseId, version: 6 });
      expect(await real.types(streams.case(caseId))).toEqual([
        'CaseOpened',
        'FollowUpScheduled',
        'FollowUpScheduled',
        'FollowUpCancelled',
        'FollowUpCancelled',
        'CaseClosed',
      ]);
    });

    it('records a command whose answer was lost exactly once when retried with its Idempotency-Key', async () => {
      const { caseId } = await openCase(worker);
      const headers = { 'Idempotency-Key': `lost-${randomUUID()}` };
      const body = withPii.welfareCheck();
      const cut = proxy.cutWhenClientSends('caseline_append', { forward: true, delayMs: 300 });
      const lost = await worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers);
      expectUnavailable(lost);
      await cut;
      await proxy.start();
      const retried = await eventually(() => worker.post(`/api/cases/${caseId}/welfare-checks`, body, headers), 201);
      expect(expectStatus(retried, 201)).toMatchObject({ id: caseId, version: 2 });
      const types = await real.types(streams.case(caseId));
      expect(types).toEqual(['CaseOpened', 'WelfareCheckRecorded']);
      const [, check] = (await direct.query('SELECT data FROM es_events WHERE stream_id = $1 ORDER BY version', [streams.case(caseId)])).rows;
      expect(check.data.welfareCheckId).toBe(retried.body.welfareCheckId);
    });
  });

  describe('structured logs', () => {
    const completed = (id: string) => parsedLogs(api).filter((line) => (line.req as { id?: string } | undefined)?.id === id && line.res !== undefined);

    it('writes every log line as JSON', () => {
      expect(api.logs.length).toBeGreaterThan(0);
      expect(parsedLogs(api).filter((line) => 'raw' in line)).toEqual([]);
    });

    it('echoes X-Correlation-Id and logs the request under it', async () => {
      const { caseId } = await openCase(worker);
      const correlationId = `corr-${randomUUID()}`;
      const response = await worker.get(`/api/cases/${caseId}`, { 'X-Correlation-Id': correlationId });
      expectStatus(response, 200);
      expect(response.headers['x-correlation-id']).toBe(correlationId);
      expect(completed(correlationId)).toEqual([
        expect.objectContaining({ req: expect.objectContaining({ id: correlationId, method: 'GET', path: `/api/cases/${caseId}` }), res: { status: 200 }, actor: 'social_worker-north' }),
      ]);
      // A request nobody authenticated is logged without an actor.
      const anonymous = await api.http().get(`/api/cases/${caseId}`).set('X-Correlation-Id', `${correlationId}-anonymous`);
      expectStatus(anonymous, 401);
      expect(completed(`${correlationId}-anonymous`)).toEqual([expect.not.objectContaining({ actor: expect.anything() })]);
    });

    it('carries the correlation id into the events a command appends', async () => {
      const { caseId } = await openCase(worker);
      const correlationId = `corr-${randomUUID()}`;
      const response = await worker.post(`/api/cases/${caseId}/notes`, bodies.note(), { 'X-Correlation-Id': correlationId });
      expectStatus(response, 201);
      expect(response.headers['x-correlation-id']).toBe(correlationId);
      const [, note] = await api.store.readStream(streams.case(caseId));
      expect(note.metadata.correlationId).toBe(correlationId);
      expect(completed(correlationId)).toHaveLength(1);
    });

    it('mints a correlation id when none (or a malformed one) is sent, and logs it', async () => {
      for (const sent of [undefined, 'has spaces in it', 'x'.repeat(101), '<script>']) {
        const response = await worker.get('/api/cases/6f1c2a54-0000-4000-8000-000000000000', sent === undefined ? {} : { 'X-Correlation-Id': sent });
        const minted = response.headers['x-correlation-id'];
        expect(minted).toEqual(expect.any(String));
        expect(minted).not.toBe(sent);
        expect(completed(minted)).toEqual([expect.objectContaining({ res: { status: 404 } })]);
      }
    });

    it('logs each request once with its correlation id, whatever its outcome', async () => {
      const { caseId } = await openCase(worker);
      const responses = await Promise.all([
        worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()),
        worker.post(`/api/cases/${caseId}/welfare-checks`, { ...withPii.welfareCheck(), outcome: 'fine' }),
        worker.post(`/api/cases/${caseId}/reopening`, bodies.reason()),
        worker.post(`/api/cases/${caseId}/assignment`, bodies.assignment()),
        worker.get('/api/cases/nope'),
        api.http().get(`/api/cases/${caseId}`),
        api.http().get('/health/live'),
      ]);
      expect(responses.map((response) => response.status)).toEqual([201, 400, 409, 403, 404, 401, 200]);
      for (const response of responses) {
        const id = response.headers['x-correlation-id'];
        expect(completed(id)).toEqual([expect.objectContaining({ res: { status: response.status } })]);
      }
    });

    it('writes no personal data, token or request body to any log line', async () => {
      const personId = expectStatus(await worker.post('/api/people', withPii.person()), 201).id;
      const caseId = expectStatus(await worker.post('/api/cases', bodies.case(personId, { summary: PII.summary })), 201).id;
      expectStatus(await worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()), 201);
      expectStatus(await worker.post(`/api/cases/${caseId}/notes`, bodies.note('confidential', PII.note)), 201);
      expectStatus(await worker.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp({ purpose: PII.purpose })), 201);
      expectStatus(await worker.get(`/api/people/${personId}?givenName=${PII.givenName}`), 200);
      // Refused requests carrying personal data: invalid, malformed, unauthenticated, conflicting.
      expectProblem(await worker.post('/api/people', { ...withPii.person(), dateOfBirth: 'soon' }), 400);
      expectProblem(await worker.post('/api/people', { ...withPii.person(), nickname: PII.givenName }), 400);
      expectProblem(
        await api.http().post('/api/people').set('Authorization', `Bearer ${worker.token}`).set('Content-Type', 'application/json').send(`{"givenName":"${PII.givenName}", "familyName": ${PII.familyName}}`),
        400,
      );
      expectProblem(await api.http().post('/api/people').send(withPii.person()), 401);
      expectProblem(await worker.post(`/api/cases/${caseId}/notes`, bodies.note('team', PII.note), { 'If-Match': '"1"' }), 412);
      // And one while the database is away.
      await proxy.stop();
      expectUnavailable(await worker.post(`/api/cases/${caseId}/welfare-checks`, withPii.welfareCheck()));
      await proxy.start();

      const leaks = api.logs.filter((line) => Object.values(PII).some((value) => line.includes(value)) || line.includes(worker.token) || line.includes('555 0199'));
      expect(leaks).toEqual([]);
    });
  });

  it('answers no client error with a 500', async () => {
    const { caseId } = await openCase(worker);
    const clientErrors: Array<[string, Promise<Response>]> = [
      ['unknown route', api.http().get('/api/nothing-here').then((r) => r)],
      ['unsupported method', api.http().delete(`/api/cases/${caseId}`).set('Authorization', `Bearer ${worker.token}`).then((r) => r)],
      ['malformed JSON', worker.post(`/api/cases/${caseId}/welfare-checks`, 'not json', { 'Content-Type': 'application/json' })],
      ['array body', worker.post(`/api/cases/${caseId}/welfare-checks`, [1, 2])],
      ['badly percent-encoded path id', worker.post('/api/cases/%E0%A4%A/notes', bodies.note())],
      ['weak If-Match with a non-number', worker.post(`/api/cases/${caseId}/notes`, bodies.note(), { 'If-Match': 'W/"x"' })],
      ['unsupported charset', worker.post(`/api/cases/${caseId}/notes`, bodies.note(), { 'Content-Type': 'application/json; charset=latin1' })],
      ['referral with provider null', worker.post(`/api/cases/${caseId}/referrals`, { type: 'shelter', urgency: 'urgent', provider: null })],
      ['referral without provider', worker.post(`/api/cases/${caseId}/referrals`, { type: 'shelter', urgency: 'urgent' })],
    ];
    const answers = await Promise.all(clientErrors.map(async ([name, pending]) => ({ name, response: await pending })));
    const notClientErrors = answers
      .filter(({ response }) => response.status < 400 || response.status >= 500)
      .map(({ name, response }) => `${name} → ${response.status} ${JSON.stringify(response.body)}`);
    expect(notClientErrors).toEqual([]);
    expect(serverErrors(api, [503])).toEqual([]);
  });

  it('logs an unexpected error with its correlation id (and answers a bare 500)', async () => {
    const { caseId } = await openCase(worker);
    // A fault that is ours, not the client's nor the network's: the access log's table is gone.
    await api.db.exec('ALTER TABLE access_log RENAME TO access_log_away');
    try {
      const response = await worker.get(`/api/cases/${caseId}`, { 'X-Correlation-Id': 'probe-unexpected-0001' });
      expectProblem(response, 500);
    } finally {
      await api.db.exec('ALTER TABLE access_log_away RENAME TO access_log');
    }
    const lines = parsedLogs(api).filter((line) => line.msg === 'unexpected error');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(lines)).toContain('access_log');
    expect(JSON.stringify(lines)).toContain('probe-unexpected-0001');
  });
});
