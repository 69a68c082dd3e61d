import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Response } from 'supertest';
import { can, inScope, roles, type AuthenticatedActor, type Capability, type Role } from '@caseline/api-platform';
import { DIGEST_FORMAT } from '@caseline/audit';
import { startApi, type ApiHarness } from '../support/api-harness';
import { bodies, caller, eventCount, expectStatus, grantConsent, makeReferral, PROBLEM_JSON, scheduleFollowUp, type Caller } from '../support/casework-client';

jest.setTimeout(120_000);

// The authorization matrix, generated: every caller (each role, no token, an expired token) × every
// endpoint × an object of the caller's own team and of another team. The expected status is not
// written down per cell: it is derived from the policy table and inScope (SPEC §5) — 401 without a
// valid token, 403 for a role without the capability, 404 for an object out of scope, else the
// endpoint's success — so the table below only says what each endpoint needs and how to call it.
// A refused request must append nothing; an answered one must hold no text the caller's role may
// not read (confidential notes, referral details, consent data; admins no case content at all).
// The route table must name every operation of the OpenAPI document: a new endpoint fails here
// until it has a row.

type Team = 'north' | 'south';
const TEAMS: Team[] = ['north', 'south'];
/** Every caller below belongs to this team; objects of the other team are out of their scope. */
const OWN: Team = 'north';

type Who = Role | 'no token' | 'expired token';
const CALLERS: Who[] = [...roles, 'no token', 'expired token'];

const secret = (label: string) => `${label}${randomBytes(6).toString('hex')}`;

/** Texts planted in every object, each readable only by roles holding the capability named. */
const SECRETS: Array<{ name: string; text: string; readableWith: Capability }> = [
  { name: "person's name", text: secret('Given'), readableWith: 'person.read' },
  { name: 'case summary', text: secret('Summary'), readableWith: 'case.read' },
  { name: 'confidential note', text: secret('Confidential'), readableWith: 'case.note.confidential.read' },
  { name: 'referral notes', text: secret('ReferralNotes'), readableWith: 'referral.read' },
  { name: 'consent recipient', text: secret('ConsentRecipient'), readableWith: 'consent.read' },
];
const planted = (name: string) => SECRETS.find((entry) => entry.name === name)?.text as string;

interface SharedObjects {
  personId: string;
  consentId: string;
  /** Open, with a scheduled follow-up, a confidential note and a referral. */
  caseId: string;
  followUpId: string;
  referralId: string;
}

/** The objects each team's supervisor sets up: shared ones for most cells, fresh ones on demand. */
class World {
  readonly shared = {} as Record<Team, SharedObjects>;

  constructor(private readonly staff: Record<Team, Caller>) {}

  async setUp(): Promise<void> {
    for (const team of TEAMS) {
      const personId = await this.person(team);
      const consentId = await grantConsent(this.staff[team], personId, ['any']);
      const caseId = await this.openCase(team, personId);
      const followUpId = await scheduleFollowUp(this.staff[team], caseId);
      expectStatus(await this.staff[team].post(`/api/cases/${caseId}/notes`, bodies.note('confidential', planted('confidential note'))), 201);
      const referralId = await makeReferral(this.staff[team], caseId, { notes: planted('referral notes') });
      this.shared[team] = { personId, consentId, caseId, followUpId, referralId };
    }
  }

  async person(team: Team): Promise<string> {
    const personId = expectStatus(await this.staff[team].post('/api/people', bodies.person({ givenName: planted("person's name") })), 201).id;
    await grantConsent(this.staff[team], personId, [planted('consent recipient')]);
    return personId;
  }

  async openCase(team: Team, personId = this.shared[team].personId): Promise<string> {
    return expectStatus(await this.staff[team].post('/api/cases', bodies.case(personId, { summary: planted('case summary') })), 201).id;
  }

  async closedCase(team: Team): Promise<string> {
    const caseId = await this.openCase(team);
    expectStatus(await this.staff[team].post(`/api/cases/${caseId}/closure`, bodies.closure()), 200);
    return caseId;
  }

