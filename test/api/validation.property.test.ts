import fc from 'fast-check';
import type { Response } from 'supertest';
import {
  caseDispositions,
  caseReasons,
  declinedByValues,
  noteVisibilities,
  referralOutcomes,
  referralTypes,
  referralUrgencies,
  riskLevels,
  welfareCheckOutcomes,
} from '@caseline/domain';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import {
  bodies,
  caller,
  closeCase,
  eventCount,
  expectProblem,
  expectStatus,
  grantConsent,
  makeReferral,
  openCase,
  registerPerson,
  scheduleFollowUp,
  serverErrors,
  streams,
  type Caller,
} from '../support/casework-client';

jest.setTimeout(120_000);

// Property: every command endpoint answers any invalid body with 400 problem+json carrying
// field-level `errors`, and appends nothing — not to the target stream, not anywhere.

const NUM_RUNS = 25;

// ---- body schemas (SPEC §4 and the DTO bounds) --------------------------------------------------

type Field = { optional?: boolean } & (
  | { kind: 'text'; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'instant' }
  | { kind: 'date' }
  | { kind: 'phone' }
  | { kind: 'uuid' }
  | { kind: 'recipients' }
  | { kind: 'object'; fields: Schema }
);
type Schema = Record<string, Field>;

const text = (max: number, optional = false): Field => ({ kind: 'text', max, optional });
const oneOf = (values: readonly string[]): Field => ({ kind: 'enum', values });
const instant = (optional = false): Field => ({ kind: 'instant', optional });

interface Fixtures {
  personId: string;
  consentId: string;
  erasablePersonId: string;
  caseId: string;
  followUpId: string;
  closedCaseId: string;
  madeReferralId: string;
  acceptedReferralId: string;
}

interface Endpoint {
  name: string;
  path(fx: Fixtures): string;
  /** The stream the command would append to, when it exists before the command. */
  stream?(fx: Fixtures): string;
  as: 'supervisor' | 'admin';
  schema: Schema;
  valid(fx: Fixtures): Record<string, unknown>;
}

const reasonOnly: Schema = { reason: text(1000) };
const noteOnly: Schema = { note: text(5000, true) };

