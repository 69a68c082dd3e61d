/**
 * npm run bench:projections — the read side at scale, on one PostgreSQL, in one run:
 *   1. a realistic history (test/bench/history.ts; BENCH_CASES, default 100,000 cases ≈ 1.1M events),
 *   2. the raw sequential read of those events (keyset SELECT in delivery order: the limit), and
 *      the store's own read-all,
 *   3. a blue/green rebuild of every read model in one pass (events/s), by the projector app's CLI,
 *   4. the same history (its first BENCH_EMMETT_EVENTS events, default 100,000) projected by Emmett's
 *      PostgreSQL projections (test/bench/emmett-projections.ts),
 *   5. caseload query latency at that size (in-process and through HTTP),
 *   6. projection lag while the bench:api command load runs against the service.
 * Prints figures and ratios measured side by side; asserts nothing (this machine is noisy).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { streamCategories } from '@caseline/domain';
import { PostgresDatabase, SqlEventStore, type RecordedEvent } from '@caseline/event-store';
import { createTestDatabase } from '@caseline/event-store/testing';
import { caseload, caseworkProjections, ReadModels } from '@caseline/projections';
import { appArgs, format, percentile, table } from './bench-kit';
import { emmettProjectionRebuild } from './emmett-projections';
import { generateHistory } from './history';

const CASES = Number(process.env.BENCH_CASES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
// Emmett's rebuild runs near a thousand events a second here: it is given a prefix of the history.
const EMMETT_EVENTS = Number(process.env.BENCH_EMMETT_EVENTS ?? 100_000);
const PORT = 3900 + Math.floor(Math.random() * 90);
const base = `http://127.0.0.1:${PORT}`;

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const log = (message: string) => process.stderr.write(`${message}\n`);

async function post(path: string, body: unknown, token?: string): Promise<{ body: Record<string, string>; headers: Headers }> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return { body: (await response.json()) as Record<string, string>, headers: response.headers };
}

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Every stored event in delivery order, page by page (for the Emmett copy). */
async function* allEvents(store: SqlEventStore): AsyncGenerator<RecordedEvent[]> {
  let after: string | undefined;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 5_000 });
    if (batch.events.length === 0) return;
    yield batch.events;
    after = batch.checkpoint;
  }
}

