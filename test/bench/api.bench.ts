/**
 * npm run bench:api — autocannon against a running Caseline service on PostgreSQL: welfare-check
 * commands and GET /api/cases/:id at 32 connections, then the store's own single-event append rate
 * with 32 writers on the same database in the same run, and the ratio of the two.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PostgresDatabase, SqlEventStore } from '@caseline/event-store';
import { createTestDatabase } from '@caseline/event-store/testing';
import { appArgs, runFor, table } from './bench-kit';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const CASES = 64;
const PORT = 3900 + Math.floor(Math.random() * 90);
const base = `http://127.0.0.1:${PORT}`;

async function post(path: string, body: unknown, token?: string): Promise<Record<string, string>> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, string>;
}

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

async function main(): Promise<void> {
  if (!existsSync('dist/apps/api/src/main.js') || process.env.BENCH_BUILD !== '0') {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('build failed');
  }
  const database = await createTestDatabase('caseline_bench_api');
  const service = spawn(process.execPath, appArgs('api'), {
    // Rate limiting off: 32 connections on one token measure throughput, which a per-user limit
    // meant for people would cap at a few requests per second.
    env: { ...process.env, PORT: String(PORT), DATABASE_URL: database.url, AUTH_MODE: 'dev', DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-bench-')), LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => service.once('exit', resolve));
  try {
    for (let i = 0; ; i++) {
      if (i > 120) throw new Error('service did not start');
      if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { token } = await post('/api/auth/dev-token', { sub: 'bench-worker', name: 'Bench Worker', role: 'social_worker', team: 'north' });
    const caseIds: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const person = await post('/api/people', { givenName: `Given${i}`, familyName: 'Bench' }, token);
      const opened = await post('/api/cases', { personId: person.id, reason: 'welfare_concern', risk: 'medium', summary: 'benchmark case' }, token);
      caseIds.push(opened.id);
    }
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const welfareCheck = JSON.stringify({
      performedAt: new Date().toISOString(),
      location: 'Corner of 5th and Main',
      outcome: 'assistance_provided',
      observations: 'Person was cold; provided blanket and information about the overnight shelter.',
    });
    let next = 0;
    const pick = () => caseIds[next++ % caseIds.length];
    // Warm-up, then the measured runs.
    await cannon({ url: base, connections: 8, duration: 2, requests: [{ method: 'POST', headers, body: welfareCheck, setupRequest: (r) => ({ ...r, path: `/api/cases/${pick()}/welfare-checks` }) }] });
    const commands = await cannon({
      url: base,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [{ method: 'POST', headers, body: welfareCheck, setupRequest: (r) => ({ ...r, path: `/api/cases/${pick()}/welfare-checks` }) }],
    });
    const reads = await cannon({
      url: base,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [{ method: 'GET', headers, setupRequest: (r) => ({ ...r, path: `/api/cases/${pick()}` }) }],
    });
    // The store alone, same database, same run: 32 writers of single-event appends. The service
    // stops first: its inline projector would otherwise take these events in (and, finding no
    // case opened on their streams, retry and park them) while the store is being measured.
    service.kill('SIGTERM');
    await exited;
    const store = await SqlEventStore.open(new PostgresDatabase({ connectionString: database.url, max: CONNECTIONS + 2 }));
    const streams = Array.from({ length: CONNECTIONS }, () => `case-${randomUUID()}`);
    const storeRate = await runFor(SECONDS / 2, CONNECTIONS, async (writer) => {
      const eventId = randomUUID();
      await store.append(streams[writer], [
        {
          type: 'WelfareCheckRecorded',
          data: { observations: 'x'.repeat(80) },
          metadata: { eventId, actor: { id: 'b', name: 'B', role: 'officer', team: 'north' }, correlationId: eventId, causationId: eventId, recordedAt: new Date().toISOString(), schemaVersion: 1 },
        },
      ]);
      return 1;
    });
    await store.close();
    const errors = (result: autocannon.Result) => result.errors + result.timeouts + result.non2xx;
    console.log(`\nHTTP on PostgreSQL, ${CONNECTIONS} connections, ${SECONDS}s each, ${CASES} cases`);
    console.log(
      table(
        ['workload', 'requests/s', 'p50 ms', 'p99 ms', 'non-2xx/errors'],
        [
          ['POST welfare-checks', commands.requests.average, commands.latency.p50, commands.latency.p99, String(errors(commands))],
          ['GET /api/cases/:id', reads.requests.average, reads.latency.p50, reads.latency.p99, String(errors(reads))],
          ['store append (32 writers, no HTTP)', storeRate.perSecond, '-', '-', '0'],
        ],
      ),
    );
    console.log(`api: commands/store=${(commands.requests.average / storeRate.perSecond).toFixed(2)} command_p99_ms=${commands.latency.p99} read_p99_ms=${reads.latency.p99}`);
  } finally {
    service.kill('SIGTERM');
    await exited;
    await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
