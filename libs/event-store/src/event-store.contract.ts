import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client } from 'pg';
import type { EventStore, NewEvent } from './port';
import { DuplicateEventIdError } from './errors';
import { prepareAppend } from './append-validation';
import { canonicalJson, canonicalJsonOfJsonbText } from './canonical-json';
import { linkOf, readLinks } from './hash-chain';
import { verifyPage, verifyStore } from './verification';
import { ContentHashers } from './sql/content-hasher';
import { PgliteDatabase } from './sql/pglite';
import { PostgresDatabase } from './sql/postgres';
import type { SqlDatabase } from './sql/sql-database';
import { SqlEventStore } from './sql/sql-event-store';
import { eventStoreContract, type ContractHarness } from './testing/contract-suite';
import { testEvent, testStream } from './testing/events';
import { createTestDatabase, terminateConnections } from './testing/postgres-test-database';
import type { UpcasterRegistry } from './upcasting';

jest.setTimeout(60_000);

/** Direct row edits for the tamper cases; the same SQL on PostgreSQL and PGlite. */
function sqlTamper(db: SqlDatabase): NonNullable<ContractHarness['tamper']> {
  return {
    alterData: async (stream, version, data) =>
      void (await db.query(`UPDATE es_events SET data = $3::jsonb WHERE stream_id = $1 AND version = $2`, [stream, version, JSON.stringify(data)])),
    remove: async (stream, version) => void (await db.query(`DELETE FROM es_events WHERE stream_id = $1 AND version = $2`, [stream, version])),
    swap: async (stream, a, b) =>
      db.transaction(async (tx) => {
        await tx.query(`UPDATE es_events SET version = -1 WHERE stream_id = $1 AND version = $2`, [stream, a]);
        await tx.query(`UPDATE es_events SET version = $2 WHERE stream_id = $1 AND version = $3`, [stream, a, b]);
        await tx.query(`UPDATE es_events SET version = $2 WHERE stream_id = $1 AND version = -1`, [stream, b]);
      }),
    truncate: async (stream, from) => void (await db.query(`DELETE FROM es_events WHERE stream_id = $1 AND version >= $2`, [stream, from])),
  };
}

eventStoreContract('pglite', { concurrentTransactions: false, directRowAccess: true, faultInjection: false, storeWideEventIds: true }, async () => {
  const db = await PgliteDatabase.open();
  const store = await SqlEventStore.open(db, { pollIntervalMs: 50 });
  return {
    store,
    reopen: (options?: { upcasters?: UpcasterRegistry }) => SqlEventStore.open(db, { ...options, pollIntervalMs: 50 }),
    tamper: sqlTamper(db),
    dispose: () => store.close(),
  };
});

eventStoreContract('postgres', { concurrentTransactions: true, directRowAccess: true, faultInjection: true, storeWideEventIds: true }, async () => {
  const database = await createTestDatabase('caseline_contract');
  const db = new PostgresDatabase({ connectionString: database.url, max: 20 });
  const store = await SqlEventStore.open(db, { pollIntervalMs: 50 });
  const others: EventStore[] = [];
  return {
    store,
    reopen: async (options?: { upcasters?: UpcasterRegistry }) => {
      const other = await SqlEventStore.open(new PostgresDatabase({ connectionString: database.url, max: 4 }), { ...options, pollIntervalMs: 50 });
      others.push(other);
      return other;
    },
    holdOpenAppend: async (streamId: string, events: NewEvent[]) => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      const prepared = prepareAppend(streamId, events, 'any', { maxEventBytes: 1 << 20 });
      await client.query('BEGIN');
      await client.query(`SELECT * FROM es_append($1, $2, 'any', $3::jsonb)`, [streamId, prepared.category, JSON.stringify(prepared.events)]);
      return {
        commit: async () => {
          await client.query('COMMIT');
          await client.end();
        },
      };
    },
    tamper: sqlTamper(db),
    interruptConnections: () => terminateConnections(database.name),
    unreachableStore: async () => {
      // Port 1 on loopback: nothing listens there, so every connection attempt is refused.
      const unreachable = new PostgresDatabase({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
      return SqlEventStore.open(unreachable, { migrate: false });
    },
    dispose: async () => {
      await Promise.all(others.map((other) => other.close()));
      await store.close();
      await database.drop();
    },
  };
});

const kurrent = process.env.KURRENTDB_CONNECTION_STRING;
if (kurrent) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KurrentDbEventStore } = require('./kurrentdb') as typeof import('./kurrentdb');
  eventStoreContract('kurrentdb', { concurrentTransactions: false, directRowAccess: false, faultInjection: false, storeWideEventIds: false }, async () => {
    const store = await KurrentDbEventStore.connect(kurrent);
    const others: EventStore[] = [];
    return {
      store,
      reopen: async (options?: { upcasters?: UpcasterRegistry }) => {
        const other = await KurrentDbEventStore.connect(kurrent, options);
        others.push(other);
        return other;
      },
      dispose: async () => {
        await Promise.all(others.map((other) => other.close()));
        await store.close();
      },
    };
  });
} else {
  it.skip('kurrentdb adapter', () => undefined);
  console.info('event store contract: skipped the kurrentdb adapter (KURRENTDB_CONNECTION_STRING is not set)');
}