/** `rebuild all` in a projector process of its own; answers the line it ends with. */
function runRebuild(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...appArgs('projector'), 'rebuild', 'all'], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = output.split(/[\r\n]+/).filter(Boolean).pop() ?? '';
      if (code === 0) resolve(last);
      else reject(new Error(`rebuild exited with ${code}: ${last}`));
    });
  });
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const database = await createTestDatabase('caseline_bench_projections');
  const db = new PostgresDatabase({ connectionString: database.url, max: 16 });
  const store = await SqlEventStore.open(db, { categories: streamCategories });
  let service: ChildProcess | undefined;
  try {
    // 1. History.
    let started = process.hrtime.bigint();
    const summary = await generateHistory(store, {
      cases: CASES,
      seed: 42,
      onProgress: (p) => process.stderr.write(`\rhistory: ${p.cases.toLocaleString('en')}/${p.totalCases.toLocaleString('en')} cases, ${p.events.toLocaleString('en')} events`),
    });
    log(`\nhistory: ${summary.events.toLocaleString('en')} events over ${summary.cases.toLocaleString('en')} cases in ${seconds(started).toFixed(0)} s`);

    // 2. The limit: a raw keyset read of the same rows in delivery order; then the store's read-all.
    started = process.hrtime.bigint();
    let raw = 0;
    let cursor: [string, string] = ['0', '0'];
    for (;;) {
      const { rows } = await db.query<{ t: string; p: string }>(
        `SELECT transaction_id::text AS t, position::text AS p, stream_id, version, type, data, metadata, hash FROM es_events
          WHERE (transaction_id, position) > ($1::xid8, $2::bigint) ORDER BY transaction_id, position LIMIT 5000`,
        cursor,
      );
      if (rows.length === 0) break;
      raw += rows.length;
      cursor = [rows[rows.length - 1].t, rows[rows.length - 1].p];
    }
    const rawRate = raw / seconds(started);
    started = process.hrtime.bigint();
    let read = 0;
    for await (const events of allEvents(store)) read += events.length;
    const readAllRate = read / seconds(started);

    // 3. Rebuild of every read model, one pass (the live tables are empty: nothing else runs), as
    //    `npm run rebuild -- all` runs it: the projector app, with its V8 flags, timed from its
    //    start to its exit.
    const readModels = await ReadModels.open(db);
    started = process.hrtime.bigint();
    const rebuilt = await runRebuild(database.url);
    const rebuildSeconds = seconds(started);
    const rebuildRate = summary.events / rebuildSeconds;
    log(`rebuild: ${rebuilt}`);

    // 4. Emmett's projections over the same events (copied into Emmett's own store first, untimed).
    const emmett = await emmettProjectionRebuild(database.url, () => allEvents(store), { maxEvents: EMMETT_EVENTS, log });

    // 5. Caseload at this size: in-process (the query) and through HTTP (auth, access log, JSON).
    const { rows: teams } = await db.query<{ team: string; worker: string | null }>(
      `SELECT DISTINCT ON (team) team, assigned_worker_id AS worker FROM rm_cases WHERE assigned_worker_id IS NOT NULL ORDER BY team`,
    );
    const filters = teams.flatMap(({ team, worker }) => [
      { team },
      { team, status: 'open' },
      { team, overdue: true },
      { team, workerId: worker ?? undefined },
    ]);
    const latencies: number[] = [];
    for (let i = 0; i < 400; i++) {
      const filter = filters[i % filters.length];
      const t = process.hrtime.bigint();
      const page = await caseload(readModels.dataSource, { ...filter, limit: 50, now: new Date().toISOString() });
      if (page.nextCursor && i % 2) await caseload(readModels.dataSource, { ...filter, limit: 50, cursor: page.nextCursor, now: new Date().toISOString() });
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6 / (page.nextCursor && i % 2 ? 2 : 1));
    }
    latencies.sort((a, b) => a - b);
    await readModels.close();

    const dataDir = mkdtempSync(join(tmpdir(), 'caseline-bench-'));
    const startService = async (projector: 'inline' | 'off') => {
      service = spawn(process.execPath, appArgs('api'), {
        env: { ...process.env, PORT: String(PORT), DATABASE_URL: database.url, AUTH_MODE: 'dev', DATA_DIR: dataDir, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', PROJECTOR: projector },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      for (let i = 0; ; i++) {
        if (i > 240) throw new Error('service did not start');
        if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const stop = async (child: ChildProcess | undefined) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    };
    await startService('inline');
    const team = teams[0].team;
    const worker = (await post('/api/auth/dev-token', { sub: 'bench-worker', name: 'Bench Worker', role: 'social_worker', team })).body.token;
    const headers = { authorization: `Bearer ${worker}` };
    const caseloadHttp = await cannon({ url: `${base}/api/caseload?limit=50&status=open`, connections: 8, duration: SECONDS, headers });

    // 6. Lag under the bench:api command load: a probe records a note every 100 ms and times how
    //    long until every projection's checkpoint has passed it. Measured with the projections in
    //    the API process (the default), then in their own process (apps/projector, PROJECTOR=off).
    const person = await post('/api/people', { givenName: 'Lag', familyName: 'Probe' }, worker);
    const probeCase = (await post('/api/cases', { personId: person.body.id, reason: 'welfare_concern', risk: 'low', summary: 'lag probe' }, worker)).body.id;
    const loadCases: string[] = [];
    for (let i = 0; i < 64; i++) {
      const p = await post('/api/people', { givenName: `Load${i}`, familyName: 'Bench' }, worker);
      loadCases.push((await post('/api/cases', { personId: p.body.id, reason: 'welfare_concern', risk: 'medium', summary: 'load' }, worker)).body.id);
    }
    const welfareCheck = JSON.stringify({ performedAt: new Date().toISOString(), location: 'Corner of 5th and Main', outcome: 'assistance_provided', observations: 'Provided a blanket.' });
    const measureLag = async (): Promise<{ lags: number[]; load: autocannon.Result }> => {
      let next = 0;
      const load = cannon({
        url: base,
        connections: 32,
        duration: SECONDS,
        requests: [{ method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: welfareCheck, setupRequest: (r) => ({ ...r, path: `/api/cases/${loadCases[next++ % loadCases.length]}/welfare-checks` }) }],
      });
      const lags: number[] = [];
      const deadline = Date.now() + SECONDS * 1000 - 500;
      await new Promise((resolve) => setTimeout(resolve, 500));
      while (Date.now() < deadline) {
        const answer = await post(`/api/cases/${probeCase}/notes`, { body: 'probe', visibility: 'team' }, worker);
        const committed = process.hrtime.bigint();
        const token = answer.headers.get('x-consistency-token') as string;
        const target = Buffer.from(token, 'base64url').toString().slice(3);
        for (;;) {
          const { rows } = await db.query<{ checkpoint: string | null }>(`SELECT checkpoint FROM projection_checkpoints WHERE name = ANY($1::text[])`, [caseworkProjections.map((p) => p.name)]);
          if (rows.length === caseworkProjections.length && rows.every((r) => r.checkpoint !== null && store.compareCheckpoints(r.checkpoint, target) >= 0)) break;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        lags.push(Number(process.hrtime.bigint() - committed) / 1e6);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const result = await load;
      lags.sort((a, b) => a - b);
      return { lags, load: result };
    };
    const inline = await measureLag();
    await stop(service);
    await startService('off');
    const projectorProcess = spawn(process.execPath, appArgs('projector'), {
      env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', PROJECTOR_LEASE_MS: '2000' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // The inline projector handed its leases back on shutdown: the process takes them at once.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const separate = await measureLag();
    await stop(projectorProcess);
    const { lags, load: loadResult } = inline;

    console.log(`\nRead side on PostgreSQL: ${summary.events.toLocaleString('en')} events, ${summary.cases.toLocaleString('en')} cases (seed 42)`);
    console.log(
      table(
        ['what', 'events/s', 'vs raw read'],
        [
          ['raw keyset read, delivery order (the limit)', format(rawRate), '1.00'],
          ['store read-all', format(readAllRate), (readAllRate / rawRate).toFixed(2)],
          ['rebuild of every read model, one pass (caseline; CLI process, start to exit)', format(rebuildRate), (rebuildRate / rawRate).toFixed(2)],
          [`emmett projections (${emmett.projections})`, format(emmett.eventsPerSecond), (emmett.eventsPerSecond / rawRate).toFixed(2)],
        ],
      ),
    );
    console.log(`emmett: ${emmett.notes}`);
    console.log(
      table(
        ['query / lag', 'p50 ms', 'p99 ms', 'samples'],
        [
          ['caseload query, in-process (50 rows, team/status/overdue/worker filters)', percentile(latencies, 50).toFixed(2), percentile(latencies, 99).toFixed(2), String(latencies.length)],
          ['GET /api/caseload over HTTP (8 connections)', caseloadHttp.latency.p50, caseloadHttp.latency.p99, String(caseloadHttp.requests.total)],
          [`projection lag, projector in the API process, under ${Math.round(loadResult.requests.average)} welfare checks/s`, percentile(lags, 50).toFixed(1), percentile(lags, 99).toFixed(1), String(lags.length)],
          [
            `projection lag, projector in its own process, under ${Math.round(separate.load.requests.average)} welfare checks/s`,
            percentile(separate.lags, 50).toFixed(1),
            percentile(separate.lags, 99).toFixed(1),
            String(separate.lags.length),
          ],
        ],
      ),
    );
    console.log(
      `projections: rebuild_events_per_s=${Math.round(rebuildRate)} (target >= 50000) rebuild/raw=${(rebuildRate / rawRate).toFixed(2)} rebuild/emmett=${(rebuildRate / emmett.eventsPerSecond).toFixed(2)} ` +
        `caseload_p99_ms=${percentile(latencies, 99).toFixed(2)} (target < 20) http_caseload_p99_ms=${caseloadHttp.latency.p99} lag_p99_ms=${percentile(lags, 99).toFixed(1)} own_process_lag_p99_ms=${percentile(separate.lags, 99).toFixed(1)} (target < 200)`,
    );
  } finally {
    const running = service as ChildProcess | undefined;
    if (running && running.exitCode === null && running.signalCode === null) {
      running.kill('SIGTERM');
      await new Promise((resolve) => running.once('exit', resolve));
    }
    await store.close();
    if (process.env.BENCH_KEEP_DATABASE) log(`kept database ${database.url}`);
    else await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
