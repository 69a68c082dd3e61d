import { generateKeyPairSync } from 'node:crypto';
import { CaseReplay, CaseSnapshots, DigestSigner, replayCaseFromStart, type SignedDigest } from '@caseline/audit';
import { caseStream, personStream } from '@caseline/domain';
import { verifyStream } from '@caseline/event-store';
import { PersonalData } from '@caseline/platform';
import { generateLongCase } from '../bench/history';
import { ADAPTERS, startApi, type ApiHarness } from '../support/api-harness';
import { caller, eventCount, expectFieldErrors, expectProblem, expectStatus, openCase, parsedLogs, serverErrors, type Caller } from '../support/casework-client';
import { rewriteConsistently } from '../support/tamper';

jest.setTimeout(120_000);

describe.each(ADAPTERS)('signed digest of the stream heads on %s', (adapter) => {
  let api: ApiHarness;
  let auditor: Caller;
  let worker: Caller;
  let digest: SignedDigest;
  let altered: string;
  let rewritten: string;
  beforeAll(async () => {
    api = await startApi(adapter);
    auditor = await caller(api, 'auditor', 'audit');
    worker = await caller(api, 'social_worker');
    for (let i = 0; i < 3; i++) {
      const { caseId } = await openCase(worker);
      expectStatus(await worker.post(`/api/cases/${caseId}/risk`, { risk: 'high', reason: 'escalating' }), 200);
      expectStatus(await worker.post(`/api/cases/${caseId}/closure`, { disposition: 'resolved' }), 200);
      if (i === 0) altered = caseStream(caseId);
      if (i === 1) rewritten = caseStream(caseId);
    }
  });
  afterAll(() => api.close());

  it('exports every stream head with a root hash and an Ed25519 signature (auditors only)', async () => {
    digest = expectStatus(await auditor.get('/api/audit/digest'), 200);
    expect(digest).toMatchObject({
      format: 'caseline-head-digest/1',
      streams: 6,
      events: 12,
      rootHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      signature: { algorithm: 'Ed25519', keyId: expect.stringMatching(/^ed25519:[0-9a-f]{16}$/), publicKey: expect.stringContaining('BEGIN PUBLIC KEY'), value: expect.any(String) },
    });
    expect(digest.heads.find((head) => head.streamId === altered)).toEqual({ streamId: altered, version: 3, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(digest.heads.map((head) => head.streamId)).toEqual([...digest.heads.map((head) => head.streamId)].sort());
    // Team-scoped roles would learn of every team's records: the digest is an auditor's alone.
    expectProblem(await (await caller(api, 'supervisor')).get('/api/audit/digest'), 403);
    expectProblem(await worker.get('/api/audit/digest'), 403);
    expectProblem(await (await caller(api, 'supervisor')).post('/api/audit/digest/verification', digest), 403);
  });

  it('verifies an untouched digest, with streams added since', async () => {
    await openCase(worker);
    expect(expectStatus(await auditor.post('/api/audit/digest/verification', digest), 200)).toEqual({
      ok: true,
      signatureValid: true,
      keyId: digest.signature.keyId,
      createdAt: digest.createdAt,
      checkedStreams: 6,
      checkedEvents: 12,
      problemCount: 0,
      problems: [],
    });
  });

  it('names a stream rewritten wholesale with recomputed links, which its own chain walk passes', async () => {
    await rewriteConsistently(api.db, api.store, rewritten, 2, (data) => ({ ...data, to: 'low' }));
    expect(await verifyStream(api.store, rewritten)).toMatchObject({ ok: true });
    const answer = expectStatus(await auditor.post('/api/audit/digest/verification', digest), 200);
    expect(answer).toMatchObject({ ok: false, signatureValid: true, problemCount: 1, firstRewrittenStream: rewritten });
    expect(answer.problems).toEqual([{ streamId: rewritten, signedVersion: 3, problem: 'rewritten' }]);
  });

  it('names a row altered in place, and where', async () => {
    await api.db.query(`UPDATE es_events SET data = jsonb_set(data, '{disposition}', '"moved_away"') WHERE stream_id = $1 AND version = 3`, [altered]);
    const answer = expectStatus(await auditor.post('/api/audit/digest/verification', digest), 200);
    expect(answer).toMatchObject({ ok: false, problemCount: 2 });
    expect(answer.problems).toContainEqual({ streamId: altered, signedVersion: 3, problem: 'altered', firstBadVersion: 3 });
    expect(answer.firstRewrittenStream).toBe([altered, rewritten].sort()[0]);
  });

  it('refuses a digest whose heads, root or signature were changed, or that another key signed', async () => {
    const head = digest.heads[0];
    const forgedHead = { ...digest, heads: [{ ...head, hash: 'f'.repeat(64) }, ...digest.heads.slice(1)] };
    expect(expectStatus(await auditor.post('/api/audit/digest/verification', forgedHead), 200)).toMatchObject({ ok: false, signatureValid: false, signatureProblem: 'root_mismatch' });
    const forgedRoot = { ...digest, rootHash: 'e'.repeat(64) };
    expect(expectStatus(await auditor.post('/api/audit/digest/verification', forgedRoot), 200)).toMatchObject({ ok: false, signatureValid: false, signatureProblem: 'bad_signature' });
    // A forger signs a digest of their own making with their own key, and ships the public key along.
    const forger = new DigestSigner(generateKeyPairSync('ed25519').privateKey);
    const forged = forger.sign(digest.heads, digest.createdAt);
    expect(expectStatus(await auditor.post('/api/audit/digest/verification', forged), 200)).toMatchObject({ ok: false, signatureValid: false, signatureProblem: 'unknown_key' });
    const relabelled = { ...forged, signature: { ...forged.signature, keyId: digest.signature.keyId } };
    expect(expectStatus(await auditor.post('/api/audit/digest/verification', relabelled), 200)).toMatchObject({ ok: false, signatureValid: false, signatureProblem: 'bad_signature' });
  });

  it('answers a malformed digest with field errors, and changes nothing', async () => {
    const before = await eventCount(api);
    const response = await auditor.post('/api/audit/digest/verification', { ...digest, heads: [{ streamId: 'x', version: 0 }], signature: { algorithm: 'RSA' } });
    expectFieldErrors(response);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual(expect.arrayContaining(['heads.0', 'signature.algorithm']));
    expectFieldErrors(await auditor.post('/api/audit/digest/verification', { ...digest, heads: [...digest.heads].reverse() }), 'heads');
    expectProblem(await auditor.post('/api/audit/digest/verification', []), 400);
    expect(await eventCount(api)).toBe(before);
    expect(serverErrors(api)).toEqual([]);
  });
});

describe.each(ADAPTERS)('whole-store verification progress on %s', (adapter) => {
  let api: ApiHarness;
  let auditor: Caller;
  beforeAll(async () => {
    api = await startApi(adapter);
    auditor = await caller(api, 'auditor', 'audit');
    const worker = await caller(api, 'social_worker');
    for (let i = 0; i < 4; i++) await openCase(worker);
  });
  afterAll(() => api.close());

  /** GET /api/audit/verification as NDJSON, read to its end. */
  async function ndjson() {
    const response = await api
      .http()
      .get('/api/audit/verification')
      .set('Authorization', `Bearer ${auditor.token}`)
      .set('Accept', 'application/x-ndjson')
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });
    const lines = (response.body as string).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    return { status: response.status, contentType: response.headers['content-type'], lines };
  }

  it('keeps the JSON answer, and logs its progress and result', async () => {
    expect(expectStatus(await auditor.get('/api/audit/verification'), 200)).toEqual({ ok: true, checkedEvents: 8, checkedStreams: 8 });
    const logged = parsedLogs(api).filter((line) => typeof line.msg === 'string' && String(line.msg).startsWith('store verification'));
    expect(logged.map((line) => line.msg)).toEqual(['store verification started', 'store verification finished']);
    expect(logged[1].verification).toMatchObject({ ok: true, checkedEvents: 8, totalEvents: 8, totalStreams: 8, eventsPerSecond: expect.any(Number) });
  });

  it('streams NDJSON progress lines and the result when asked for application/x-ndjson', async () => {
    const { status, contentType, lines } = await ndjson();
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/x-ndjson/);
    expect(lines[0]).toMatchObject({ type: 'progress', checkedEvents: 0, totalEvents: 8, totalStreams: 8 });
    expect(lines.at(-1)).toEqual({ type: 'result', ok: true, checkedEvents: 8, checkedStreams: 8 });
  });

  it('reports a broken chain in the stream too', async () => {
    const [first] = await api.store.listStreams({ limit: 1 });
    await api.db.query(`UPDATE es_events SET metadata = jsonb_set(metadata, '{actor,name}', '"Someone Else"') WHERE stream_id = $1 AND version = 1`, [first.streamId]);
    const { lines } = await ndjson();
    expect(lines.at(-1)).toMatchObject({ type: 'result', ok: false, streamId: first.streamId, firstBadVersion: 1 });
  });
});

