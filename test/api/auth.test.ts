import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type KeyLike } from 'jose';
import { ConfigError, loadConfig } from '@caseline/api-platform';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import { bodies, eventCount, expectFieldErrors, expectProblem, expectStatus, openCase, caller, serverErrors, streams } from '../support/casework-client';

jest.setTimeout(60_000);

// Identity: every request is authenticated; algorithms, issuer, audience and expiry are checked;
// the dev token exists only in dev mode; the actor of every event comes from the verified token.

const DEV = { issuer: 'caseline-dev', audience: 'caseline' };
const IDP = { issuer: 'https://idp.example.test/', audience: 'caseline-api' };

interface Claims {
  sub?: string;
  name?: string;
  role?: string;
  team?: string;
  [claim: string]: unknown;
}

const staff: Claims = { sub: 'dana-7', name: 'Dana Reyes', role: 'social_worker', team: 'north' };

/** A signed JWT; every part can be bent to test one check at a time. */
async function sign(
  key: Uint8Array | KeyLike,
  options: { alg?: string; kid?: string; issuer?: string; audience?: string; claims?: Claims; expiresAt?: number | string; notBefore?: number | string; omitExp?: boolean } = {},
): Promise<string> {
  const { sub, ...rest } = options.claims ?? staff;
  let jwt = new SignJWT(rest).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) }).setIssuedAt();
  if (sub !== undefined) jwt = jwt.setSubject(sub);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  if (!options.omitExp) jwt = jwt.setExpirationTime(options.expiresAt ?? '10m');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(key);
}

