/**
 * npm run bench:append — append throughput on one PostgreSQL, measured side by side in one run:
 * the physical limit — a raw single-row INSERT of the same event row into a table of the same shape
 * and indexes, at the same durability settings, with no concurrency check and no hash chain —
 * our store, and Emmett's PostgreSQL store; then read-all throughput next to a raw sequential
 * SELECT. For transparency it also shows a bare INSERT into a table with only a primary key, and
 * our store with group commit off (every append its own transaction, like each limit INSERT):
 * with group commit, concurrent writers share transactions, which is how the store can pass a
 * limit that pays one commit per event.
 * Each scenario runs every contender twice in mirrored order (A B C C B A) so that drift on a
 * noisy machine falls on all of them alike. Last line: the ratios for 32 single-event writers.
 */
import { randomUUID } from 'node:crypto';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { Pool } from 'pg';
import { PostgresDatabase, SqlEventStore, type NewEvent } from '@caseline/event-store';
import { createTestDatabase } from '@caseline/event-store/testing';
import { runFor, table } from './bench-kit';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WRITERS = [1, 8, 32];

const welfareCheck = () => ({
  caseId: randomUUID(),
  welfareCheckId: randomUUID(),
  performedAt: new Date().toISOString(),
  location: { kind: 'text', value: 'enc:v1:3f9a…(ciphertext of an address, about 80 bytes of base64)…==' },
  outcome: 'assistance_provided',
  observations: 'enc:v1:9b1c…(ciphertext of the observations, about 160 bytes of base64 as notes tend to be)…==',
  recordedAt: new Date().toISOString(),
});
const metadataFor = (eventId: string) => ({
  eventId,
  actor: { id: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Officer Bench', role: 'officer', team: 'north' },
  correlationId: randomUUID(),
  causationId: randomUUID(),
  recordedAt: new Date().toISOString(),
  schemaVersion: 1,
});
const ourEvent = (): NewEvent => {
  const eventId = randomUUID();
  return { type: 'WelfareCheckRecorded', data: welfareCheck(), metadata: metadataFor(eventId) };
};

interface Contender {
  name: string;
  append(stream: string, count: number): Promise<number>;
}

async function main(): Promise<void> {
  const database = await createTestDatabase('caseline_bench');
  const poolSize = Math.max(...WRITERS) + 2;
  // Why connections close after 1 s unused: each contender may hold 32, and the server's limit
  // (100 by default) is then only ever reached by the one running and the one before it.
  const idleTimeoutMillis = 1_000;
  const rawPool = new Pool({ connectionString: database.url, max: poolSize, idleTimeoutMillis });
  const emmettPool = new Pool({ connectionString: database.url, max: poolSize, idleTimeoutMillis });
  const store = await SqlEventStore.open(new PostgresDatabase({ connectionString: database.url, max: poolSize, idleTimeoutMillis }));
  // The same store with group commit off: every append its own transaction, as the limit's are.
  const ungrouped = await SqlEventStore.open(new PostgresDatabase({ connectionString: database.url, max: poolSize, idleTimeoutMillis }), {
    appendGroups: 0,
  });
  const emmett = getPostgreSQLEventStore(database.url, { connectionOptions: { pool: emmettPool } });
  try {
    await emmett.schema.migrate();
    await rawPool.query(`CREATE TABLE bare_events (position bigserial PRIMARY KEY, stream_id text NOT NULL, version int NOT NULL,
      type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL)`);
    await rawPool.query(`CREATE TABLE raw_events (LIKE es_events INCLUDING ALL)`);
    const versions = new Map<string, number>();
    const rawInsert = (table: 'bare_events' | 'raw_events') => async (stream: string, count: number) => {
      const version = versions.get(stream) ?? 0;
      versions.set(stream, version + count);
      const values: string[] = [];
      const params: unknown[] = [];
      for (let i = 0; i < count; i++) {
        const event = ourEvent();
        params.push(stream, version + i + 1, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata));
        if (table === 'raw_events') params.push(event.metadata.eventId, event.metadata.recordedAt);
        const p = params.length;
        values.push(
          table === 'raw_events'
            ? `($${p - 6}, $${p - 5}, $${p}, $${p - 1}, $${p - 4}, $${p - 3}::jsonb, $${p - 2}::jsonb, sha256('a'), sha256('b'))`
            : `($${p - 4}, $${p - 3}, $${p - 2}, $${p - 1}, $${p})`,
        );
      }
      await rawPool.query(
        table === 'raw_events'
          ? `INSERT INTO raw_events (stream_id, version, recorded_at, event_id, type, data, metadata, previous_hash, hash) VALUES ${values.join(', ')}`
          : `INSERT INTO bare_events (stream_id, version, type, data, metadata) VALUES ${values.join(', ')}`,
        params,
      );
      return count;
    };
    const contenders: Contender[] = [
      { name: 'bare INSERT (1 index)', append: rawInsert('bare_events') },
      { name: 'limit (raw INSERT)', append: rawInsert('raw_events') },
      {
        name: 'caseline store',
        async append(stream, count) {
          await store.append(stream, Array.from({ length: count }, ourEvent));
          return count;
        },
      },
      {
        name: 'store, no group commit',
        async append(stream, count) {
          await ungrouped.append(stream, Array.from({ length: count }, ourEvent));
          return count;
        },
      },
      {
        name: 'emmett',
        async append(stream, count) {
          await emmett.appendToStream(
            stream,
            Array.from({ length: count }, () => {
              const event = ourEvent();
              return { type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata };
            }),
          );
          return count;
        },
      },
    ];

    // Warm up every contender (connections, plans, the first pages of each table).
    for (const contender of contenders) await runFor(0.5, 8, () => contender.append(`case-${randomUUID()}`, 1));

    const rows: (string | number)[][] = [];
    const ratios = new Map<string, { limit: number; store: number; emmett: number }>();
    for (const batch of [1, 10]) {
      for (const writers of WRITERS) {
        const totals = new Map<string, number[]>();
        const order = [...contenders, ...[...contenders].reverse()];
        for (const contender of order) {
          const streams = Array.from({ length: writers }, () => `case-${randomUUID()}`);
          // Each writer's stream is created first, uncounted: the run measures appends onto existing
          // streams, and every contender starts it with its connections open (they close after 1 s).
          await Promise.all(streams.map((stream) => contender.append(stream, 1)));
          const result = await runFor(SECONDS / 2, writers, (writer) => contender.append(streams[writer], batch));
          totals.set(contender.name, [...(totals.get(contender.name) ?? []), result.perSecond]);
        }
        const mean = (name: string) => (totals.get(name) as number[]).reduce((a, b) => a + b, 0) / 2;
        const [bare, limit, ours, alone, theirs] = contenders.map((contender) => mean(contender.name));
        ratios.set(`${batch}:${writers}`, { limit, store: ours, emmett: theirs });
        rows.push([batch === 1 ? 'single event' : '10-event batch', String(writers), bare, limit, ours, alone, theirs, ours / limit, alone / limit, ours / theirs]);
        console.log(`  measured ${batch === 1 ? 'single' : 'batch'} × ${writers} writers`);
      }
    }
    console.log('\nAppend throughput (events/s) on one PostgreSQL, same run, same durability (synchronous_commit=on)');
    console.log(
      table(
        ['appends', 'writers', 'bare INSERT (1 index)', 'limit: raw INSERT, same row', 'caseline store', 'store, no group commit', 'emmett', 'store/limit', 'no group/limit', 'store/emmett'],
        rows,
      ),
    );

    // Read-all: our catch-up read (gap-free order, upcasting, row mapping) against a raw keyset scan.
    const { rows: count } = await rawPool.query(`SELECT count(*)::int AS n FROM es_events`);
    const readStarted = process.hrtime.bigint();
    let read = 0;
    for (let checkpoint: string | undefined; ; ) {
      const batch = await store.readAll({ after: checkpoint, maxCount: 1000 });
      if (batch.events.length === 0) break;
      read += batch.events.length;
      checkpoint = batch.checkpoint;
    }
    const storeSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
    const rawStarted = process.hrtime.bigint();
    let rawRead = 0;
    for (let after = ['0', '0']; ; ) {
      const { rows: page } = await rawPool.query(
        `SELECT e.position::text, e.transaction_id::text, e.stream_id, e.version, e.type, e.data, e.metadata, e.hash FROM es_events e
          WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint) ORDER BY e.transaction_id, e.position LIMIT 1000`,
        after,
      );
      if (page.length === 0) break;
      rawRead += page.length;
      after = [page[page.length - 1].transaction_id, page[page.length - 1].position];
    }
    const rawSeconds = Number(process.hrtime.bigint() - rawStarted) / 1e9;
    console.log(`\nRead-all over ${count[0].n} events (pages of 1000)`);
    console.log(
      table(
        ['reader', 'events', 'events/s'],
        [
          ['raw sequential SELECT', rawRead, rawRead / rawSeconds],
          ['caseline readAll', read, read / storeSeconds],
        ],
      ),
    );
    console.log(`read: store/raw=${(read / storeSeconds / (rawRead / rawSeconds)).toFixed(2)}`);
    const headline = ratios.get('1:32') as { limit: number; store: number; emmett: number };
    console.log(`append: store/limit=${(headline.store / headline.limit).toFixed(2)} store/emmett=${(headline.store / headline.emmett).toFixed(2)}`);
  } finally {
    await emmett.close().catch(() => undefined);
    await rawPool.end();
    await emmettPool.end().catch(() => undefined);
    await store.close();
    await ungrouped.close();
    if (process.env.BENCH_KEEP_DATABASE) console.log(`kept database ${database.name}`);
    else await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