const ENDPOINTS: Endpoint[] = [
  {
    name: 'POST /api/people',
    path: () => '/api/people',
    as: 'supervisor',
    schema: { givenName: text(100), familyName: text(100), dateOfBirth: { kind: 'date', optional: true }, phone: { kind: 'phone', optional: true } },
    valid: () => bodies.person(),
  },
  {
    name: 'POST /api/people/:id/consents',
    path: (fx) => `/api/people/${fx.personId}/consents`,
    stream: (fx) => streams.person(fx.personId),
    as: 'supervisor',
    schema: { scope: oneOf(['referral-sharing']), recipients: { kind: 'recipients' }, expiresAt: instant(true) },
    valid: () => bodies.consent(['Harbor House'], { expiresAt: '2099-01-01T00:00:00Z' }),
  },
  {
    name: 'POST /api/people/:id/consents/:consentId/revocation',
    path: (fx) => `/api/people/${fx.personId}/consents/${fx.consentId}/revocation`,
    stream: (fx) => streams.person(fx.personId),
    as: 'supervisor',
    schema: reasonOnly,
    valid: () => bodies.reason(),
  },
  {
    name: 'POST /api/people/:id/erasure',
    path: (fx) => `/api/people/${fx.erasablePersonId}/erasure`,
    stream: (fx) => streams.person(fx.erasablePersonId),
    as: 'admin',
    schema: reasonOnly,
    valid: () => bodies.reason(),
  },
  {
    name: 'POST /api/cases',
    path: () => '/api/cases',
    as: 'supervisor',
    schema: { personId: { kind: 'uuid' }, reason: oneOf(caseReasons), risk: oneOf(riskLevels), summary: text(2000), cadIncidentId: text(100, true) },
    valid: (fx) => bodies.case(fx.personId, { cadIncidentId: 'CAD-1' }),
  },
  {
    name: 'POST /api/cases/:id/assignment',
    path: (fx) => `/api/cases/${fx.caseId}/assignment`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { workerId: text(200) },
    valid: () => bodies.assignment(),
  },
  {
    name: 'POST /api/cases/:id/risk',
    path: (fx) => `/api/cases/${fx.caseId}/risk`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { risk: oneOf(riskLevels), reason: text(1000) },
    valid: () => bodies.risk('high'),
  },
  {
    name: 'POST /api/cases/:id/welfare-checks',
    path: (fx) => `/api/cases/${fx.caseId}/welfare-checks`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { performedAt: instant(), location: text(500), outcome: oneOf(welfareCheckOutcomes), observations: text(10000) },
    valid: () => bodies.welfareCheck(),
  },
  {
    name: 'POST /api/cases/:id/notes',
    path: (fx) => `/api/cases/${fx.caseId}/notes`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { body: text(10000), visibility: oneOf(noteVisibilities) },
    valid: () => bodies.note(),
  },
  {
    name: 'POST /api/cases/:id/follow-ups',
    path: (fx) => `/api/cases/${fx.caseId}/follow-ups`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { dueAt: instant(), assigneeId: text(200), purpose: text(1000) },
    valid: () => bodies.followUp(),
  },
  {
    name: 'POST /api/cases/:id/follow-ups/:followUpId/completion',
    path: (fx) => `/api/cases/${fx.caseId}/follow-ups/${fx.followUpId}/completion`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { outcome: text(1000), note: text(5000, true) },
    valid: () => bodies.completion('Met', { note: 'fine' }),
  },
  {
    name: 'POST /api/cases/:id/follow-ups/:followUpId/cancellation',
    path: (fx) => `/api/cases/${fx.caseId}/follow-ups/${fx.followUpId}/cancellation`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: reasonOnly,
    valid: () => bodies.reason(),
  },
  {
    name: 'POST /api/cases/:id/closure',
    path: (fx) => `/api/cases/${fx.caseId}/closure`,
    stream: (fx) => streams.case(fx.caseId),
    as: 'supervisor',
    schema: { disposition: oneOf(caseDispositions), note: text(5000, true) },
    valid: () => bodies.closure('resolved', { note: 'done' }),
  },
  {
    name: 'POST /api/cases/:id/reopening',
    path: (fx) => `/api/cases/${fx.closedCaseId}/reopening`,
    stream: (fx) => streams.case(fx.closedCaseId),
    as: 'supervisor',
    schema: reasonOnly,
    valid: () => bodies.reason(),
  },
  {
    name: 'POST /api/cases/:id/referrals',
    path: (fx) => `/api/cases/${fx.caseId}/referrals`,
    as: 'supervisor',
    schema: {
      type: oneOf(referralTypes),
      provider: { kind: 'object', fields: { name: text(200) } },
      urgency: oneOf(referralUrgencies),
      notes: text(5000, true),
      consentId: { kind: 'uuid', optional: true },
      consentOverride: { kind: 'object', optional: true, fields: { reason: text(1000) } },
    },
    valid: (fx) => bodies.referral({ notes: 'n', consentId: fx.consentId }),
  },
  {
    name: 'POST /api/referrals/:id/acceptance',
    path: (fx) => `/api/referrals/${fx.madeReferralId}/acceptance`,
    stream: (fx) => streams.referral(fx.madeReferralId),
    as: 'supervisor',
    schema: noteOnly,
    valid: () => ({ note: 'accepted by phone' }),
  },
  {
    name: 'POST /api/referrals/:id/decline',
    path: (fx) => `/api/referrals/${fx.madeReferralId}/decline`,
    stream: (fx) => streams.referral(fx.madeReferralId),
    as: 'supervisor',
    schema: { by: oneOf(declinedByValues), reason: text(1000) },
    valid: () => bodies.decline(),
  },
  {
    name: 'POST /api/referrals/:id/service-start',
    path: (fx) => `/api/referrals/${fx.acceptedReferralId}/service-start`,
    stream: (fx) => streams.referral(fx.acceptedReferralId),
    as: 'supervisor',
    schema: { startedAt: instant(), note: text(5000, true) },
    valid: () => bodies.serviceStart({ note: 'started' }),
  },
  {
    name: 'POST /api/referrals/:id/closure',
    path: (fx) => `/api/referrals/${fx.acceptedReferralId}/closure`,
    stream: (fx) => streams.referral(fx.acceptedReferralId),
    as: 'supervisor',
    schema: { outcome: oneOf(referralOutcomes), note: text(5000, true) },
    valid: () => bodies.referralClosure('service_received', { note: 'done' }),
  },
  {
    name: 'POST /api/referrals/:id/revocation',
    path: (fx) => `/api/referrals/${fx.madeReferralId}/revocation`,
    stream: (fx) => streams.referral(fx.madeReferralId),
    as: 'supervisor',
    schema: reasonOnly,
    valid: () => bodies.reason(),
  },
];

