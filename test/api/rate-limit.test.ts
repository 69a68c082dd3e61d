import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Response } from 'supertest';
import { ConfigError, loadConfig } from '@caseline/api-platform';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import { bodies, eventCount, expectProblem, expectStatus, serverErrors } from '../support/casework-client';

jest.setTimeout(60_000);

// Per-user rate limiting: after authentication, keyed by the actor (the public dev-token endpoint
// by client address). A burst of 3 and one token a minute: the 4th request in a row is refused,
// and the bucket cannot refill within the test.

/** A dev token signed directly, so that fetching it spends nothing from the address's bucket. */
const tokenFor = (api: ApiHarness, sub: string) =>
  new SignJWT({ name: `Test ${sub}`, role: 'social_worker', team: 'north' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer('caseline-dev')
    .setAudience('caseline')
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime('10m')
    .sign(api.devSecret);

function expectRateLimited(response: Response): void {
  expectProblem(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
}

describe.each(ADAPTERS)('rate limiting on %s', (adapter) => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi(adapter, { RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: '3' });
  });
  afterAll(() => api.close());

  it('refuses a user past the burst with 429 problem+json and Retry-After, appending nothing; other users go on', async () => {
    const dana = { Authorization: `Bearer ${await tokenFor(api, 'dana')}` };
    for (let i = 0; i < 3; i++) expectStatus(await api.http().post('/api/people').set(dana).send(bodies.person()), 201);
    const before = await eventCount(api);
    expectRateLimited(await api.http().post('/api/people').set(dana).send(bodies.person()));
    expectRateLimited(await api.http().get('/api/people/6f1c2a54-0000-4000-8000-000000000000').set(dana));
    expect(await eventCount(api)).toBe(before);

    // The bucket belongs to the person, not the token: a fresh token does not reset it.
    const danaAgain = { Authorization: `Bearer ${await tokenFor(api, 'dana')}` };
    expect(danaAgain.Authorization).not.toBe(dana.Authorization);
    expectRateLimited(await api.http().post('/api/people').set(danaAgain).send(bodies.person()));

    const eli = { Authorization: `Bearer ${await tokenFor(api, 'eli')}` };
    expectStatus(await api.http().post('/api/people').set(eli).send(bodies.person()), 201);
    expect(await eventCount(api)).toBe(before + 1);
  });

  it('answers a request without a valid token 401, before any limit', async () => {
    for (let i = 0; i < 5; i++) expectProblem(await api.http().post('/api/people').send(bodies.person()), 401, 'unauthorized');
    expectProblem(await api.http().get('/api/people/6f1c2a54-0000-4000-8000-000000000000').set('Authorization', 'Bearer a.b.c'), 401, 'unauthorized');
  });

  it('limits the public dev-token endpoint by client address', async () => {
    const ask = () => api.http().post('/api/auth/dev-token').send({ sub: 'u1', name: 'Uma One', role: 'officer', team: 'north' });
    for (let i = 0; i < 3; i++) expectStatus(await ask(), 200);
    expectRateLimited(await ask());
    // A user's own bucket is separate from the address's.
    const fay = { Authorization: `Bearer ${await tokenFor(api, 'fay')}` };
    expectStatus(await api.http().post('/api/people').set(fay).send(bodies.person()), 201);
  });

  it('leaves health alone', async () => {
    for (let i = 0; i < 5; i++) expectStatus(await api.http().get('/health/live'), 200);
  });

  it('answered no request with a 5xx', () => {
    expect(serverErrors(api)).toEqual([]);
  });
});

describe('rate limit configuration', () => {
  it('is on by default, generous, and off at 0', () => {
    expect(loadConfig({}).rateLimit).toEqual({ perMinute: 600, burst: 200 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }).rateLimit.perMinute).toBe(0);
  });

  it.each([
    ['RATE_LIMIT_PER_MINUTE', { RATE_LIMIT_PER_MINUTE: '-1' }],
    ['RATE_LIMIT_PER_MINUTE', { RATE_LIMIT_PER_MINUTE: 'lots' }],
    ['RATE_LIMIT_BURST', { RATE_LIMIT_BURST: '0' }],
  ])('refuses a bad %s (%j) with one line naming it', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });
});