describe.each(ADAPTERS)('case state as of a point, from snapshots, on %s', (adapter) => {
  let api: ApiHarness;
  let auditor: Caller;
  let personalData: PersonalData;
  let caseId: string;
  let personId: string;
  const LENGTH = 650;
  beforeAll(async () => {
    api = await startApi(adapter);
    auditor = await caller(api, 'auditor', 'audit');
    personalData = api.app.get(PersonalData);
    ({ caseId, personId } = await generateLongCase(api.store, { events: LENGTH, seed: 'snapshots', seal: (event, person) => personalData.seal(event, person) }));
  });
  afterAll(() => api.close());

  const versions = [1, 2, 199, 200, 201, 399, 400, 401, 555, LENGTH];

  it('answers what a replay from the first event answers, at every point, and takes snapshots on the way', async () => {
    for (const version of versions) {
      const answer = expectStatus(await auditor.get(`/api/audit/cases/${caseId}/state?version=${version}`), 200);
      const reference = await replayCaseFromStart(api.store, personalData, caseId, { version });
      expect({ version, state: answer.state }).toEqual({ version, state: reference.state });
      expect(answer.version).toBe(version);
    }
    const { rows } = await api.db.query<{ version: number }>(`SELECT version::int AS version FROM case_snapshots WHERE stream_id = $1 ORDER BY version`, [caseStream(caseId)]);
    expect(rows.map((row) => row.version)).toEqual([200, 400, 600]);
    // Again, now from the snapshots, including instants between events.
    const events = await api.store.readStream(caseStream(caseId));
    for (const version of versions) {
      const asOf = events[version - 1].metadata.recordedAt;
      const answer = expectStatus(await auditor.get(`/api/audit/cases/${caseId}/state?asOf=${encodeURIComponent(asOf)}`), 200);
      const reference = await replayCaseFromStart(api.store, personalData, caseId, { asOf });
      expect({ asOf, version: answer.version, state: answer.state }).toEqual({ asOf, version: reference.version, state: reference.state });
    }
  });

  it('keeps no plaintext personal data in a snapshot', async () => {
    const { rows } = await api.db.query<{ state: string }>(`SELECT state FROM case_snapshots WHERE stream_id = $1`, [caseStream(caseId)]);
    const opened = (await replayCaseFromStart(api.store, personalData, caseId, { version: LENGTH })).state as { summary: string; followUps: Record<string, { purpose: string }> };
    const purposes = new Set(Object.values(opened.followUps).map((followUp) => followUp.purpose));
    expect(purposes.size).toBeGreaterThan(0);
    for (const { state } of rows) {
      expect(state).toContain('"$pii":1');
      expect(state).not.toContain(opened.summary);
      for (const purpose of purposes) expect(state).not.toContain(purpose);
    }
  });

  it('ignores snapshots of a stream rewritten since, and replays it from the start', async () => {
    await rewriteConsistently(api.db, api.store, caseStream(caseId), 1, (data) => ({ ...data, reason: 'elder_welfare' }));
    const answer = expectStatus(await auditor.get(`/api/audit/cases/${caseId}/state?version=450`), 200);
    expect(answer.state.reason).toBe('elder_welfare');
    expect(answer.state).toEqual((await replayCaseFromStart(api.store, personalData, caseId, { version: 450 })).state);
    // The stale snapshots are gone, and those taken again lead to the stream as it now is.
    const { rows } = await api.db.query<{ version: number; event_hash: string }>(`SELECT version::int AS version, event_hash FROM case_snapshots WHERE stream_id = $1`, [caseStream(caseId)]);
    const stored = await api.store.readStream(caseStream(caseId));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.event_hash).toBe(stored[row.version - 1].hash);
  });

  it('reads an erased person\'s data as erased, from a snapshot as from the start', async () => {
    const admin = await caller(api, 'admin', 'ops');
    expectStatus(await admin.post(`/api/people/${personId}/erasure`, { reason: 'right to erasure' }), 200);
    for (const version of [400, 599]) {
      const answer = expectStatus(await auditor.get(`/api/audit/cases/${caseId}/state?version=${version}`), 200);
      expect(answer.state.summary).toBe('[erased]');
      expect(answer.state).toEqual((await replayCaseFromStart(api.store, personalData, caseId, { version })).state);
    }
  });

  it('replays the same with snapshots every 7 events as with none (in process)', async () => {
    const snapshots = await CaseSnapshots.open(api.db);
    await snapshots.discard(caseStream(caseId));
    const replay = new CaseReplay(api.store, personalData, snapshots, 7);
    for (const version of [3, 7, 8, 70, 71, 300, LENGTH]) {
      expect((await replay.stateAt(caseId, { version })).state).toEqual((await replayCaseFromStart(api.store, personalData, caseId, { version })).state);
    }
    expect(await api.store.streamVersion(personStream(personId))).toBeGreaterThan(1);
  });

  it('keeps snapshots it read parsed while the stored row names the same event, and never changes them', async () => {
    const stream = caseStream(caseId);
    const snapshots = await CaseSnapshots.open(api.db);
    await snapshots.discard(stream);
    const replay = new CaseReplay(api.store, personalData, snapshots, 50);
    await replay.stateAt(caseId, { version: LENGTH });
    const first = await snapshots.nearest(stream, replay.fingerprint, 320);
    expect(first?.version).toBe(300);
    const before = JSON.stringify(first?.state);
    for (const version of [300, 301, 349, 320]) {
      expect((await replay.stateAt(caseId, { version })).state).toEqual((await replayCaseFromStart(api.store, personalData, caseId, { version })).state);
    }
    const again = await snapshots.nearest(stream, replay.fingerprint, 320);
    expect(again?.state).toBe(first?.state);
    expect(JSON.stringify(again?.state)).toBe(before);
    // The row now names another event: the parsed one is not used.
    await api.db.query(`UPDATE case_snapshots SET event_hash = 'other', state = '{"status":"none"}' WHERE stream_id = $1 AND fingerprint = $2 AND version = 300`, [stream, replay.fingerprint]);
    expect(await snapshots.nearest(stream, replay.fingerprint, 320)).toEqual({ version: 300, eventHash: 'other', state: { status: 'none' }, size: 17 });
    // Kept within a bound: a snapshot larger than a quarter of it is read each time.
    const small = await CaseSnapshots.open(api.db, { parsedLimit: 1000 });
    const one = await small.nearest(stream, replay.fingerprint, 260);
    expect(one?.version).toBe(250);
    expect((await small.nearest(stream, replay.fingerprint, 260))?.state).not.toBe(one?.state);
    await snapshots.discard(stream);
  });

  it('takes snapshots further apart as the state grows: their text stays within bytesPerEvent per event', async () => {
    const stream = caseStream(caseId);
    const snapshots = await CaseSnapshots.open(api.db);
    await snapshots.discard(stream);
    const bytesPerEvent = 64;
    const replay = new CaseReplay(api.store, personalData, snapshots, 10, bytesPerEvent);
    await replay.stateAt(caseId, { version: LENGTH });
    const { rows } = await api.db.query<{ version: number; size: number }>(`SELECT version::int AS version, length(state) AS size FROM case_snapshots WHERE stream_id = $1 ORDER BY version`, [stream]);
    // Each snapshot waited for the events the one before it held in text, divided by bytesPerEvent.
    for (const [i, row] of rows.entries()) {
      expect(row.version % 10).toBe(0);
      if (i > 0) expect(row.version - rows[i - 1].version).toBeGreaterThanOrEqual(Math.max(10, rows[i - 1].size / bytesPerEvent));
    }
    expect(rows.length).toBeGreaterThan(2);
    expect(rows.length).toBeLessThan(LENGTH / 10 / 2);
    const total = rows.reduce((sum, row) => sum + row.size, 0);
    expect(total).toBeLessThanOrEqual(bytesPerEvent * LENGTH + rows[rows.length - 1].size);
    // Replays that go a little further each time, each resuming from the snapshot the one before
    // took (its size read back with it), take the very snapshots one replay to the end took.
    await snapshots.discard(stream);
    const stepwise = new CaseReplay(api.store, personalData, await CaseSnapshots.open(api.db), 10, bytesPerEvent);
    for (let version = 50; version < LENGTH; version += 50) await stepwise.stateAt(caseId, { version });
    await stepwise.stateAt(caseId, { version: LENGTH });
    const { rows: resumed } = await api.db.query<{ version: number; size: number }>(`SELECT version::int AS version, length(state) AS size FROM case_snapshots WHERE stream_id = $1 ORDER BY version`, [stream]);
    expect(resumed).toEqual(rows);
    // And every state is still what a replay from the first event answers.
    const again = new CaseReplay(api.store, personalData, await CaseSnapshots.open(api.db), 10, bytesPerEvent);
    for (const version of [1, 9, 10, 11, 299, 300, 301, 555, LENGTH]) {
      expect((await again.stateAt(caseId, { version })).state).toEqual((await replayCaseFromStart(api.store, personalData, caseId, { version })).state);
    }
    await snapshots.discard(stream);
  });

  it('keeps the snapshots a replay takes parsed as taken, and stores them uncompressed', async () => {
    const stream = caseStream(caseId);
    const snapshots = await CaseSnapshots.open(api.db);
    await snapshots.discard(stream);
    const replay = new CaseReplay(api.store, personalData, snapshots, 50);
    const expected = await replayCaseFromStart(api.store, personalData, caseId, { version: 320 });
    await replay.stateAt(caseId, { version: LENGTH });
    // The stored text is no longer what was taken; the kept state (same event hash) is what is used.
    await api.db.query(`UPDATE case_snapshots SET state = '{"status":"none"}' WHERE stream_id = $1 AND fingerprint = $2 AND version = 300`, [stream, replay.fingerprint]);
    const kept = await snapshots.nearest(stream, replay.fingerprint, 320);
    expect(kept?.version).toBe(300);
    expect(kept?.state).toMatchObject({ status: expect.stringMatching(/^(open|closed)$/) });
    expect((await replay.stateAt(caseId, { version: 320 })).state).toEqual(expected.state);
    // Another reader has nothing kept: it reads the row.
    expect((await (await CaseSnapshots.open(api.db)).nearest(stream, replay.fingerprint, 320))?.state).toEqual({ status: 'none' });
    const { rows } = await api.db.query<{ storage: string }>(`SELECT attstorage AS storage FROM pg_attribute WHERE attrelid = 'case_snapshots'::regclass AND attname = 'state'`);
    expect(rows[0].storage).toBe('e');
    await snapshots.discard(stream);
  });
});