  consent(team: Team): Promise<string> {
    return grantConsent(this.staff[team], this.shared[team].personId, ['any']);
  }

  followUp(team: Team): Promise<string> {
    return scheduleFollowUp(this.staff[team], this.shared[team].caseId);
  }

  referral(team: Team): Promise<string> {
    return makeReferral(this.staff[team], this.shared[team].caseId, { notes: planted('referral notes') });
  }

  async acceptedReferral(team: Team): Promise<string> {
    const referralId = await this.referral(team);
    expectStatus(await this.staff[team].post(`/api/referrals/${referralId}/acceptance`, {}), 200);
    return referralId;
  }
}

interface Route {
  method: 'GET' | 'POST';
  /** As the OpenAPI document writes it. */
  path: string;
  /** Tells apart rows of one operation (a body or query that needs more). */
  variant?: string;
  /** No token needed, or every capability the call needs (SPEC §5, the policy table). */
  needs: 'public' | Capability[];
  /**
   * Whose object the call is about: none; one team's (out of the caller's scope: 404); any team's
   * (erasure is an admin act on anyone); every team's (the whole store).
   */
  scope: 'none' | 'team' | 'any' | 'every-team';
  /** The answer when the caller may do it. */
  status: 200 | 201;
  /** False for the docs page and its assets, which the OpenAPI document leaves out. */
  documented?: false;
  /**
   * The call against `team`'s object. `fresh`: the call is expected to succeed, so it gets an object
   * of its own in the state its command needs (commands that can be repeated use the shared one).
   */
  call(world: World, team: Team, fresh: boolean): Promise<[url: string, body?: object]> | [url: string, body?: object];
}

const shared = (world: World, team: Team) => world.shared[team];