const unsecured = (issuer: string, audience: string, claims: Claims = staff) => {
  const { sub, ...rest } = claims;
  return new UnsecuredJWT(rest)
    .setSubject(sub as string)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('10m')
    .encode();
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe.each(ADAPTERS)('authentication on %s', (adapter) => {
  describe('dev auth mode', () => {
    let api: ApiHarness;
    beforeAll(async () => {
      api = await startApi(adapter);
    });
    afterAll(() => api.close());

    /** 401 problem+json, and nothing was appended by the attempt. */
    async function expectUnauthorized(headers: Record<string, string>) {
      const before = await eventCount(api);
      expectProblem(await api.http().post('/api/people').set(headers).send(bodies.person()), 401, 'unauthorized');
      expectProblem(await api.http().get('/api/cases/6f1c2a54-0000-4000-8000-000000000000').set(headers), 401, 'unauthorized');
      expect(await eventCount(api)).toBe(before);
    }

    it('accepts a token signed with the dev secret (control for the refusals below)', async () => {
      const token = await sign(api.devSecret, { ...DEV });
      expectStatus(await api.http().post('/api/people').set(bearer(token)).send(bodies.person()), 201);
    });

    it('refuses a request without a token (401)', async () => {
      await expectUnauthorized({});
    });

    it('refuses garbage tokens and other schemes (401)', async () => {
      await expectUnauthorized(bearer('garbage'));
      await expectUnauthorized(bearer('a.b.c'));
      await expectUnauthorized({ Authorization: 'Bearer' });
      await expectUnauthorized({ Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` });
      await expectUnauthorized({ Authorization: `bearer ${await sign(api.devSecret, { ...DEV })}x` });
    });

    it('refuses a token signed with another secret (401)', async () => {
      await expectUnauthorized(bearer(await sign(randomBytes(32), { ...DEV })));
    });

    it('refuses an alg:none token (401)', async () => {
      await expectUnauthorized(bearer(unsecured(DEV.issuer, DEV.audience)));
    });

    it('refuses an expired token (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, expiresAt: nowSeconds() - 3600 })));
    });

    it('refuses a token without expiry (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, omitExp: true })));
    });

    it('refuses a token not yet valid (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, notBefore: nowSeconds() + 3600, expiresAt: nowSeconds() + 7200 })));
    });

    it('refuses a wrong or missing issuer (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { issuer: 'someone-else', audience: DEV.audience })));
      await expectUnauthorized(bearer(await sign(api.devSecret, { audience: DEV.audience })));
    });

    it('refuses a wrong or missing audience (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { issuer: DEV.issuer, audience: 'another-api' })));
      await expectUnauthorized(bearer(await sign(api.devSecret, { issuer: DEV.issuer })));
    });

    it('refuses an unknown role claim (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, claims: { ...staff, role: 'superuser' } })));
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, claims: { ...staff, role: 'Admin' } })));
    });

    it('refuses tokens missing sub, name or team (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, claims: { ...staff, sub: undefined } })));
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, claims: { ...staff, name: undefined } })));
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, claims: { ...staff, team: undefined } })));
    });

    it('refuses the dev token signed with HS512 instead of the pinned HS256 (401)', async () => {
      await expectUnauthorized(bearer(await sign(api.devSecret, { ...DEV, alg: 'HS512' })));
    });

    it('issues dev tokens (200) and validates their request (400)', async () => {
      const response = await api.http().post('/api/auth/dev-token').send({ sub: 'u1', name: 'Uma One', role: 'officer', team: 'north' });
      expect(expectStatus(response, 200)).toEqual({ token: expect.any(String) });
      expectStatus(await api.http().get('/api/people/6f1c2a54-0000-4000-8000-000000000000').set(bearer(response.body.token)), 404);
      expectFieldErrors(await api.http().post('/api/auth/dev-token').send({ sub: 'u1', name: 'Uma', role: 'god', team: 'north' }), 'role');
      expectFieldErrors(await api.http().post('/api/auth/dev-token').send({ sub: 'u1', name: 'Uma', role: 'officer', team: 'north', admin: true }), 'admin');
    });

    it('serves health without a token', async () => {
      expectStatus(await api.http().get('/health/live'), 200);
      expectStatus(await api.http().get('/health/ready'), 200);
    });

    it('serves the OpenAPI document without a token', async () => {
      const response = await api.http().get('/api/docs-json');
      expect(expectStatus(response, 200)).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    });

    it('takes the actor of every event from the token, never from the body', async () => {
      const token = await sign(api.devSecret, { ...DEV, claims: staff });
      const as = {
        post: (path: string, body: object) => api.http().post(path).set(bearer(token)).send(body),
      };
      const forged = { id: 'mallory', name: 'Mallory', role: 'supervisor', team: 'south' };
      const before = await eventCount(api);
      expectFieldErrors(await as.post('/api/people', { ...bodies.person(), actor: forged }), 'actor');
      expect(await eventCount(api)).toBe(before);

      const personId = expectStatus(await as.post('/api/people', bodies.person()), 201).id;
      expectFieldErrors(await as.post('/api/cases', { ...bodies.case(personId), team: 'south' }), 'team');
      expectFieldErrors(await as.post('/api/cases', { ...bodies.case(personId), actor: forged }), 'actor');
      const caseId = expectStatus(await as.post('/api/cases', bodies.case(personId)), 201).id;
      expectFieldErrors(await as.post(`/api/cases/${caseId}/welfare-checks`, { ...bodies.welfareCheck(), actor: forged }), 'actor');
      expectFieldErrors(await as.post(`/api/cases/${caseId}/notes`, { ...bodies.note(), actorId: 'mallory' }), 'actorId');
      expectStatus(await as.post(`/api/cases/${caseId}/welfare-checks`, bodies.welfareCheck()), 201);

      const events = [...(await api.store.readStream(streams.person(personId))), ...(await api.store.readStream(streams.case(caseId)))];
      expect(events.map((event) => event.type)).toEqual(['PersonRegistered', 'CaseOpened', 'WelfareCheckRecorded']);
      for (const event of events) expect(event.metadata.actor).toEqual({ id: 'dana-7', name: 'Dana Reyes', role: 'social_worker', team: 'north' });
      expect((await api.store.readStream(streams.case(caseId)))[0].data).toMatchObject({ team: 'north' });
    });

    it('records the dev-token caller as the actor', async () => {
      const officer = await caller(api, 'officer', 'east', 'officer-15');
      const { caseId } = await openCase(officer);
      const [opened] = await api.store.readStream(streams.case(caseId));
      expect(opened.metadata.actor).toEqual({ id: 'officer-15', name: 'Test officer', role: 'officer', team: 'east' });
    });

    it('answered no request with a 5xx', () => {
      expect(serverErrors(api)).toEqual([]);
    });
  });

  describe('jwt auth mode (RS256, pinned)', () => {
    let api: ApiHarness;
    let privateKey: KeyLike;
    let publicPem: string;

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      privateKey = pair.privateKey;
      publicPem = await exportSPKI(pair.publicKey);
      api = await startApi(adapter, {
        AUTH_MODE: 'jwt',
        JWT_ISSUER: IDP.issuer,
        JWT_AUDIENCE: IDP.audience,
        JWT_PUBLIC_KEY: publicPem,
        MASTER_KEY: randomBytes(32).toString('base64'),
        AUDIT_SIGNING_KEY: auditKeyPem(),
      });
    });
    afterAll(() => api.close());

    async function expectUnauthorized(token: string) {
      const before = await eventCount(api);
      expectProblem(await api.http().post('/api/people').set(bearer(token)).send(bodies.person()), 401, 'unauthorized');
      expect(await eventCount(api)).toBe(before);
    }

    it('has no dev-token endpoint (404)', async () => {
      expectProblem(await api.http().post('/api/auth/dev-token').send({ sub: 'u1', name: 'Uma', role: 'admin', team: 'north' }), 404);
    });

    it('accepts an RS256 token from the configured issuer, and the event actor is its subject', async () => {
      const token = await sign(privateKey, { ...IDP, alg: 'RS256', claims: { sub: 'idp-4411', name: 'Sam Ortiz', role: 'officer', team: 'west' } });
      const response = await api.http().post('/api/people').set(bearer(token)).send(bodies.person());
      const personId = expectStatus(response, 201).id;
      const [registered] = await api.store.readStream(streams.person(personId));
      expect(registered.metadata.actor).toEqual({ id: 'idp-4411', name: 'Sam Ortiz', role: 'officer', team: 'west' });
    });

    it('refuses an HS256 token signed with the public key text (key confusion, 401)', async () => {
      await expectUnauthorized(await sign(new TextEncoder().encode(publicPem), { ...IDP, alg: 'HS256' }));
    });

    it('refuses an RS256 token signed by another key (401)', async () => {
      const other = await generateKeyPair('RS256');
      await expectUnauthorized(await sign(other.privateKey, { ...IDP, alg: 'RS256' }));
    });

    it('refuses an algorithm that is not pinned, even with the right key (401)', async () => {
      await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'PS256' }));
    });

    it('refuses an alg:none token (401)', async () => {
      await expectUnauthorized(unsecured(IDP.issuer, IDP.audience));
    });

    it('refuses an expired token (401)', async () => {
      await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', expiresAt: nowSeconds() - 3600 }));
    });

    it('refuses a token not yet valid (nbf in the future, 401)', async () => {
      await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', notBefore: nowSeconds() + 3600, expiresAt: nowSeconds() + 7200 }));
    });

    it('refuses a wrong issuer or audience (401)', async () => {
      await expectUnauthorized(await sign(privateKey, { alg: 'RS256', issuer: 'https://evil.example.test/', audience: IDP.audience }));
      await expectUnauthorized(await sign(privateKey, { alg: 'RS256', issuer: IDP.issuer, audience: 'another-api' }));
      await expectUnauthorized(await sign(privateKey, { alg: 'RS256', issuer: DEV.issuer, audience: DEV.audience }));
    });

    it('refuses an unknown role claim (401)', async () => {
      await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', claims: { ...staff, role: 'root' } }));
    });

    it('answered no request with a 5xx', () => {
      expect(serverErrors(api)).toEqual([]);
    });
  });
});

// The key set does not depend on the database: one adapter is enough.
describe('jwt auth mode with a key set (JWKS) on pglite', () => {
  let api: ApiHarness;
  let keySet: Server;
  let privateKey: KeyLike;
  let publicJwk: JWK;
  let fetches = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    keySet = createServer((_request, response) => {
      fetches++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => keySet.listen(0, '127.0.0.1', resolve));
    api = await startApi('pglite', {
      AUTH_MODE: 'jwt',
      JWT_ISSUER: IDP.issuer,
      JWT_AUDIENCE: IDP.audience,
      JWT_JWKS_URL: `http://127.0.0.1:${(keySet.address() as AddressInfo).port}/.well-known/jwks.json`,
      MASTER_KEY: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY: auditKeyPem(),
    });
  });
  afterAll(async () => {
    await api.close();
    await new Promise((resolve) => keySet.close(resolve));
  });

  async function expectUnauthorized(token: string) {
    const before = await eventCount(api);
    expectProblem(await api.http().post('/api/people').set(bearer(token)).send(bodies.person()), 401, 'unauthorized');
    expect(await eventCount(api)).toBe(before);
  }

  it('accepts a token signed by the key the set names (control for the refusals below)', async () => {
    expectStatus(await api.http().post('/api/people').set(bearer(await sign(privateKey, { ...IDP, alg: 'RS256', kid: 'k1' }))).send(bodies.person()), 201);
    expect(fetches).toBeGreaterThan(0);
  });

  it('refuses a token whose kid is not in the key set (401)', async () => {
    await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', kid: 'k2' }));
    const other = await generateKeyPair('RS256');
    await expectUnauthorized(await sign(other.privateKey, { ...IDP, alg: 'RS256', kid: 'rotated-out' }));
  });

  it('refuses a token signed by another key under a known kid (401)', async () => {
    const other = await generateKeyPair('RS256');
    await expectUnauthorized(await sign(other.privateKey, { ...IDP, alg: 'RS256', kid: 'k1' }));
  });

  it('refuses HS256 signed with the published key (key confusion), alg:none, expired and not-yet-valid tokens (401)', async () => {
    await expectUnauthorized(await sign(new TextEncoder().encode(JSON.stringify(publicJwk)), { ...IDP, alg: 'HS256', kid: 'k1' }));
    await expectUnauthorized(await sign(new TextEncoder().encode(publicJwk.n as string), { ...IDP, alg: 'HS256', kid: 'k1' }));
    await expectUnauthorized(unsecured(IDP.issuer, IDP.audience));
    await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', kid: 'k1', expiresAt: nowSeconds() - 3600 }));
    await expectUnauthorized(await sign(privateKey, { ...IDP, alg: 'RS256', kid: 'k1', notBefore: nowSeconds() + 3600, expiresAt: nowSeconds() + 7200 }));
  });

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    const unreachable = await startApi('pglite', {
      AUTH_MODE: 'jwt',
      JWT_ISSUER: IDP.issuer,
      JWT_AUDIENCE: IDP.audience,
      // A port nothing listens on: the key set's own server, closed.
      JWT_JWKS_URL: await closedPortUrl(),
      MASTER_KEY: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY: auditKeyPem(),
    });
    try {
      const response = await unreachable.http().post('/api/people').set(bearer(await sign(privateKey, { ...IDP, alg: 'RS256', kid: 'k1' }))).send(bodies.person());
      expectProblem(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBe('5');
      expect(await eventCount(unreachable)).toBe(0);
      // A token that fails on its own account is still a 401 (the algorithm pin comes first).
      expectProblem(await unreachable.http().post('/api/people').set(bearer(unsecured(IDP.issuer, IDP.audience))).send(bodies.person()), 401);
    } finally {
      await unreachable.close();
    }
  });

  it('answered no request with a 5xx', () => {
    expect(serverErrors(api)).toEqual([]);
  });
});

/** A loopback URL on a port that was free a moment ago and is closed now. */
async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/jwks.json`;
}

/** An Ed25519 audit signing key as AUDIT_SIGNING_KEY takes it (PKCS8 PEM). */
const auditKeyPem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

describe('auth configuration', () => {
  const jwtEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    AUTH_MODE: 'jwt',
    JWT_ISSUER: IDP.issuer,
    JWT_AUDIENCE: IDP.audience,
    JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
    MASTER_KEY: randomBytes(32).toString('base64'),
    AUDIT_SIGNING_KEY: auditKeyPem(),
    ...extra,
  });

  const failure = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it.each([
    ['JWT_ISSUER', { JWT_ISSUER: '' }],
    ['JWT_AUDIENCE', { JWT_AUDIENCE: '' }],
    ['JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: '' }],
    ['JWT_ALGORITHMS', { JWT_ALGORITHMS: 'HS256' }],
    ['JWT_ALGORITHMS', { JWT_ALGORITHMS: 'none' }],
    ['MASTER_KEY', { MASTER_KEY: '' }],
    ['AUDIT_SIGNING_KEY', { AUDIT_SIGNING_KEY: '' }],
    ['AUDIT_SIGNING_KEY', { AUDIT_SIGNING_KEY: 'bm90IGEga2V5' }],
    ['AUDIT_SIGNING_KEY', { AUDIT_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }],
    ['AUTH_MODE', { AUTH_MODE: 'open' }],
  ])('refuses to start in jwt mode with a bad %s (%j)', (variable, extra) => {
    const error = failure(jwtEnv(extra));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('takes the audit signing key as PKCS8 PEM (with \\n escapes) or as base64 of its DER', () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(loadConfig(jwtEnv({ AUDIT_SIGNING_KEY: pem.replace(/\n/g, '\\n') })).auditSigningKey).toBe(pem);
    const der = key.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(loadConfig(jwtEnv({ AUDIT_SIGNING_KEY: der })).auditSigningKey).toBe(der);
    expect(loadConfig({ AUTH_MODE: 'dev' }).auditSigningKey).toBeUndefined();
  });
});