// ---- generators of invalid values and bodies ----------------------------------------------------

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const RESERVED = new Set([...PROTOTYPE_KEYS, ...Object.getOwnPropertyNames(Object.prototype)]);

/** A value of the wrong JSON type. `null` counts as absent for optional fields, so only required ones get it. */
function wrongType(field: Field): fc.Arbitrary<unknown> {
  const options: Array<fc.Arbitrary<unknown>> = [fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()];
  if (field.kind !== 'recipients') options.push(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
  if (field.kind !== 'object') options.push(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }));
  if (!field.optional) options.push(fc.constant(null));
  return fc.oneof(...options);
}

const BAD_INSTANTS = [
  'yesterday',
  'now',
  '2024-13-01T00:00:00Z',
  '2024-02-30T10:00:00Z',
  '2024-01-01T25:00:00Z',
  '2024-01-01T10:61:00Z',
  '12/01/2024 10:00',
  '2024/01/01T10:00:00Z',
  '1700000000',
  'T10:00:00Z',
  '2024-01-01 10:00:00',
  '2024-01-01T10:00:00',
  '2024-01-01',
  '',
];
const BAD_DATES = ['1980-13-01', '1980-02-30', '12/04/1980', '1980-4-12', '1980-04-12T00:00:00Z', '19800412', 'birthday', ''];
const BAD_PHONES = ['call me', '+', '12', '5'.repeat(31), '555-0100 ext. 4', '+1 (555) 0100 #2', '☎ 555 0100', ''];
const BAD_UUIDS = ['not-a-uuid', '123', '6f1c2a54-0000-4000-8000-00000000000', '6f1c2a54-0000-4000-8000-0000000000000', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', ''];

const oversized = (max: number) => fc.integer({ min: 1, max: 300 }).map((extra) => 'x'.repeat(max + extra));
const notIn = (values: readonly string[]) => fc.string({ maxLength: 20 }).filter((value) => !values.includes(value));

function invalidValue(field: Field): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'text':
      return fc.oneof(wrongType(field), fc.constant(''), oversized(field.max), ...(field.optional ? [] : [fc.constantFrom(' ', '   ', '\n\t')]));
    case 'enum':
      return fc.oneof(wrongType(field), notIn(field.values), fc.constantFrom(...field.values.map((value) => value.toUpperCase())));
    case 'instant':
      return fc.oneof(wrongType(field), fc.constantFrom(...BAD_INSTANTS));
    case 'date':
      return fc.oneof(wrongType(field), fc.constantFrom(...BAD_DATES));
    case 'phone':
      return fc.oneof(wrongType(field), fc.constantFrom(...BAD_PHONES));
    case 'uuid':
      return fc.oneof(wrongType(field), fc.constantFrom(...BAD_UUIDS));
    case 'recipients':
      return fc.oneof(
        wrongType(field),
        fc.constant([]),
        fc.integer({ min: 51, max: 80 }).map((n) => Array.from({ length: n }, (_, i) => `Provider ${i}`)),
        fc.tuple(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(''), oversized(200)), fc.nat(2)).map(([bad, at]) => {
          const list: unknown[] = ['any', 'Harbor House'];
          list.splice(at, 0, bad);
          return list;
        }),
      );
    case 'object':
      return fc.oneof(
        wrongType(field),
        validObject(field.fields).chain((valid) => invalidBody(field.fields, valid)),
      );
  }
}

function validObject(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  return fc.constant(Object.fromEntries(Object.keys(schema).map((key) => [key, 'Harbor House'])));
}

const unknownKey = (schema: Schema) =>
  fc.oneof(fc.constantFrom('actor', 'id', 'version', 'team', 'caseId', 'createdBy', 'role'), fc.string({ minLength: 1, maxLength: 15 })).filter(
    (key) => !(key in schema) && !RESERVED.has(key),
  );

type Mutation = { op: 'delete'; key: string } | { op: 'set'; key: string; value: unknown };

/** Picks a field (or an unknown key) uniformly, then a way to make it wrong. */
function mutation(schema: Schema): fc.Arbitrary<Mutation> {
  const unknown = '\u0000unknown';
  return fc.constantFrom(...Object.keys(schema), unknown).chain((key): fc.Arbitrary<Mutation> => {
    if (key === unknown) {
      return fc.tuple(unknownKey(schema), fc.jsonValue({ maxDepth: 2 })).map(([name, value]): Mutation => ({ op: 'set', key: name, value }));
    }
    const field = schema[key];
    const set = invalidValue(field).map((value): Mutation => ({ op: 'set', key, value }));
    return field.optional ? set : fc.oneof(fc.constant<Mutation>({ op: 'delete', key }), set);
  });
}

