import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { startApi, type ApiHarness } from '../support/api-harness';
import { bodies, caller, expectStatus, grantConsent, type Caller } from '../support/casework-client';

jest.setTimeout(60_000);

// The proof of an erasure, from outside the service: a plain-SQL pg_dump of the whole PostgreSQL
// database (schema and data) and every log line the service wrote hold none of the person's
// plaintext — not before the erasure (it is sealed at rest) and not after it — while replay and
// hash-chain verification still work. Every value is a random string that nothing else can contain.

const PG_DUMP = process.env.PG_DUMP ?? '/usr/bin/pg_dump';

const token = (label: string) => `${label}${randomBytes(6).toString('hex')}`;
const pad = (n: number) => String(n).padStart(2, '0');

/** Everything written about the person, each a distinctive random string. */
function plaintexts() {
  return {
    givenName: token('Given'),
    familyName: token('Family'),
    correctedFamilyName: token('Corrected'),
    phone: `+44 7${randomInt(100_000_000, 999_999_999)}`,
    dateOfBirth: `19${randomInt(30, 99)}-${pad(randomInt(1, 13))}-${pad(randomInt(1, 29))}`,
    summary: token('Summary'),
    cadIncidentId: token('Cad'),
    location: token('Location'),
    observations: token('Observed'),
    teamNote: token('TeamNote'),
    confidentialNote: token('Confidential'),
    riskReason: token('Risk'),
    purpose: token('Purpose'),
    followUpOutcome: token('Outcome'),
    referralNotes: token('Referral'),
    acceptanceNote: token('Accepted'),
    consentRevocation: token('Revoked'),
    closingNote: token('Closing'),
    reopenReason: token('Reopen'),
    /** Clients put all sorts in their keys; a key naming the person must not outlive the person. */
    idempotencyKey: token('Key'),
  };
}

async function dump(api: ApiHarness): Promise<string> {
  const { stdout } = await promisify(execFile)(PG_DUMP, ['--format=plain', '--no-owner', '--dbname', api.database?.url as string], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

const survivors = (text: string, secrets: Record<string, string>) => Object.entries(secrets).filter(([, value]) => text.includes(value)).map(([name]) => name);

describe('erasure proof on postgres: pg_dump and logs', () => {
  let api: ApiHarness;
  let supervisor: Caller;
  let auditor: Caller;
  let admin: Caller;
  const pii = plaintexts();
  let personId: string;
  let caseId: string;

  beforeAll(async () => {
    api = await startApi('postgres');
    supervisor = await caller(api, 'supervisor');
    auditor = await caller(api, 'auditor');
    admin = await caller(api, 'admin');

    const key = (purpose: string) => ({ 'Idempotency-Key': `${pii.idempotencyKey}-${pii.givenName}-${purpose}` });
    const person = { givenName: pii.givenName, familyName: pii.familyName, phone: pii.phone, dateOfBirth: pii.dateOfBirth };
    personId = expectStatus(await supervisor.post('/api/people', person, key('register')), 201).id;
    expectStatus(await supervisor.post(`/api/people/${personId}/corrections`, { familyName: pii.correctedFamilyName }, key('correct')), 200);
    const spentConsent = await grantConsent(supervisor, personId);
    expectStatus(await supervisor.post(`/api/people/${personId}/consents/${spentConsent}/revocation`, bodies.reason(pii.consentRevocation)), 200);
    await grantConsent(supervisor, personId);
    caseId = expectStatus(await supervisor.post('/api/cases', bodies.case(personId, { summary: pii.summary, cadIncidentId: pii.cadIncidentId }), key('case')), 201).id;
    const onCase = (path: string, body: object, status: number) => supervisor.post(`/api/cases/${caseId}${path}`, body, key(path)).then((response) => expectStatus(response, status));
    await onCase('/welfare-checks', bodies.welfareCheck({ location: pii.location, observations: pii.observations }), 201);
    await onCase('/notes', bodies.note('team', pii.teamNote), 201);
    await supervisor.post(`/api/cases/${caseId}/notes`, bodies.note('confidential', pii.confidentialNote)).then((response) => expectStatus(response, 201));
    await onCase('/risk', bodies.risk('high', pii.riskReason), 200);
    const { followUpId } = await onCase('/follow-ups', bodies.followUp({ purpose: pii.purpose }), 201);
    await onCase(`/follow-ups/${followUpId}/completion`, bodies.completion(pii.followUpOutcome), 200);
    const { referralId } = await onCase('/referrals', bodies.referral({ notes: pii.referralNotes }), 201);
    expectStatus(await supervisor.post(`/api/referrals/${referralId}/acceptance`, { note: pii.acceptanceNote }), 200);
    await onCase('/closure', bodies.closure('resolved', { note: pii.closingNote }), 200);
    await onCase('/reopening', bodies.reason(pii.reopenReason), 200);

    // Read back through the API (and so through every log line a read writes) while the key exists.
    const read = JSON.stringify([
      (await supervisor.get(`/api/people/${personId}`)).body,
      (await supervisor.get(`/api/cases/${caseId}`)).body,
      (await auditor.get(`/api/audit/streams/case-${caseId}/events`)).body,
      (await auditor.get(`/api/audit/streams/person-${personId}/events`)).body,
      (await auditor.get(`/api/audit/streams/referral-${referralId}/events`)).body,
    ]);
    const { idempotencyKey: _key, familyName: _replaced, ...readable } = pii;
    expect(survivors(read, readable).sort()).toEqual(Object.keys(readable).sort());
  });
  afterAll(() => api.close());

  it('keeps the plaintext out of the database dump even before the erasure (sealed at rest)', async () => {
    const before = await dump(api);
    expect(before).toContain(personId);
    expect(survivors(before, pii)).toEqual([]);
  });

  it('leaves none of it in a pg_dump or the logs after the erasure, while replay and verification still pass', async () => {
    expectStatus(await admin.post(`/api/people/${personId}/erasure`, bodies.reason('right to erasure request 2026-114')), 200);

    const after = await dump(api);
    expect(after).toContain(`case-${caseId}`);
    expect(survivors(after, pii)).toEqual([]);
    expect(api.logs.length).toBeGreaterThan(20);
    expect(survivors(api.logs.join('\n'), pii)).toEqual([]);

    const card = expectStatus(await supervisor.get(`/api/cases/${caseId}`), 200);
    expect(card).toMatchObject({ id: caseId, summary: '[erased]', status: 'open' });
    expect(expectStatus(await supervisor.get(`/api/people/${personId}`), 200)).toMatchObject({ erased: true, givenName: null, familyName: null, phone: null, dateOfBirth: null });
    const replayed = expectStatus(await auditor.get(`/api/audit/cases/${caseId}/state?version=3`), 200);
    expect(replayed).toMatchObject({ version: 3, state: { summary: '[erased]', status: 'open' } });
    expect(expectStatus(await auditor.get('/api/audit/verification'), 200)).toMatchObject({ ok: true });
    for (const streamId of [`person-${personId}`, `case-${caseId}`]) {
      expect(expectStatus(await auditor.get(`/api/audit/verification?streamId=${streamId}`), 200)).toMatchObject({ ok: true });
    }
    // Read through every surface again after the erasure: still nothing.
    const read = JSON.stringify([card, replayed, (await auditor.get(`/api/audit/streams/case-${caseId}/events`)).body]);
    expect(survivors(read, pii)).toEqual([]);
    expect(survivors(api.logs.join('\n'), pii)).toEqual([]);
  });
});
