/**
 * npm run bench:audit — the auditor's reads on one PostgreSQL, measured in one run:
 *  1. state as of a point on a case with 10,000 events (BENCH_LONG_CASE_EVENTS): in process (from
 *     snapshots, and the reference replay from the first event) and over HTTP on the running service;
 *  2. whole-store hash-chain verification, and signed-digest export and check, on a generated
 *     history of 100,000 cases, about 1,150,000 events (BENCH_AUDIT_CASES; e.g. 10000 for a quick run).
 * Figures only, with the targets beside them: p99 < 50 ms; verification ≥ 100,000 events/s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaseReplay, CaseSnapshots, DigestSigner, exportDigest, replayCaseFromStart, verifyDigest } from '@caseline/audit';
import { streamCategories } from '@caseline/domain';
import { PostgresDatabase, SqlEventStore, verifyStore } from '@caseline/event-store';
import { createTestDatabase } from '@caseline/event-store/testing';
import { PersonalData, PersonalDataKeys } from '@caseline/platform';
import { caseworkProjections, projectionStatus } from '@caseline/projections';
import { appArgs, percentile, table } from './bench-kit';
import { generateHistory, generateLongCase, Random } from './history';

const LONG_CASE_EVENTS = Number(process.env.BENCH_LONG_CASE_EVENTS ?? 10_000);
const HISTORY_CASES = Number(process.env.BENCH_AUDIT_CASES ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const PORT = 3900 + Math.floor(Math.random() * 90);
const base = `http://127.0.0.1:${PORT}`;

/** Milliseconds each of `count` calls took, sorted. */
async function latencies(count: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const row = (name: string, times: number[], target: string): (string | number)[] => [name, times.length.toLocaleString('en-US'), percentile(times, 50), percentile(times, 99), times[times.length - 1], target];

async function main(): Promise<void> {
  if (!existsSync('dist/apps/api/src/main.js') || process.env.BENCH_BUILD !== '0') {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('build failed');
  }
  const database = await createTestDatabase('caseline_bench_audit');
  const db = new PostgresDatabase({ connectionString: database.url, max: 12 });
  const store = await SqlEventStore.open(db, { categories: streamCategories });
  const masterKey = randomBytes(32);
  const personalData = new PersonalData(await PersonalDataKeys.open(db, masterKey));
  const seal = <E extends { type: string; data: unknown }>(event: E, personId: string) => personalData.seal(event, personId);
  let service: ReturnType<typeof spawn> | undefined;
  try {
    // 1. State as of a point on one long case.
    let started = performance.now();
    const long = await generateLongCase(store, { events: LONG_CASE_EVENTS, seed: 'bench-long-case', seal });
    console.log(`long case: ${long.events} events written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const random = new Random('bench-points');
    const points = Array.from({ length: REQUESTS }, () => random.int(1, long.events));
    const replay = new CaseReplay(store, personalData, await CaseSnapshots.open(db));
    started = performance.now();
    await replay.stateAt(long.caseId, { version: long.events });
    const firstReplayMs = performance.now() - started;
    const inProcess = await latencies(REQUESTS, (i) => replay.stateAt(long.caseId, { version: points[i] }));
    const fromStart = await latencies(Math.min(20, REQUESTS), (i) => replayCaseFromStart(store, personalData, long.caseId, { version: points[i] }));

    service = spawn(process.execPath, appArgs('api'), {
      // Rate limiting off: the latency loop is one auditor asking hundreds of times a second.
      env: { ...process.env, PORT: String(PORT), DATABASE_URL: database.url, AUTH_MODE: 'dev', MASTER_KEY: masterKey.toString('base64'), DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-bench-')), LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (let i = 0; ; i++) {
      if (i > 120) throw new Error('service did not start');
      if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { token } = (await (
      await fetch(`${base}/api/auth/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'bench-auditor', name: 'Bench Auditor', role: 'auditor', team: 'audit' }) })
    ).json()) as { token: string };
    const get = async (path: string) => {
      const response = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const events = await store.readStream(`case-${long.caseId}`);
    // Measured once the service's inline projector has taken in the long case (it starts 10,000
    // events behind and would otherwise project them during the first calls), after a warm-up of
    // a few calls (the service's stream cache, its opened personal data, the JIT).
    for (let i = 0; ; i++) {
      const status = await projectionStatus(store, db, caseworkProjections.map((projection) => projection.name));
      if (status.every((projection) => projection.eventsBehind === 0)) break;
      if (i > 600) throw new Error('the service did not project the long case');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let i = 1; i <= 20; i++) await get(`/api/audit/cases/${long.caseId}/state?version=${Math.ceil((i * long.events) / 20)}`);
    const overHttpVersion = await latencies(REQUESTS, (i) => get(`/api/audit/cases/${long.caseId}/state?version=${points[i]}`));
    const overHttpAsOf = await latencies(REQUESTS, (i) => get(`/api/audit/cases/${long.caseId}/state?asOf=${encodeURIComponent(events[points[i] - 1].metadata.recordedAt)}`));
    console.log(`\nState as of a point on a case with ${long.events} events (latency in ms; first replay, which takes the snapshots: ${firstReplayMs.toFixed(0)} ms)`);
    console.log(
      table(
        ['replay', 'calls', 'p50', 'p99', 'max', 'target'],
        [
          row('HTTP GET …/state?version=N', overHttpVersion, 'p99 < 50'),
          row('HTTP GET …/state?asOf=T', overHttpAsOf, 'p99 < 50'),
          row('in process, from snapshots', inProcess, 'p99 < 50'),
          row('in process, from the first event', fromStart, '(reference)'),
        ],
      ),
    );

    // 2. Whole-store verification on a generated history. The service stops first: its inline
    // projector would otherwise be projecting the million new events while the walks run.
    service.kill('SIGTERM');
    await new Promise((resolve) => service?.once('exit', resolve));
    service = undefined;
    started = performance.now();
    const summary = await generateHistory(store, {
      cases: HISTORY_CASES,
      seed: 'bench-history',
      seal,
      erase: (personId) => personalData.erase(personId),
      onProgress: ({ cases: done, totalCases, events: written }) => process.stderr.write(`\r  generating: ${done}/${totalCases} cases, ${written} events`),
    });
    const generationSeconds = (performance.now() - started) / 1000;
    process.stderr.write('\n');
    console.log(`\nhistory: ${summary.cases} cases, ${summary.people} people, ${summary.referrals} referrals, ${summary.events} events in ${summary.streams} streams, written in ${generationSeconds.toFixed(0)} s (${Math.round(summary.events / generationSeconds)} events/s)`);
    // The history was just written: flushed (CHECKPOINT) before the walks, so that they are not
    // measured against the server's background writes of the generation.
    await db.query('VACUUM ANALYZE');
    await db.query('CHECKPOINT');
    const rows: (string | number)[][] = [];
    for (const run of [1, 2]) {
      started = performance.now();
      const result = await verifyStore(store);
      const seconds = (performance.now() - started) / 1000;
      if (!result.ok) throw new Error(`verification failed: ${JSON.stringify(result)}`);
      rows.push([`verify whole store (run ${run})`, result.checkedEvents, seconds, result.checkedEvents / seconds, '≥ 100,000']);
    }
    const signer = new DigestSigner(generateKeyPairSync('ed25519').privateKey);
    started = performance.now();
    const digest = await exportDigest(store, signer);
    const exportSeconds = (performance.now() - started) / 1000;
    rows.push(['export signed digest (heads only)', digest.events, exportSeconds, digest.events / exportSeconds, '']);
    started = performance.now();
    const check = await verifyDigest(store, digest, [signer.publicKey]);
    const checkSeconds = (performance.now() - started) / 1000;
    if (!check.ok) throw new Error(`digest check failed: ${JSON.stringify(check)}`);
    rows.push(['check signed digest (chains recomputed)', check.checkedEvents, checkSeconds, check.checkedEvents / checkSeconds, '']);
    console.log(`\nTamper evidence on ${summary.events} events`);
    console.log(table(['walk', 'events', 'seconds', 'events/s', 'target'], rows));
  } finally {
    service?.kill('SIGTERM');
    if (service) await new Promise((resolve) => service?.once('exit', resolve));
    await store.close();
    if (process.env.BENCH_KEEP_DATABASE) console.log(`kept database ${database.name}`);
    else await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