/** A valid body with one to three mutations, each of which alone makes it invalid. */
function invalidBody(schema: Schema, valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(mutation(schema), { minLength: 1, maxLength: 3 }).map((mutations) => {
    const body: Record<string, unknown> = { ...valid };
    for (const change of mutations) {
      if (change.op === 'delete') delete body[change.key];
      else body[change.key] = change.value;
    }
    return body;
  });
}

const nonObjectBody = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.string({ maxLength: 30 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
);

// ---- the tests ----------------------------------------------------------------------------------

describe.each(ADAPTERS)('request validation on %s', (adapter) => {
  let api: ApiHarness;
  let supervisor: Caller;
  let admin: Caller;
  let fx: Fixtures;

  /** Records in the state where each command's lifecycle allows it (only the body can be wrong). */
  async function fixtures(): Promise<Fixtures> {
    const personId = await registerPerson(supervisor);
    const consentId = await grantConsent(supervisor, personId);
    const erasablePersonId = await registerPerson(supervisor);
    const { caseId } = await openCase(supervisor, personId);
    const followUpId = await scheduleFollowUp(supervisor, caseId);
    const { caseId: closedCaseId } = await openCase(supervisor, personId);
    await closeCase(supervisor, closedCaseId);
    const madeReferralId = await makeReferral(supervisor, caseId);
    const acceptedReferralId = await makeReferral(supervisor, caseId);
    expectStatus(await supervisor.post(`/api/referrals/${acceptedReferralId}/acceptance`, {}), 200);
    return { personId, consentId, erasablePersonId, caseId, followUpId, closedCaseId, madeReferralId, acceptedReferralId };
  }

  beforeAll(async () => {
    api = await startApi(adapter);
    [supervisor, admin] = await Promise.all([caller(api, 'supervisor'), caller(api, 'admin', 'ops')]);
    fx = await fixtures();
  });
  afterAll(() => api.close());

  const who = (endpoint: Endpoint) => (endpoint.as === 'admin' ? admin : supervisor);

  /** Sends exactly this JSON text. */
  const sendRaw = (endpoint: Endpoint, fixtures: Fixtures, raw: string, contentType = 'application/json') =>
    api.http().post(endpoint.path(fixtures)).set('Authorization', `Bearer ${who(endpoint).token}`).set('Content-Type', contentType).send(raw);

  async function snapshot(endpoint: Endpoint, fixtures: Fixtures) {
    return { events: await eventCount(api), stream: endpoint.stream ? await api.store.streamVersion(endpoint.stream(fixtures)) : undefined };
  }

  /** 400 problem+json with field-level errors, and nothing appended anywhere. */
  async function expectRejected(response: Response, endpoint: Endpoint, fixtures: Fixtures, before: Awaited<ReturnType<typeof snapshot>>) {
    expect({ status: response.status, contentType: response.headers['content-type'], body: response.body }).toMatchObject({
      status: 400,
      contentType: expect.stringMatching(/^application\/problem\+json/),
      body: { status: 400, type: expect.any(String), title: expect.any(String), detail: expect.any(String), code: expect.any(String), errors: expect.any(Array) },
    });
    expect(response.body.errors.length).toBeGreaterThan(0);
    for (const error of response.body.errors) expect(error).toEqual({ field: expect.any(String), code: expect.any(String), message: expect.any(String) });
    expect(await snapshot(endpoint, fixtures)).toEqual(before);
  }

  describe.each(ENDPOINTS.map((endpoint) => [endpoint.name, endpoint] as const))('%s', (_name, endpoint) => {
    it('answers every generated invalid body with 400 and field errors, appending nothing', async () => {
      await fc.assert(
        fc.asyncProperty(invalidBody(endpoint.schema, endpoint.valid(fx)), async (body) => {
          const before = await snapshot(endpoint, fx);
          await expectRejected(await sendRaw(endpoint, fx, JSON.stringify(body)), endpoint, fx, before);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  it('refuses each required field missing, one at a time, on every endpoint (400 naming the field)', async () => {
    const wrong: string[] = [];
    for (const endpoint of ENDPOINTS) {
      for (const [key, field] of Object.entries(endpoint.schema)) {
        if (field.optional) continue;
        const body = { ...endpoint.valid(fx) };
        delete body[key];
        const before = await snapshot(endpoint, fx);
        const response = await sendRaw(endpoint, fx, JSON.stringify(body));
        const fields = (response.body?.errors ?? []).map((error: { field: string }) => error.field);
        const after = await snapshot(endpoint, fx);
        if (response.status !== 400 || !fields.includes(key) || JSON.stringify(after) !== JSON.stringify(before)) {
          wrong.push(`${endpoint.name} without ${key} → ${response.status} ${JSON.stringify(response.body)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers non-object JSON bodies (null, numbers, strings, booleans, arrays) on every endpoint with 400 and field errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), nonObjectBody, async (endpoint, body) => {
        const before = await snapshot(endpoint, fx);
        await expectRejected(await sendRaw(endpoint, fx, JSON.stringify(body)), endpoint, fx, before);
      }),
      { numRuns: 60 },
    );
  });

  it('answers malformed JSON on every endpoint with 400 problem+json, appending nothing', async () => {
    const malformed = ['{', '{"reason":', "{'reason':'x'}", '{"reason":"x",}', 'undefined', '<reason>x</reason>', '{"a":1}{"b":2}', '{"reason":"x"', '\u0000'];
    for (const endpoint of ENDPOINTS) {
      for (const raw of malformed) {
        const before = await snapshot(endpoint, fx);
        const response = await sendRaw(endpoint, fx, raw);
        expectProblem(response, 400);
        expect(await snapshot(endpoint, fx)).toEqual(before);
      }
    }
  });

  it('refuses prototype-named keys (__proto__, constructor, …) as unknown properties on every endpoint', async () => {
    const accepted: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const fresh = await fixtures();
      for (const key of PROTOTYPE_KEYS) {
        const before = await snapshot(endpoint, fresh);
        const raw = JSON.stringify(endpoint.valid(fresh)).replace(/}$/, `,${JSON.stringify(key)}:{"polluted":true}}`);
        const response = await sendRaw(endpoint, fresh, raw);
        const after = await snapshot(endpoint, fresh);
        const errorFields = (response.body?.errors ?? []).map((error: { field: string }) => error.field);
        if (response.status !== 400 || !errorFields.includes(key) || JSON.stringify(after) !== JSON.stringify(before)) {
          accepted.push(`${endpoint.name} with "${key}" → ${response.status}${JSON.stringify(after) !== JSON.stringify(before) ? ' (appended)' : ''}`);
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a body over 1 MB (400 problem+json)', async () => {
    const endpoint = ENDPOINTS.find((e) => e.name === 'POST /api/cases/:id/notes') as Endpoint;
    const before = await snapshot(endpoint, fx);
    const response = await sendRaw(endpoint, fx, JSON.stringify({ body: 'x'.repeat(1_100_000), visibility: 'team' }));
    expectProblem(response, 400);
    expect(await snapshot(endpoint, fx)).toEqual(before);
  });

  it('refuses a body that is not JSON (400 problem+json)', async () => {
    const endpoint = ENDPOINTS.find((e) => e.name === 'POST /api/cases/:id/notes') as Endpoint;
    const before = await snapshot(endpoint, fx);
    expectProblem(await sendRaw(endpoint, fx, 'body=hello&visibility=team', 'application/x-www-form-urlencoded'), 400);
    expectProblem(await sendRaw(endpoint, fx, 'hello', 'text/plain'), 400);
    expect(await snapshot(endpoint, fx)).toEqual(before);
  });

  it('refuses text the database cannot store (NUL, lone surrogate) as 400, not 500', async () => {
    const endpoint = ENDPOINTS.find((e) => e.name === 'POST /api/cases/:id/welfare-checks') as Endpoint;
    for (const raw of ['"a\\u0000b"', '"a\\ud800b"']) {
      const before = await snapshot(endpoint, fx);
      const body = JSON.stringify(bodies.welfareCheck()).replace('"Person was calm"', raw);
      const response = await sendRaw(endpoint, fx, body);
      expectProblem(response, 400);
      expect(await snapshot(endpoint, fx)).toEqual(before);
    }
  });

  it('accepts the base bodies the generators start from (the properties are not vacuous)', async () => {
    const refused: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const fresh = await fixtures();
      const response = await sendRaw(endpoint, fresh, JSON.stringify(endpoint.valid(fresh)));
      if (response.status !== 200 && response.status !== 201) refused.push(`${endpoint.name} → ${response.status} ${JSON.stringify(response.body)}`);
    }
    expect(refused).toEqual([]);
  });

  it('answered no request with a 5xx', () => {
    expect(serverErrors(api)).toEqual([]);
  });
});