const ROUTES: Route[] = [
  { method: 'GET', path: '/health/live', needs: 'public', scope: 'none', status: 200, call: () => ['/health/live'] },
  { method: 'GET', path: '/health/ready', needs: 'public', scope: 'none', status: 200, call: () => ['/health/ready'] },
  { method: 'GET', path: '/health/metrics', needs: 'public', scope: 'none', status: 200, call: () => ['/health/metrics'] },
  { method: 'GET', path: '/api/docs', needs: 'public', scope: 'none', status: 200, documented: false, call: () => ['/api/docs'] },
  { method: 'GET', path: '/api/docs-json', needs: 'public', scope: 'none', status: 200, documented: false, call: () => ['/api/docs-json'] },
  { method: 'GET', path: '/api/docs/{asset}', needs: 'public', scope: 'none', status: 200, documented: false, call: () => ['/api/docs/swagger-ui.css'] },
  {
    method: 'POST',
    path: '/api/auth/dev-token',
    needs: 'public',
    scope: 'none',
    status: 200,
    call: () => ['/api/auth/dev-token', { sub: 'matrix-user', name: 'Matrix User', role: 'officer', team: OWN }],
  },

  // People
  { method: 'POST', path: '/api/people', needs: ['person.register'], scope: 'none', status: 201, call: () => ['/api/people', bodies.person({ givenName: planted("person's name") })] },
  { method: 'GET', path: '/api/people/{personId}', needs: ['person.read'], scope: 'team', status: 200, call: (w, team) => [`/api/people/${shared(w, team).personId}`] },
  {
    method: 'POST',
    path: '/api/people/{personId}/corrections',
    needs: ['person.correct'],
    scope: 'team',
    status: 200,
    call: (w, team) => [`/api/people/${shared(w, team).personId}/corrections`, { phone: `+1 555 ${randomBytes(3).readUIntBE(0, 3) % 10_000_000}` }],
  },
  {
    method: 'POST',
    path: '/api/people/{personId}/consents',
    needs: ['consent.manage'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/people/${shared(w, team).personId}/consents`, bodies.consent(['any'])],
  },
  {
    method: 'POST',
    path: '/api/people/{personId}/consents/{consentId}/revocation',
    needs: ['consent.manage'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/people/${shared(w, team).personId}/consents/${fresh ? await w.consent(team) : shared(w, team).consentId}/revocation`, bodies.reason()],
  },
  {
    method: 'POST',
    path: '/api/people/{personId}/erasure',
    needs: ['person.erase'],
    scope: 'any',
    status: 200,
    call: async (w, team, fresh) => [`/api/people/${fresh ? await w.person(team) : shared(w, team).personId}/erasure`, bodies.reason('right to erasure request')],
  },

  // Cases (opening one is about the person it is for)
  { method: 'POST', path: '/api/cases', needs: ['case.open'], scope: 'team', status: 201, call: (w, team) => ['/api/cases', bodies.case(shared(w, team).personId, { summary: planted('case summary') })] },
  { method: 'GET', path: '/api/cases/{caseId}', needs: ['case.read'], scope: 'team', status: 200, call: (w, team) => [`/api/cases/${shared(w, team).caseId}`] },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/assignment',
    needs: ['case.assign'],
    scope: 'team',
    status: 200,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/assignment`, bodies.assignment(`worker-${randomUUID()}`)],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/risk',
    needs: ['case.risk'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/cases/${fresh ? await w.openCase(team) : shared(w, team).caseId}/risk`, bodies.risk('high')],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/welfare-checks',
    needs: ['case.welfare_check'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/welfare-checks`, bodies.welfareCheck()],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/notes',
    variant: 'team note',
    needs: ['case.note.team'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/notes`, bodies.note('team')],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/notes',
    variant: 'confidential note',
    needs: ['case.note.team', 'case.note.confidential.write'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/notes`, bodies.note('confidential', planted('confidential note'))],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/follow-ups',
    needs: ['case.follow_up'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/follow-ups`, bodies.followUp()],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/follow-ups/{followUpId}/completion',
    needs: ['case.follow_up'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/cases/${shared(w, team).caseId}/follow-ups/${fresh ? await w.followUp(team) : shared(w, team).followUpId}/completion`, bodies.completion()],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/follow-ups/{followUpId}/cancellation',
    needs: ['case.follow_up'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/cases/${shared(w, team).caseId}/follow-ups/${fresh ? await w.followUp(team) : shared(w, team).followUpId}/cancellation`, bodies.reason()],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/closure',
    needs: ['case.close'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/cases/${fresh ? await w.openCase(team) : shared(w, team).caseId}/closure`, bodies.closure()],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/reopening',
    needs: ['case.reopen'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/cases/${fresh ? await w.closedCase(team) : shared(w, team).caseId}/reopening`, bodies.reason('new concerns')],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/referrals',
    variant: 'with consent',
    needs: ['referral.make'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/referrals`, bodies.referral({ notes: planted('referral notes') })],
  },
  {
    method: 'POST',
    path: '/api/cases/{caseId}/referrals',
    variant: 'consent override',
    needs: ['referral.make', 'referral.consent_override'],
    scope: 'team',
    status: 201,
    call: (w, team) => [`/api/cases/${shared(w, team).caseId}/referrals`, bodies.referral({ consentOverride: { reason: 'imminent risk' } })],
  },

  // Referrals
  { method: 'GET', path: '/api/caseload', needs: ['caseload'], scope: 'none', status: 200, call: () => ['/api/caseload?limit=200'] },
  { method: 'GET', path: '/api/cases/{caseId}/timeline', needs: ['case.read'], scope: 'team', status: 200, call: (w, team) => [`/api/cases/${shared(w, team).caseId}/timeline`] },
  { method: 'GET', path: '/api/outcomes', needs: ['outcomes'], scope: 'none', status: 200, call: () => ['/api/outcomes?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&groupBy=team'] },
  { method: 'GET', path: '/api/referrals', needs: ['referral.read'], scope: 'none', status: 200, call: (w) => [`/api/referrals?caseId=${shared(w, OWN).caseId}`] },
  { method: 'GET', path: '/api/referrals/{referralId}', needs: ['referral.read'], scope: 'team', status: 200, call: (w, team) => [`/api/referrals/${shared(w, team).referralId}`] },
  {
    method: 'POST',
    path: '/api/referrals/{referralId}/acceptance',
    needs: ['referral.lifecycle'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/referrals/${fresh ? await w.referral(team) : shared(w, team).referralId}/acceptance`, {}],
  },
  {
    method: 'POST',
    path: '/api/referrals/{referralId}/decline',
    needs: ['referral.lifecycle'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/referrals/${fresh ? await w.referral(team) : shared(w, team).referralId}/decline`, bodies.decline()],
  },
  {
    method: 'POST',
    path: '/api/referrals/{referralId}/service-start',
    needs: ['referral.lifecycle'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/referrals/${fresh ? await w.acceptedReferral(team) : shared(w, team).referralId}/service-start`, bodies.serviceStart()],
  },
  {
    method: 'POST',
    path: '/api/referrals/{referralId}/closure',
    needs: ['referral.lifecycle'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/referrals/${fresh ? await w.acceptedReferral(team) : shared(w, team).referralId}/closure`, bodies.referralClosure()],
  },
  {
    method: 'POST',
    path: '/api/referrals/{referralId}/revocation',
    needs: ['referral.lifecycle'],
    scope: 'team',
    status: 200,
    call: async (w, team, fresh) => [`/api/referrals/${fresh ? await w.referral(team) : shared(w, team).referralId}/revocation`, bodies.reason()],
  },

  // Audit
  ...(['person', 'case', 'referral'] as const).map(
    (category): Route => ({
      method: 'GET',
      path: '/api/audit/streams/{streamId}/events',
      variant: `${category} stream`,
      needs: ['audit'],
      scope: 'team',
      status: 200,
      call: (w, team) => [`/api/audit/streams/${category}-${shared(w, team)[`${category}Id`]}/events`],
    }),
  ),
  { method: 'GET', path: '/api/audit/cases/{caseId}/state', needs: ['audit'], scope: 'team', status: 200, call: (w, team) => [`/api/audit/cases/${shared(w, team).caseId}/state?version=1`] },
  { method: 'GET', path: '/api/audit/digest', needs: ['audit.store'], scope: 'none', status: 200, call: () => ['/api/audit/digest'] },
  {
    method: 'POST',
    path: '/api/audit/digest/verification',
    needs: ['audit.store'],
    scope: 'none',
    status: 200,
    // A well-formed digest whose signature cannot hold: the answer is 200 with ok: false.
    call: () => [
      '/api/audit/digest/verification',
      {
        format: DIGEST_FORMAT,
        createdAt: new Date().toISOString(),
        streams: 0,
        events: 0,
        rootHash: '0'.repeat(64),
        heads: [],
        signature: { algorithm: 'Ed25519', keyId: 'ed25519:0000000000000000', value: `${'A'.repeat(86)}==` },
      },
    ],
  },
  { method: 'GET', path: '/api/audit/access-log', needs: ['audit'], scope: 'none', status: 200, call: () => ['/api/audit/access-log'] },
  { method: 'GET', path: '/api/audit/verification', variant: 'whole store', needs: ['audit'], scope: 'every-team', status: 200, call: () => ['/api/audit/verification'] },
  {
    method: 'GET',
    path: '/api/audit/verification',
    variant: 'one stream',
    needs: ['audit'],
    scope: 'team',
    status: 200,
    call: (w, team) => [`/api/audit/verification?streamId=case-${shared(w, team).caseId}`],
  },
];

/** The status SPEC §5 gives this caller on this route for an object of `team`. */
function expectedStatus(route: Route, who: Who, team: Team): number {
  if (route.needs === 'public') return route.status;
  if (who === 'no token' || who === 'expired token') return 401;
  const actor: AuthenticatedActor = { id: `${who}-${OWN}`, name: 'Matrix', role: who, team: OWN };
  if (!route.needs.every((capability) => can(actor, capability))) return 403;
  const reach = route.scope === 'team' ? inScope(actor, team) : route.scope === 'every-team' ? TEAMS.every((each) => inScope(actor, each)) : true;
  return reach ? route.status : 404;
}

/** Texts this caller's role may not read. */
function unreadable(who: Who): typeof SECRETS {
  if (who === 'no token' || who === 'expired token') return SECRETS;
  const actor: AuthenticatedActor = { id: `${who}-${OWN}`, name: 'Matrix', role: who, team: OWN };
  return SECRETS.filter((entry) => !can(actor, entry.readableWith));
}

const objectsOf = (route: Route): Team[] => (route.scope === 'team' || route.scope === 'any' ? TEAMS : [OWN]);
const label = (route: Route) => `${route.method} ${route.path}${route.variant ? ` (${route.variant})` : ''}`;

describe('authorization matrix on pglite', () => {
  let api: ApiHarness;
  let world: World;
  const tokens = new Map<Who, string>();

  beforeAll(async () => {
    api = await startApi('pglite');
    world = new World({ north: await caller(api, 'supervisor', 'north'), south: await caller(api, 'supervisor', 'south') });
    await world.setUp();
    for (const role of roles) tokens.set(role, (await caller(api, role, OWN)).token);
    // A supervisor's token, an hour past its expiry (beyond any clock tolerance).
    const now = Math.floor(Date.now() / 1000);
    tokens.set(
      'expired token',
      await new SignJWT({ name: 'Late Supervisor', role: 'supervisor', team: OWN })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('supervisor-late')
        .setIssuer('caseline-dev')
        .setAudience('caseline')
        .setIssuedAt(now - 9 * 3600)
        .setExpirationTime(now - 3600)
        .sign(api.devSecret),
    );
  });
  afterAll(() => api.close());

  function send(route: Route, who: Who, url: string, body?: object): Promise<Response> {
    const token = tokens.get(who);
    let call = route.method === 'GET' ? api.http().get(url) : api.http().post(url);
    if (token) call = call.set('Authorization', `Bearer ${token}`);
    return route.method === 'POST' ? call.send(body ?? {}) : call;
  }

  it('has a row for every operation of the OpenAPI document (add one for each new endpoint), and none the document lacks', async () => {
    const document = expectStatus(await api.http().get('/api/docs-json'), 200) as { paths: Record<string, Record<string, unknown>> };
    const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => methods.has(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    const rows = new Set(ROUTES.filter((route) => route.documented !== false).map((route) => `${route.method} ${route.path}`));
    expect({ missingFromTheTable: operations.filter((operation) => !rows.has(operation)) }).toEqual({ missingFromTheTable: [] });
    expect({ notInTheDocument: [...rows].filter((row) => !operations.includes(row)) }).toEqual({ notInTheDocument: [] });
  });

  it('plants texts that the roles allowed to read them do read (so that their absence below means something)', async () => {
    const worker = await caller(api, 'social_worker', OWN);
    const auditor = await caller(api, 'auditor', OWN);
    const { personId, caseId, referralId } = world.shared[OWN];
    const seen = JSON.stringify([
      (await worker.get(`/api/people/${personId}`)).body,
      (await worker.get(`/api/cases/${caseId}`)).body,
      (await worker.get(`/api/referrals/${referralId}`)).body,
      (await auditor.get(`/api/audit/streams/case-${caseId}/events`)).body,
    ]);
    expect(SECRETS.filter((entry) => !seen.includes(entry.text)).map((entry) => entry.name)).toEqual([]);
  });

  describe.each(ROUTES.map((route) => [label(route), route] as const))('%s', (_label, route) => {
    it.each(CALLERS)('%s', async (who) => {
      for (const team of objectsOf(route)) {
        const expected = expectedStatus(route, who, team);
        const [url, body] = await route.call(world, team, expected < 300);
        const before = await eventCount(api);
        const response = await send(route, who, url, body);
        const object = route.scope === 'none' ? 'no object' : route.scope === 'every-team' ? 'every team' : team === OWN ? 'own team' : 'other team';
        expect({ object, status: response.status, problem: response.status >= 300 ? response.body : undefined }).toMatchObject({ object, status: expected });
        if (expected >= 400) {
          expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
          expect(await eventCount(api)).toBe(before);
        } else {
          const leaked = unreadable(who).filter((entry) => response.text.includes(entry.text));
          expect({ object, leaked: leaked.map((entry) => entry.name) }).toEqual({ object, leaked: [] });
        }
      }
    });
  });
});
