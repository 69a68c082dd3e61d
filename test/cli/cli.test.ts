import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayCaseFromStart } from '@caseline/audit';
import { EXIT, runCli } from '@caseline/auditor-cli';
import { caseStream, streamCategories } from '@caseline/domain';
import { contentHash, GENESIS_HASH, linkHash, PostgresDatabase, SqlEventStore } from '@caseline/event-store';
import { createTestDatabase, type TestDatabase } from '@caseline/event-store/testing';
import { AccessLog, PersonalData, PersonalDataKeys } from '@caseline/platform';
import { generateHistory } from '../bench/history';
import { rewriteConsistently } from '../support/tamper';

jest.setTimeout(120_000);

/** Runs a CLI command in this process, capturing what it prints. */
async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text), isTTY: false }, env });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

describe('auditor CLI on PostgreSQL', () => {
  let database: TestDatabase;
  let db: PostgresDatabase;
  let store: SqlEventStore;
  let personalData: PersonalData;
  let env: NodeJS.ProcessEnv;
  let events: number;
  let caseId: string;
  const actor = ['--actor-id', 'auditor-7', '--actor-name', 'Ada Auditor'];
  const accessLog = async () =>
    (await db.query<{ actor_id: string; actor_role: string; record_type: string; endpoint: string; case_id: string }>(`SELECT actor_id, actor_role, record_type, endpoint, case_id FROM access_log ORDER BY id`)).rows;

  beforeAll(async () => {
    database = await createTestDatabase('caseline_cli');
    db = new PostgresDatabase({ connectionString: database.url, max: 4 });
    store = await SqlEventStore.open(db, { categories: streamCategories });
    const masterKey = randomBytes(32);
    personalData = new PersonalData(await PersonalDataKeys.open(db, masterKey));
    await AccessLog.open(db);
    const summary = await generateHistory(store, { cases: 40, seed: 'cli', seal: (event, personId) => personalData.seal(event, personId) });
    events = summary.events;
    // A case with referrals, so that the export has every kind of stream.
    const { rows } = await db.query<{ case_id: string }>(`SELECT data->>'caseId' AS case_id FROM es_events WHERE type = 'ReferralMade' ORDER BY position LIMIT 1`);
    caseId = rows[0].case_id;
    env = { DATABASE_URL: database.url, AUTH_MODE: 'dev', DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-cli-')), MASTER_KEY: masterKey.toString('base64') };
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('verifies the whole store with a progress bar on stderr and the result on stdout', async () => {
    const run = await cli(env, 'verify');
    expect(run.code).toBe(EXIT.ok);
    expect(run.json()).toEqual({ ok: true, checkedEvents: events, checkedStreams: expect.any(Number) });
    const last = run.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(new RegExp(`^verify \\[#{20}\\]  100\\.0%  ${events.toLocaleString('en-US')}/${events.toLocaleString('en-US')} events  [\\d,]+ events/s  ETA 0:00$`));
  });

  it('replays a case as it stood, through the domain, and logs the read as the given auditor', async () => {
    const before = (await accessLog()).length;
    const run = await cli(env, 'replay', '--case', caseId, '--version', '3', ...actor);
    expect(run.code).toBe(EXIT.ok);
    expect(run.json()).toMatchObject({ caseId, version: 3, personalData: 'opened' });
    expect(run.json().state).toEqual((await replayCaseFromStart(store, personalData, caseId, { version: 3 })).state);
    const [second] = await store.readStream(caseStream(caseId), { fromVersion: 2, maxCount: 1 });
    const asOf = await cli(env, 'replay', '--case', caseId, '--as-of', second.metadata.recordedAt, ...actor);
    expect(asOf.json()).toMatchObject({ version: 2, asOf: second.metadata.recordedAt });
    const logged = (await accessLog()).slice(before);
    expect(logged).toEqual([
      { actor_id: 'auditor-7', actor_role: 'auditor', record_type: 'case', endpoint: 'cli replay', case_id: caseId },
      { actor_id: 'auditor-7', actor_role: 'auditor', record_type: 'case', endpoint: 'cli replay', case_id: caseId },
    ]);
  });

  it('refuses a content read without an actor, or with bad input, showing and logging nothing', async () => {
    const before = (await accessLog()).length;
    for (const argv of [
      ['replay', '--case', caseId],
      ['export', '--case', caseId, '--actor-id', 'x'],
      ['replay', '--case', 'nope', ...actor],
      ['replay', '--case', caseId, '--version', 'two', ...actor],
      ['replay', '--case', caseId, '--version', '2', '--as-of', '2024-01-01T00:00:00Z', ...actor],
    ]) {
      const run = await cli(env, ...argv);
      expect({ argv, code: run.code, stdout: run.stdout }).toEqual({ argv, code: EXIT.usage, stdout: '' });
      expect(run.stderr).toMatch(/^caseline-cli: /);
    }
    expect(await cli(env, 'replay', '--case', '00000000-0000-4000-8000-000000000000', ...actor)).toMatchObject({ code: EXIT.notFound, stdout: '' });
    expect(await cli(env, 'frobnicate')).toMatchObject({ code: EXIT.usage });
    expect((await accessLog()).length).toBe(before);
  });

  it('exports the case with its person and referrals: stored data, opened data, places and links', async () => {
    const before = (await accessLog()).length;
    const out = join(env.DATA_DIR as string, 'export.json');
    const run = await cli(env, 'export', '--case', caseId, '--out', out, ...actor);
    expect(run.code).toBe(EXIT.ok);
    const history = JSON.parse(readFileSync(out, 'utf8'));
    expect(history).toMatchObject({ format: 'caseline-case-history/1', caseId, personalData: 'opened' });
    const roles = history.streams.map((stream: { role: string }) => stream.role);
    expect(roles.slice(0, 2)).toEqual(['case', 'person']);
    expect(roles.slice(2).length).toBeGreaterThan(0);
    expect(new Set(roles.slice(2))).toEqual(new Set(['referral']));
    for (const stream of history.streams) {
      expect(stream.events.map((event: { version: number }) => event.version)).toEqual(stream.events.map((_: unknown, i: number) => i + 1));
      // Offline verifiable: the stored data recomputes every link.
      let previous = GENESIS_HASH;
      for (const event of stream.events) {
        expect(event.previousHash).toBe(previous);
        expect(linkHash(previous, contentHash(event))).toBe(event.hash);
        expect(event.position).toMatch(/^\d+$/);
        previous = event.hash;
      }
    }
    const opened = history.streams[0].events[0];
    expect(JSON.stringify(opened.data)).toContain('"$pii":1');
    expect(typeof opened.opened.summary).toBe('string');
    const logged = (await accessLog()).slice(before);
    expect(logged.map((row) => row.record_type)).toEqual(roles);
    expect(new Set(logged.map((row) => `${row.endpoint} ${row.case_id} ${row.actor_id}`))).toEqual(new Set([`cli export ${caseId} auditor-7`]));
  });

  it('leaves personal data sealed without the master key', async () => {
    const { MASTER_KEY: _key, ...keyless } = env;
    const run = await cli({ ...keyless, DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-cli-')) }, 'export', '--case', caseId, ...actor);
    expect(run.code).toBe(EXIT.ok);
    const history = run.json();
    expect(history.personalData).toBe('sealed');
    expect(history.streams[0].events[0].opened).toBeUndefined();
    const replay = await cli({ ...keyless, DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-cli-')) }, 'replay', '--case', caseId, '--version', '1', ...actor);
    expect(replay.json()).toMatchObject({ personalData: 'sealed', state: { summary: { $pii: 1, at: 'CaseOpened.summary' } } });
  });

  it('exports a signed digest and later names the stream rewritten since; a forged digest fails', async () => {
    const file = join(env.DATA_DIR as string, 'digest.json');
    expect((await cli(env, 'digest', '--out', file)).code).toBe(EXIT.ok);
    const clean = await cli(env, 'verify-digest', file);
    expect(clean.code).toBe(EXIT.ok);
    expect(clean.json()).toMatchObject({ ok: true, signatureValid: true, checkedEvents: events });

    await rewriteConsistently(db, store, caseStream(caseId), 2, (data) => ({ ...data, note: 'nothing happened here' }));
    expect((await cli(env, 'verify', '--stream', caseStream(caseId))).code).toBe(EXIT.ok);
    const caught = await cli(env, 'verify-digest', file);
    expect(caught.code).toBe(EXIT.tampered);
    expect(caught.json()).toMatchObject({ ok: false, signatureValid: true, problemCount: 1, firstRewrittenStream: caseStream(caseId) });

    const forged = join(env.DATA_DIR as string, 'forged.json');
    writeFileSync(forged, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), events: events + 1 }));
    expect((await cli(env, 'verify-digest', forged)).json()).toMatchObject({ ok: false, signatureValid: false, signatureProblem: 'bad_signature' });
    writeFileSync(forged, '{"format":"something else"}');
    expect(await cli(env, 'verify-digest', forged)).toMatchObject({ code: EXIT.badInput, stdout: '' });
  });

  it('stops on a configuration error with one line naming the variable', async () => {
    const run = await cli({ ...env, AUTH_MODE: 'jwt', JWT_ISSUER: 'x', JWT_AUDIENCE: 'y', JWT_PUBLIC_KEY: 'z' }, 'verify');
    expect(run.code).toBe(EXIT.config);
    expect(run.stderr).toBe('caseline-cli: configuration error: AUDIT_SIGNING_KEY: is required outside dev mode\n');
  });

  it('runs as a process through its entry point', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/cli/src/main.ts', 'verify', '--stream', caseStream(caseId)], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, ...env, TS_NODE_PROJECT: 'tsconfig.scripts.json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, checkedStreams: 1 });
  });
});