/** A fresh database of one kind: PGlite in memory, or a PostgreSQL database dropped by `drop`. */
async function openSqlDatabase(kind: 'pglite' | 'postgres', name: string, max: number): Promise<{ db: SqlDatabase; drop?: () => Promise<void> }> {
  if (kind === 'pglite') return { db: await PgliteDatabase.open() };
  const database = await createTestDatabase(name);
  return { db: new PostgresDatabase({ connectionString: database.url, max }), drop: () => database.drop() };
}

// Group commit (see AppendGroups): concurrent single-event appends onto existing heads share one
// statement and one transaction. These check that the group statement is what runs, and that a
// group that fails, or whose reply is lost, leaves every member as it would have been alone.
describe.each(['pglite', 'postgres'] as const)('group commit on %s', (kind) => {
  let db: SqlDatabase;
  let store: SqlEventStore;
  let drop: (() => Promise<void>) | undefined;
  /** Each statement the store sent, by prepared name, and whether it succeeded. */
  let sent: { name?: string; ok: boolean }[] = [];
  /** Run after the database answers a group statement, before the store hears it. */
  let afterGroup: (() => void) | undefined;
  beforeAll(async () => {
    ({ db, drop } = await openSqlDatabase(kind, 'caseline_group_commit', 8));
    const query = db.query.bind(db);
    db.query = async <Row,>(text: string, params?: unknown[], name?: string) => {
      try {
        const result = await query<Row>(text, params, name);
        if (name === 'caseline_append_group') afterGroup?.();
        sent.push({ name, ok: true });
        return result;
      } catch (error) {
        sent.push({ name, ok: false });
        throw error;
      }
    };
    store = await SqlEventStore.open(db, { pollIntervalMs: 50 });
  });
  afterEach(() => {
    sent = [];
    afterGroup = undefined;
  });
  afterAll(async () => {
    await store.close();
    await drop?.();
  });

  const opened = async (count: number) => {
    const streams = Array.from({ length: count }, () => testStream());
    for (const stream of streams) await store.append(stream, [testEvent('Opened', {})]);
    sent = [];
    return streams;
  };
  const appendStatements = () => sent.filter((s) => s.name?.startsWith('caseline_append'));

  it('sends concurrent appends onto existing heads together, each with its own version, position and links', async () => {
    const streams = await opened(40);
    const results = await Promise.all(streams.map((stream, i) => store.append(stream, [testEvent('Next', { i })], { expectedVersion: 1 })));
    expect(results.every((r) => r.nextVersion === 2 && !r.replayed)).toBe(true);
    expect(new Set(results.map((r) => r.checkpoint)).size).toBe(40);
    const groups = sent.filter((s) => s.name === 'caseline_append_group');
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.every((g) => g.ok)).toBe(true);
    // Two go at once (nothing under way yet), the rest wait and go as a group.
    expect(appendStatements().length).toBeLessThan(10);
    for (const [i, stream] of streams.entries()) {
      const events = await store.readStream(stream);
      expect(events.map((e) => [e.version, e.data])).toEqual([[1, {}], [2, { i }]]);
      expect(events[1].checkpoint).toBe(results[i].checkpoint);
    }
    expect(await verifyStore(store)).toMatchObject({ ok: true });
  });

  it('takes every kind of member a group can take, and stores exactly what the single path stores', async () => {
    const streams = await opened(14);
    const alone = await SqlEventStore.open(db, { appendGroups: 0, migrate: false });
    const twins = await opened(14);
    const values: unknown[] = [null, 'text "quoted" ü', 0, -1.5e-7, 12345678901234567, true, [], [null, { a: null }], { z: 1, a: [1, 'x', null] }, { '': '😀\n\t' }];
    const expectations = (i: number) => (i < 10 ? 1 : i < 12 ? 'stream_exists' : i === 12 ? 'any' : 7);
    const event = (i: number) => testEvent('Next', values[i % values.length], { correlationId: `c-${i}`, causationId: `k-${i}` });
    const events = streams.map((_, i) => event(i));
    const outcomes = await Promise.allSettled(streams.map((stream, i) => store.append(stream, [events[i]], { expectedVersion: expectations(i) })));
    expect(sent.some((s) => s.name === 'caseline_append_group' && s.ok)).toBe(true);
    expect(sent.some((s) => s.name === 'caseline_append_group' && !s.ok)).toBe(false);
    outcomes.forEach((outcome, i) =>
      i === 13
        ? expect(outcome).toMatchObject({ status: 'rejected', reason: { actualVersion: 1 } })
        : expect(outcome).toMatchObject({ status: 'fulfilled', value: { nextVersion: 2 } }),
    );
    // The same events, alone: the stored jsonb text is the same, metadata but for the event id.
    for (const [i, twin] of twins.entries()) {
      if (i === 13) continue;
      await alone.append(twin, [{ ...events[i], metadata: { ...events[i].metadata, eventId: randomUUID() } }], { expectedVersion: expectations(i) });
    }
    const stored = async (stream: string) =>
      (
        await db.query<{ data: string; metadata: string }>(
          `SELECT data::text AS data, (metadata - 'eventId')::text AS metadata FROM es_events WHERE stream_id = $1 AND version = 2`,
          [stream],
        )
      ).rows[0];
    for (let i = 0; i < 13; i++) expect({ i, ...(await stored(streams[i])) }).toEqual({ i, ...(await stored(twins[i])) });
    expect(await verifyStore(store)).toMatchObject({ ok: true });
  });

  it('sends each member of a group that fails on its own: the others append, the bad one gets its own error', async () => {
    const streams = await opened(20);
    const reused = testEvent('Stored', {});
    await store.append(testStream(), [reused]);
    sent = [];
    const outcomes = await Promise.allSettled(
      streams.map((stream, i) => store.append(stream, [i === 10 ? reused : testEvent('Next', { i })], { expectedVersion: 1 })),
    );
    expect(sent.some((s) => s.name === 'caseline_append_group' && !s.ok)).toBe(true);
    outcomes.forEach((outcome, i) =>
      i === 10
        ? expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(DuplicateEventIdError) })
        : expect(outcome).toMatchObject({ status: 'fulfilled', value: { nextVersion: 2, replayed: false } }),
    );
    // The failed group wrote nothing: every stream holds each of its events once.
    for (const [i, stream] of streams.entries()) expect(await store.streamVersion(stream)).toBe(i === 10 ? 1 : 2);
    expect(await verifyStore(store)).toMatchObject({ ok: true });
  });

  it('answers the members of a group whose reply was lost with what the group stored, and stores nothing twice', async () => {
    const streams = await opened(20);
    afterGroup = () => {
      afterGroup = undefined;
      throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    };
    const events = streams.map((_, i) => testEvent('Next', { i }));
    const results = await Promise.all(streams.map((stream, i) => store.append(stream, [events[i]], { expectedVersion: 1 })));
    expect(sent.some((s) => s.name === 'caseline_append_group' && !s.ok)).toBe(true);
    const replayed = results.filter((r) => r.replayed);
    expect(replayed.length).toBeGreaterThan(0);
    for (const [i, stream] of streams.entries()) {
      const stored = await store.readStream(stream);
      expect(stored.map((e) => e.metadata.eventId)).toEqual([expect.any(String), events[i].metadata.eventId]);
      expect(results[i]).toMatchObject({ nextVersion: 2, checkpoint: stored[1].checkpoint });
    }
  });

  // A head held by another transaction (another process's append, or its group) must hold up no
  // other append: neither the other members of a group nor, by taking the places for groups under
  // way, the appends after it. A held head's append is skipped and waits alone for its turn.
  (kind === 'postgres' ? it : it.skip)(
    'makes no group wait for a head another transaction holds',
    async () => {
      const streams = await opened(28);
      const held = [streams[0], streams[1], streams[16], streams[17]];
      const { connectionString } = db.threadConnection as { connectionString: string };
      const holder = new Client({ connectionString });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM es_streams WHERE stream_id = ANY($1) FOR UPDATE`, [held]);
        let heldDone = 0;
        const append = (stream: string) => {
          const result = store.append(stream, [testEvent('Next', {})], { expectedVersion: 1 });
          if (held.includes(stream)) void result.finally(() => heldDone++).catch(() => undefined);
          return result;
        };
        // Wave 1: the held heads' appends go first, each alone, so that they would take both places
        // for groups under way if they waited there. Wave 2: two free appends take those places,
        // and the held heads wait in the middle of the group that follows them.
        const waves = [streams.slice(0, 14), [streams[14], streams[15], ...streams.slice(16, 28)]];
        const heldResults: Promise<unknown>[] = [];
        for (const wave of waves) {
          const results = wave.map(append);
          heldResults.push(...results.filter((_, i) => held.includes(wave[i])));
          // Every other append completes while the heads are still held: were any group, of one or
          // more, waiting for them, these would hang until the holder commits.
          const free = results.filter((_, i) => !held.includes(wave[i]));
          expect((await Promise.all(free)).map((r) => r.nextVersion)).toEqual(Array(free.length).fill(2));
        }
        expect(sent.some((s) => s.name === 'caseline_append_group' && s.ok)).toBe(true);
        expect(heldDone).toBe(0);
        await holder.query('COMMIT');
        expect(await Promise.all(heldResults)).toMatchObject(Array(4).fill({ nextVersion: 2, replayed: false }));
        expect(await verifyStore(store)).toMatchObject({ ok: true });
      } finally {
        await holder.end();
      }
    },
    15_000,
  );
});

// Whole-store verification hashes the jsonb text PostgreSQL writes without parsing it
// (canonicalJsonOfJsonbText); whatever the value, that must be the canonical form of it.
describe.each(['pglite', 'postgres'] as const)('canonical JSON from jsonb text on %s', (kind) => {
  let db: SqlDatabase;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, drop } = await openSqlDatabase(kind, 'caseline_jsonb', 2));
  });
  afterAll(async () => {
    await db.close();
    await drop?.();
  });

  const text = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));
  const storable = fc.oneof(
    fc.jsonValue().filter((value) => !JSON.stringify(value).includes('\\u0000')),
    fc.dictionary(text, fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(text, { maxLength: 3 }))),
  );

  it('is canonicalJson of the parsed value, for any JSON value', async () => {
    await fc.assert(
      fc.asyncProperty(storable, async (value) => {
        const { rows } = await db.query<{ text: string }>(`SELECT $1::jsonb::text AS text`, [JSON.stringify(value)]);
        expect(canonicalJsonOfJsonbText(rows[0].text)).toBe(canonicalJson(JSON.parse(rows[0].text)));
      }),
      { numRuns: 400 },
    );
  });

  it('copies what it can and falls back where JavaScript would write it otherwise', async () => {
    const cases = [{ b: 1, a: [1, 'x', { d: null, c: true }], 'a b': {}, a0: [] }, { k: 1.5, big: 12345678901234567, e: 1e21, small: 1e-7 }, { 'we"ird\\key': '\n\t"\\', ü: '😀' }];
    for (const value of cases) {
      const { rows } = await db.query<{ text: string }>(`SELECT $1::jsonb::text AS text`, [JSON.stringify(value)]);
      expect(canonicalJsonOfJsonbText(rows[0].text)).toBe(canonicalJson(value));
    }
  });
});

// Whole-store verification on PostgreSQL reads and hashes in worker threads, each over its own
// connection: the same links as this thread computes from the stored events, in the same order.
describe('link reads in worker threads on postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: PostgresDatabase;
  let store: SqlEventStore;
  beforeAll(async () => {
    database = await createTestDatabase('caseline_link_reads');
    db = new PostgresDatabase({ connectionString: database.url, max: 2 });
    store = await SqlEventStore.open(db);
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('answers every stream asked for, by version, whatever order the rows come in', async () => {
    const streams = [testStream('person'), testStream('case'), testStream('case')];
    for (const [n, stream] of streams.entries()) {
      await store.append(stream, [testEvent('A', { n, text: 'ü "quoted"\n' }), testEvent('B', { n: -12, list: [1, 'x', { z: null, a: true }] })]);
    }
    await store.append(streams[0], [testEvent('C', { late: 1.5 })]);
    const asked = [...streams].sort().concat(testStream());
    const hashers = new ContentHashers(1, { ...db.threadConnection, driver: require.resolve('pg') });
    try {
      expect((await hashers.threadIds())[0]).toBeGreaterThan(0);
      expect(await hashers.readLinks(asked)).toEqual((await store.readStored(asked)).map(linkOf));
    } finally {
      await hashers.close();
    }
  });

  it('walks chains in a worker with the verdicts verifyLinks gives, whatever was done to the rows or heads', async () => {
    const tamper = sqlTamper(db);
    const fresh = async () => {
      const stream = testStream('case');
      await store.append(stream, [1, 2, 3, 4, 5].map((n) => testEvent('E', { n })));
      return stream;
    };
    const [altered, removed, reordered, truncated, longHead, intact, longLink, relinked] = await Promise.all([fresh(), fresh(), fresh(), fresh(), fresh(), fresh(), fresh(), fresh()]);
    // Links rewritten by hand: a previous link a byte longer (not 32 bytes), a hash replaced.
    await db.query(`UPDATE es_events SET previous_hash = previous_hash || '\\x00'::bytea WHERE stream_id = $1 AND version = 2`, [longLink]);
    await db.query(`UPDATE es_events SET hash = sha256(hash) WHERE stream_id = $1 AND version = 3`, [relinked]);
    await tamper.alterData(altered, 3, { n: 33 });
    await tamper.remove(removed, 2);
    await tamper.swap(reordered, 2, 4);
    await tamper.truncate(truncated, 4);
    // A head one byte longer than a link: its first 32 bytes still match the last event's.
    await db.query(`UPDATE es_streams SET last_hash = last_hash || '\\x00'::bytea WHERE stream_id = $1`, [longHead]);
    const streams = [altered, removed, reordered, truncated, longHead, intact, longLink, relinked].sort();
    const listed = await store.listStreams({ limit: 10_000 });
    const heads = streams.map((streamId) => listed.find((head) => head.streamId === streamId) ?? { streamId, version: 0, hash: '' });
    // A head without events at all (its rows removed) answers too, in its place.
    const emptied = await fresh();
    await db.query(`DELETE FROM es_events WHERE stream_id = $1`, [emptied]);
    const withEmptied = [...heads, (await store.streamHead(emptied)) ?? { streamId: emptied, version: 0, hash: '' }];
    const expected = verifyPage({ heads: withEmptied, events: await readLinks(store, withEmptied.map((head) => head.streamId)) });
    const problems = Object.fromEntries(withEmptied.map((head, i) => [head.streamId, expected[i].problem ?? 'ok']));
    expect(problems).toEqual({
      [altered]: 'altered',
      [removed]: 'missing_or_reordered',
      [reordered]: 'missing_or_reordered',
      [truncated]: 'head_mismatch',
      [longHead]: 'head_mismatch',
      [intact]: 'ok',
      [longLink]: 'missing_or_reordered',
      [relinked]: 'altered',
      [emptied]: 'head_mismatch',
    });
    const hashers = new ContentHashers(1, { ...db.threadConnection, driver: require.resolve('pg') });
    try {
      expect((await hashers.threadIds())[0]).toBeGreaterThan(0);
      expect(await hashers.verifyChains(withEmptied)).toEqual(expected);
      // The links a worker reads are the stored ones, each in its place: one of another length
      // (longLink) shifts none of those after it.
      expect(await hashers.readLinks(streams)).toEqual((await store.readStored(streams)).map(linkOf));
    } finally {
      await hashers.close();
    }
  });

  it('reports a database it cannot reach with the driver error code (a StoreUnavailableError to the store)', async () => {
    const hashers = new ContentHashers(1, { connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000, driver: require.resolve('pg') });
    try {
      await expect(hashers.readLinks(['case-1'])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await hashers.close();
    }
  });
});
