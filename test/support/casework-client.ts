import type { Response } from 'supertest';
import { caseStream, personStream, referralStream } from '@caseline/domain';
import type { ApiHarness, Role } from './api-harness';

// Small helpers shared by the API tests: an authenticated caller, valid bodies for every command,
// and assertions on problem+json answers and on stream versions.

export const PROBLEM_JSON = /^application\/problem\+json/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type Headers = Record<string, string>;

export interface Caller {
  role: Role;
  team: string;
  sub: string;
  token: string;
  post(path: string, body?: unknown, headers?: Headers): Promise<Response>;
  get(path: string, headers?: Headers): Promise<Response>;
}

/** A caller holding a dev token for this role and team. */
export async function caller(api: ApiHarness, role: Role, team = 'north', sub = `${role}-${team}`): Promise<Caller> {
  const token = await api.token(role, team, sub);
  return {
    role,
    team,
    sub,
    token,
    post: (path, body, headers = {}) => {
      const call = api.http().post(path).set('Authorization', `Bearer ${token}`).set(headers);
      return body === undefined ? call : call.send(body as object);
    },
    get: (path, headers = {}) => api.http().get(path).set('Authorization', `Bearer ${token}`).set(headers),
  };
}

export const streams = { person: personStream, case: caseStream, referral: referralStream };

/** Asserts a problem+json answer with this status (and domain code), showing the body on failure. */
export function expectProblem(response: Response, status: number, code?: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], body: response.body }).toMatchObject({
    status,
    contentType: expect.stringMatching(PROBLEM_JSON),
    body: {
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code: code ?? expect.any(String),
    },
  });
}

/** Asserts a 400 problem carrying a non-empty field-level `errors` array. */
export function expectFieldErrors(response: Response, field?: string): void {
  expectProblem(response, 400);
  expect(Array.isArray(response.body.errors)).toBe(true);
  expect(response.body.errors.length).toBeGreaterThan(0);
  for (const error of response.body.errors) expect(error).toEqual({ field: expect.any(String), code: expect.any(String), message: expect.any(String) });
  if (field !== undefined) expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
}

/** Asserts a 2xx command answer and returns its body, showing the body on failure. */
export function expectStatus(response: Response, status: number): Response['body'] {
  expect({ status: response.status, body: response.body }).toMatchObject({ status });
  return response.body;
}

export const versionOf = (api: ApiHarness, streamId: string): Promise<number> => api.store.streamVersion(streamId);

/** Every event in the store (both adapters share the SQL schema). */
export async function eventCount(api: ApiHarness): Promise<number> {
  const { rows } = await api.db.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events');
  return Number(rows[0].n);
}

// ---- valid bodies -------------------------------------------------------------------------------

const minutesFromNow = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

export const bodies = {
  person: (extra: object = {}) => ({ givenName: 'Ana', familyName: 'Lopez', dateOfBirth: '1980-04-12', phone: '+1 555 0100', ...extra }),
  consent: (recipients: string[] = ['any'], extra: object = {}) => ({ scope: 'referral-sharing', recipients, ...extra }),
  reason: (reason = 'no longer applies') => ({ reason }),
  case: (personId: string, extra: object = {}) => ({ personId, reason: 'homelessness', risk: 'medium', summary: 'Sleeping in car', ...extra }),
  assignment: (workerId = 'sw-7') => ({ workerId }),
  risk: (risk = 'high', reason = 'threats reported') => ({ risk, reason }),
  welfareCheck: (extra: object = {}) => ({ performedAt: minutesFromNow(-30), location: 'Main St underpass', outcome: 'safe', observations: 'Person was calm', ...extra }),
  note: (visibility: 'team' | 'confidential' = 'team', body = 'Spoke with landlord') => ({ body, visibility }),
  followUp: (extra: object = {}) => ({ dueAt: minutesFromNow(24 * 60), assigneeId: 'sw-7', purpose: 'Check on housing application', ...extra }),
  completion: (outcome = 'Met in person', extra: object = {}) => ({ outcome, ...extra }),
  closure: (disposition = 'resolved', extra: object = {}) => ({ disposition, ...extra }),
  referral: (extra: object = {}) => ({ type: 'shelter', provider: { name: 'Harbor House' }, urgency: 'urgent', ...extra }),
  decline: (by = 'provider', reason = 'no beds') => ({ by, reason }),
  serviceStart: (extra: object = {}) => ({ startedAt: new Date().toISOString(), ...extra }),
  referralClosure: (outcome = 'service_received', extra: object = {}) => ({ outcome, ...extra }),
};

// ---- set-up steps (each asserts its own success) ------------------------------------------------

export async function registerPerson(as: Caller, extra: object = {}): Promise<string> {
  return expectStatus(await as.post('/api/people', bodies.person(extra)), 201).id;
}

export async function grantConsent(as: Caller, personId: string, recipients: string[] = ['any'], extra: object = {}): Promise<string> {
  return expectStatus(await as.post(`/api/people/${personId}/consents`, bodies.consent(recipients, extra)), 201).consentId;
}

export async function openCase(as: Caller, personId?: string): Promise<{ caseId: string; personId: string }> {
  const subject = personId ?? (await registerPerson(as));
  const caseId = expectStatus(await as.post('/api/cases', bodies.case(subject)), 201).id;
  return { caseId, personId: subject };
}

export async function closeCase(as: Caller, caseId: string): Promise<void> {
  expectStatus(await as.post(`/api/cases/${caseId}/closure`, bodies.closure()), 200);
}

export async function scheduleFollowUp(as: Caller, caseId: string): Promise<string> {
  return expectStatus(await as.post(`/api/cases/${caseId}/follow-ups`, bodies.followUp()), 201).followUpId;
}

/** A case whose person consented to referral sharing with any provider. */
export async function consentedCase(as: Caller): Promise<{ caseId: string; personId: string; consentId: string }> {
  const personId = await registerPerson(as);
  const consentId = await grantConsent(as, personId);
  const { caseId } = await openCase(as, personId);
  return { caseId, personId, consentId };
}

export async function makeReferral(as: Caller, caseId: string, extra: object = {}): Promise<string> {
  return expectStatus(await as.post(`/api/cases/${caseId}/referrals`, bodies.referral(extra)), 201).referralId;
}

/** Log lines the service wrote, parsed (non-JSON lines are kept as `{ raw }`). */
export function parsedLogs(api: ApiHarness): Array<Record<string, unknown>> {
  return api.logs.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { raw: line };
    }
  });
}

/**
 * Log lines of requests answered with a 5xx other than the allowed ones (a client error is never
 * a 500; only the fault tests expect 503s).
 */
export function serverErrors(api: ApiHarness, allowed: number[] = []): string[] {
  return api.logs.filter((line) => {
    try {
      const status = (JSON.parse(line) as { res?: { status?: number } }).res?.status;
      return typeof status === 'number' && status >= 500 && !allowed.includes(status);
    } catch {
      return false;
    }
  });
}

/**
 * Asks `probe` again until `done` holds, for at most `withinMs`; returns the last answer either way,
 * so the caller's assertion shows what was seen. For effects that travel between processes.
 */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = await probe();
  }
  return value;
}
