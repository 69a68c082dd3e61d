import { randomUUID } from 'node:crypto';
import { streamCategories } from '@caseline/domain';
import { PgliteDatabase, PostgresDatabase, SqlEventStore, type SqlDatabase } from '@caseline/event-store';
import { createTestDatabase, type TestDatabase } from '@caseline/event-store/testing';
import { caseworkProjections } from './casework-projections';
import { projectBatch, shadowTables } from './projection';
import { acquireLease, CheckpointedWriter, commitAtOnce, LeaseLostError, Projector, projectionStatus } from './projector';
import { migrations } from './read-models/migrations';
import { ReadModels1763900000000 } from './read-models/migrations/1763900000000-read-models';
import { ReadModels } from './read-models/read-model-database';
import { rebuildProjection, rebuildProjections } from './rebuild';
import { appendCaseStory, caseworkEvent, dumpTables, freshReplay, until } from './testing/history';

// The projector against real databases: exactly-once effects, poison events, leases, rebuilds.

type Adapter = 'pglite' | 'postgres';

describe.each<Adapter>(['pglite', 'postgres'])('projector (%s)', (adapter) => {
  let database: TestDatabase | undefined;
  let db: SqlDatabase;
  let store: SqlEventStore;
  let readModels: ReadModels;
  const projectors: Projector[] = [];

  beforeEach(async () => {
    head = undefined;
    if (adapter === 'postgres') {
      database = await createTestDatabase('caseline_projector');
      db = new PostgresDatabase({ connectionString: database.url, max: 10 });
    } else db = await PgliteDatabase.open();
    store = await SqlEventStore.open(db, { categories: streamCategories, pollIntervalMs: 100 });
    readModels = await ReadModels.open(db);
  });

  afterEach(async () => {
    await Promise.all(projectors.splice(0).map((projector) => projector.stop()));
    await readModels.close();
    await store.close();
    await database?.drop();
    database = undefined;
  });

  const start = (options: Partial<ConstructorParameters<typeof Projector>[0]> = {}) => {
    const projector = new Projector({ store, db, projections: caseworkProjections, leaseMs: 1_000, batchSize: 5, ...options });
    projectors.push(projector);
    projector.start();
    return projector;
  };

  /** The last checkpoint this test appended (appends here are sequential: the latest is the last). */
  let head: string | undefined;
  const story = async () => {
    const appended = await appendCaseStory(store);
    head = appended.checkpoint;
    return appended;
  };
  const replay = () => freshReplay(db, store, caseworkProjections, head);

  const caughtUp = async (projector: Projector) => {
    const status = await projector.status();
    return status.every((s) => s.checkpoint !== null && head !== undefined && store.compareCheckpoints(s.checkpoint, head) >= 0);
  };

  it('has migrations that create exactly what the entities describe', async () => {
    expect(await readModels.pendingSchemaChanges()).toEqual([]);
  });

  it('catches up, then follows new events; the tables equal a fresh replay', async () => {
    await story();
    const projector = start();
    await until(() => caughtUp(projector));
    const second = await story();
    await until(() => caughtUp(projector));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
    const { rows } = await db.query<{ status: string; overdue: unknown }>(`SELECT status FROM rm_referrals WHERE referral_id = $1`, [second.referralId]);
    expect(rows).toEqual([{ status: 'service_started' }]);
    const status = await projector.status();
    expect(status.map((s) => [s.name, s.eventsBehind, s.deadLetters])).toEqual(caseworkProjections.map((p) => [p.name, 0, 0]));
    expect(status.every((s) => s.eventsProjected === 24)).toBe(true);
  });

  it('changes nothing when events are delivered again', async () => {
    await story();
    const projector = start();
    await until(() => caughtUp(projector));
    await projector.stop();
    const before = await dumpTables(db, caseworkProjections);
    // A delivery from before the checkpoint (a subscription restarted from an old cursor) is refused whole.
    const { events } = await store.readAll({ maxCount: 100 });
    const lease = await acquireLease(db, 'cases', 'redeliverer', 1_000);
    const stale = new CheckpointedWriter({ db, projection: caseworkProjections[1], checkpointName: 'cases', fence: lease?.fence as string, checkpoint: undefined });
    await expect(stale.project(events, events[events.length - 1].checkpoint)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await dumpTables(db, caseworkProjections)).toEqual(before);
    // A writer at the right checkpoint whose lease was taken over (an older fence) writes nothing either.
    const [status] = await projectionStatus(store, db, ['cases']);
    const taken = await acquireLease(db, 'cases', 'redeliverer', 1_000); // a new acquisition raises the fence
    expect(Number(taken?.fence)).toBe(Number(lease?.fence) + 1);
    await appendCaseStory(store);
    const { events: unseen } = await store.readAll({ after: status.checkpoint ?? undefined, maxCount: 100 });
    expect(unseen.length).toBeGreaterThan(0);
    const overtaken = new CheckpointedWriter({ db, projection: caseworkProjections[1], checkpointName: 'cases', fence: lease?.fence as string, checkpoint: status.checkpoint ?? undefined });
    const cases = await dumpTables(db, [caseworkProjections[1]]);
    await expect(overtaken.project(unseen, unseen[unseen.length - 1].checkpoint)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await dumpTables(db, [caseworkProjections[1]])).toEqual(cases);
    // And applying every event twice gives the rows of applying each once.
    for (const projection of caseworkProjections) {
      for (const table of projection.tables) await db.exec(`CREATE TABLE ${shadowTables(table.name)} (LIKE ${table.name} INCLUDING ALL)`);
      await db.transaction(async (tx) => {
        await projectBatch(tx, projection, events, shadowTables);
        await projectBatch(tx, projection, events, shadowTables);
      });
    }
    expect(await dumpTables(db, caseworkProjections, shadowTables)).toEqual(before);
  });

  it('commits several writers in one statement: one that lost its lease writes nothing, the others all', async () => {
    await story();
    const { events } = await store.readAll({ maxCount: 100 });
    const checkpoint = events[events.length - 1].checkpoint;
    const [people, cases, referrals, timeline] = caseworkProjections;
    const leases = await Promise.all(caseworkProjections.map((projection) => acquireLease(db, projection.name, 'grouped', 1_000)));
    const writers = caseworkProjections.map(
      (projection, i) => new CheckpointedWriter({ db, projection, checkpointName: projection.name, fence: leases[i]?.fence as string, checkpoint: undefined }),
    );
    // Another process takes the cases lease (raising its fence) before the group commits.
    expect(await acquireLease(db, cases.name, 'grouped', 1_000)).toBeDefined();
    const parts = await Promise.all(writers.map(async (writer) => ({ held: writer.held, prepared: await writer.prepare(events), events })));
    const committed = await commitAtOnce(db, parts, checkpoint);
    expect([...committed].sort()).toEqual([people.name, referrals.name, timeline.name].sort());
    const status = await projectionStatus(store, db, caseworkProjections.map((projection) => projection.name));
    expect(status.map((s) => [s.name, s.checkpoint, s.eventsProjected])).toEqual([
      [people.name, checkpoint, events.length],
      [cases.name, null, 0],
      [referrals.name, checkpoint, events.length],
      [timeline.name, checkpoint, events.length],
    ]);
    const rows = async (table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    expect([await rows('rm_people'), await rows('rm_referrals'), await rows('rm_timeline')].every((n) => n > 0)).toBe(true);
    expect([await rows('rm_cases'), await rows('rm_follow_ups'), await rows('rm_welfare_checks')]).toEqual([0, 0, 0]);
    // What did commit equals a fresh replay of those projections.
    const projected = [people, referrals, timeline];
    expect(await dumpTables(db, projected)).toEqual(await freshReplay(db, store, projected, checkpoint));
  });

  it('projects a group whose projections stand at different checkpoints, each event once per projection', async () => {
    await story();
    // People alone runs first and reaches the head; the others have not started.
    const alone = start({ projections: [caseworkProjections[0]], owner: 'people-only' });
    await until(async () => (await alone.status())[0].checkpoint === head);
    await alone.stop();
    await story();
    const projector = start();
    await until(() => caughtUp(projector));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
    expect((await projector.status()).map((s) => s.eventsProjected)).toEqual(caseworkProjections.map(() => 24));
  });

  it('parks a poison event in the dead letters and goes on with the events after it', async () => {
    const { caseId } = await story();
    // A completion of a follow-up that was never scheduled: the cases projection cannot handle it.
    await store.append(`case-${caseId}`, [caseworkEvent('FollowUpCompleted', { caseId, followUpId: randomUUID(), outcome: 'x', note: null, completedAt: new Date().toISOString() })]);
    head = (await store.append(`case-${caseId}`, [caseworkEvent('CaseClosed', { caseId, disposition: 'resolved', note: null, closedAt: new Date().toISOString() })])).checkpoint;
    const projector = start({ maxAttempts: 2 });
    await until(() => caughtUp(projector));
    const { rows: letters } = await db.query<{ projection: string; event_type: string; error: string; attempts: number }>(
      `SELECT projection, event_type, error, attempts FROM projection_dead_letters`,
    );
    expect(letters).toEqual([{ projection: 'cases', event_type: 'FollowUpCompleted', error: expect.stringContaining('no rm_follow_ups row'), attempts: 2 }]);
    const { rows } = await db.query(`SELECT status FROM rm_cases WHERE case_id = $1`, [caseId]);
    expect(rows).toEqual([{ status: 'closed' }]);
    const status = await projector.status();
    expect(status.find((s) => s.name === 'cases')?.deadLetters).toBe(1);
    expect(status.find((s) => s.name === 'timeline')?.deadLetters).toBe(0);
  });

  it('parks no event when a statement does not fit the schema (class 42): it stops, and projects everything once the schema fits', async () => {
    await story();
    await db.query(`ALTER TABLE rm_timeline RENAME TO rm_timeline_elsewhere`);
    const stopped: string[] = [];
    const projector = start({ maxAttempts: 2, log: (level, message) => void (level === 'error' && stopped.push(message)) });
    await until(async () => stopped.length >= 2);
    const { rows: letters } = await db.query(`SELECT projection, error FROM projection_dead_letters`);
    expect(letters).toEqual([]);
    expect((await projector.status()).find((s) => s.name === 'timeline')?.checkpoint).toBeNull();
    await db.query(`ALTER TABLE rm_timeline_elsewhere RENAME TO rm_timeline`);
    await until(() => caughtUp(projector));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
    expect((await projector.status()).map((s) => s.deadLetters)).toEqual(caseworkProjections.map(() => 0));
  });

  it('runs each projection in one projector at a time; another takes over when it stops', async () => {
    const a = start({ owner: 'projector-a' });
    await until(async () => (await a.status()).every((s) => s.owner === 'projector-a'));
    const b = start({ owner: 'projector-b' });
    await story();
    await until(() => caughtUp(a));
    expect((await b.status()).map((s) => s.owner)).toEqual(caseworkProjections.map(() => 'projector-a'));
    await a.stop();
    await until(async () => (await b.status()).every((s) => s.owner === 'projector-b'));
    await story();
    await until(() => caughtUp(b));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
  });

  it('projects the projections it holds while another process holds the rest, and takes those when they come free', async () => {
    const [people, cases, referrals, timeline] = caseworkProjections.map((projection) => projection.name);
    // Another projector (not running here) holds two leases for a long while.
    for (const name of [cases, timeline]) expect(await acquireLease(db, name, 'projector-elsewhere', 60_000)).toBeDefined();
    const projector = start({ owner: 'projector-here', leaseMs: 300 });
    await story();
    const ownedHere = async () => (await projector.status()).filter((s) => s.owner === 'projector-here').map((s) => s.name);
    await until(async () => {
      const status = await projector.status();
      return status.filter((s) => s.name === people || s.name === referrals).every((s) => s.checkpoint === head);
    });
    expect(await ownedHere()).toEqual([people, referrals]);
    const untouched = await projectionStatus(store, db, [cases, timeline]);
    expect(untouched.map((s) => [s.checkpoint, s.eventsProjected])).toEqual([
      [null, 0],
      [null, 0],
    ]);
    // The other process stops and hands its leases back: the heartbeat notices, the next round takes them.
    await db.query(`UPDATE projection_checkpoints SET owner = NULL, lease_expires_at = NULL WHERE owner = 'projector-elsewhere'`);
    await until(() => caughtUp(projector));
    expect(await ownedHere()).toEqual([people, cases, referrals, timeline]);
    await story();
    await until(() => caughtUp(projector));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
  });

  it('rebuilds blue/green while the live tables serve, resumes after a crash, and swaps in the same schema', async () => {
    await story();
    await story();
    const projector = start();
    await until(() => caughtUp(projector));
    const live = await dumpTables(db, caseworkProjections);
    const timeline = caseworkProjections[3];
    // First run dies after its second batch.
    let batches = 0;
    await expect(
      rebuildProjection({
        store,
        db,
        projection: timeline,
        batchSize: 5,
        onProgress: () => {
          if (++batches === 2) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    // The live tables kept serving, untouched; the shadow holds what the dead run committed.
    expect(await dumpTables(db, caseworkProjections)).toEqual(live);
    const { rows: shadow } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rm_timeline__next`);
    expect(shadow[0].n).toBeGreaterThan(0);
    // New events arrive during the second run, which resumes and swaps.
    const resumed = rebuildProjection({ store, db, projection: timeline, batchSize: 5, leaseMs: 1_000 });
    await story();
    const result = await resumed;
    expect(result.events).toBeGreaterThan(0);
    await story();
    await until(() => caughtUp(projector));
    expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
    expect(await readModels.pendingSchemaChanges()).toEqual([]);
    const { rows: leftovers } = await db.query(`SELECT name FROM projection_checkpoints WHERE name LIKE '%~rebuild'`);
    expect(leftovers).toEqual([]);
    const status = await projectionStatus(store, db, ['timeline']);
    expect(status[0].eventsProjected).toBe(48);
  });

  it('rebuilds every read model in one pass; text that COPY must escape arrives exactly', async () => {
    await story();
    const { personId } = await story();
    const awkward = 'back\\slash \\N tab\there\nnew line\r\n "quoted" émigré 🏠 \u2028';
    const registeredAt = new Date().toISOString();
    // A name corrected (upserted into a row the rebuild already holds), and people registered in
    // the rebuild's batches (appended by COPY): four with names of 240 kB in two- and four-byte
    // characters, together more than one chunk of COPY input.
    await store.append(`person-${personId}`, [caseworkEvent('PersonDetailsCorrected', { personId, changes: { givenName: awkward }, correctedAt: registeredAt })]);
    const long = Array.from({ length: 4 }, (_, i) => `${i}${'é🏠'.repeat(40_000)}${awkward}`);
    const registered = [awkward, ...long].map((familyName) => ({ personId: randomUUID(), familyName }));
    for (const { personId: id, familyName } of registered) {
      head = (await store.append(`person-${id}`, [caseworkEvent('PersonRegistered', { personId: id, givenName: awkward, familyName, registeredAt })])).checkpoint;
    }
    for (const batchSize of [4, 1_000]) {
      // No batch went the slow way: it would hide a row COPY could not take (the slow way upserts it).
      expect(await rebuildProjections({ store, db, projections: caseworkProjections, batchSize })).toMatchObject({ retried: 0 });
      expect(await dumpTables(db, caseworkProjections)).toEqual(await replay());
      const { rows } = await db.query<{ person_id: string; given: string; family: string }>(
        `SELECT person_id, given_name->>'value' AS given, family_name->>'value' AS family FROM rm_people WHERE person_id = ANY($1::uuid[])`,
        [[personId, ...registered.map((person) => person.personId)]],
      );
      const byId = new Map(rows.map((row) => [row.person_id, row]));
      expect(byId.get(personId)).toMatchObject({ given: awkward, family: 'sealed-family' });
      for (const person of registered) expect(byId.get(person.personId)).toMatchObject({ given: awkward, family: person.familyName });
      // Append-only tables got their primary keys after the fill: the schema is still the migrations'.
      expect(await readModels.pendingSchemaChanges()).toEqual([]);
    }
  });

  it('rebuilds an append-only table in which two events put the same key: the later row stays, as live', async () => {
    // Welfare-check ids are unique within a case only; imported histories may repeat one.
    const shared = randomUUID();
    const check = (caseId: string, outcome: string) =>
      caseworkEvent('WelfareCheckRecorded', { caseId, welfareCheckId: shared, performedAt: new Date().toISOString(), location: 'l', outcome, observations: 'o', recordedAt: new Date().toISOString() });
    const first = await story();
    const second = await story();
    await store.append(`case-${first.caseId}`, [check(first.caseId, 'safe')]);
    await store.append(`case-${second.caseId}`, [check(second.caseId, 'no_contact')]);
    head = (await store.append(`case-${first.caseId}`, [check(first.caseId, 'referred')])).checkpoint;
    const projector = start();
    await until(() => caughtUp(projector));
    const live = await dumpTables(db, caseworkProjections);
    for (const batchSize of [2, 1_000]) {
      await rebuildProjections({ store, db, projections: caseworkProjections, batchSize });
      expect(await dumpTables(db, caseworkProjections)).toEqual(live);
      expect(await readModels.pendingSchemaChanges()).toEqual([]);
    }
    const { rows } = await db.query(`SELECT case_id, outcome FROM rm_welfare_checks WHERE welfare_check_id = $1`, [shared]);
    expect(rows).toEqual([{ case_id: first.caseId, outcome: 'referred' }]);
  });

  it('parks a poison event met during a rebuild and goes on with the events after it', async () => {
    const { caseId } = await story();
    await store.append(`case-${caseId}`, [caseworkEvent('FollowUpCompleted', { caseId, followUpId: randomUUID(), outcome: 'x', note: null, completedAt: new Date().toISOString() })]);
    await store.append(`case-${caseId}`, [caseworkEvent('CaseClosed', { caseId, disposition: 'resolved', note: null, closedAt: new Date().toISOString() })]);
    await story();
    await rebuildProjections({ store, db, projections: caseworkProjections, batchSize: 3 });
    const { rows: letters } = await db.query<{ projection: string; event_type: string }>(`SELECT projection, event_type FROM projection_dead_letters`);
    expect(letters).toEqual([{ projection: 'cases', event_type: 'FollowUpCompleted' }]);
    const { rows: cases } = await db.query<{ status: string }>(`SELECT status FROM rm_cases WHERE case_id = $1`, [caseId]);
    expect(cases).toEqual([{ status: 'closed' }]);
    const { rows: counts } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rm_cases`);
    expect(counts[0].n).toBe(2);
  });

  it('takes its projection back after a rebuild took the lease while nothing was arriving', async () => {
    await story();
    const projector = start({ leaseMs: 300 });
    await until(() => caughtUp(projector));
    await rebuildProjection({ store, db, projection: caseworkProjections[3], leaseMs: 300 });
    // Idle for several lease periods: the heartbeat, not a batch, finds the lease gone.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await story();
    await until(() => caughtUp(projector), 10_000);
    expect((await projector.status()).map((s) => s.owner)).toEqual(caseworkProjections.map(() => projector.owner));
  });

  it('upgrades a timeline that copied its events: the migration restarts that projection alone, which fills it again', async () => {
    const fresh = adapter === 'postgres' ? await createTestDatabase('caseline_upgrade') : undefined;
    const older = fresh ? new PostgresDatabase({ connectionString: fresh.url, max: 4 }) : await PgliteDatabase.open();
    const olderStore = await SqlEventStore.open(older, { categories: streamCategories, pollIntervalMs: 100 });
    let projector: Projector | undefined;
    try {
      await (await ReadModels.open(older, { migrations: [ReadModels1763900000000] })).close();
      const { caseId, checkpoint } = await appendCaseStory(olderStore);
      // What the first schema's projector left: entries copying their event, every checkpoint at the head.
      await older.query(
        `INSERT INTO rm_timeline (event_id, case_id, seq, at, type, actor, visibility, data) VALUES ($1, $2, 1, now(), 'CaseOpened', '{"id":"sw-1"}', 'team', '{"summary":"copied"}')`,
        [randomUUID(), caseId],
      );
      await older.query(`INSERT INTO projection_checkpoints (name, checkpoint, events, fence) SELECT name, $1, 24, 3 FROM unnest($2::text[]) AS name`, [
        checkpoint,
        caseworkProjections.map((projection) => projection.name),
      ]);
      const upgraded = await ReadModels.open(older);
      expect(await upgraded.pendingSchemaChanges()).toEqual([]);
      await upgraded.close();
      const { rows } = await older.query<{ name: string; checkpoint: string | null; events: string; fence: string; owner: string | null }>(
        `SELECT name, checkpoint, events::text AS events, fence::text AS fence, owner FROM projection_checkpoints ORDER BY name`,
      );
      expect(rows).toEqual(
        caseworkProjections
          .map((projection) => projection.name)
          .sort()
          .map((name) =>
            name === 'timeline'
              ? { name, checkpoint: null, events: '0', fence: '4', owner: 'migration:TimelinePointsIntoTheLog1764800000000' }
              : { name, checkpoint, events: '24', fence: '3', owner: null },
          ),
      );
      // A projector of the first build, still running in a rolling upgrade, takes leases by this
      // rule (its statement, verbatim): the parked timeline is not for it to replay into.
      const { rows: retaken } = await older.query(
        `UPDATE projection_checkpoints
            SET owner = $2, fence = fence + 1, lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE name = $1 AND (owner IS NULL OR owner = $2 OR lease_expires_at IS NULL OR lease_expires_at < now())
          RETURNING fence::text AS fence, checkpoint`,
        ['timeline', 'projector-of-the-first-build', 60_000],
      );
      expect(retaken).toEqual([]);
      const { rows: left } = await older.query<{ n: number }>(`SELECT (SELECT count(*) FROM rm_timeline)::int + (SELECT count(*) FROM rm_timeline_referrals)::int AS n`);
      expect(left[0].n).toBe(0);
      // The projector fills the timeline again from the first event; the other tables it leaves be.
      const timelineOnly = caseworkProjections.filter((projection) => projection.name === 'timeline');
      projector = new Projector({ store: olderStore, db: older, projections: timelineOnly, leaseMs: 1_000, batchSize: 5 });
      projector.start();
      await until(async () => {
        const [status] = (await projector?.status()) ?? [];
        return status?.checkpoint != null && olderStore.compareCheckpoints(status.checkpoint, checkpoint) >= 0;
      });
      expect(await dumpTables(older, timelineOnly)).toEqual(await freshReplay(older, olderStore, timelineOnly, checkpoint));
    } finally {
      await projector?.stop();
      await olderStore.close();
      await fresh?.drop();
    }
  }, 20_000);

  if (adapter === 'postgres') {
    // Two processes migrating one database at once, from nothing or from the first schema. Several
    // rounds each: without the retries in ReadModels.open most rounds fail (both see a migration
    // pending before either takes the lock; the second then meets what the first did).
    it.each([
      ['a new database', []],
      ['a database of the first schema', [ReadModels1763900000000]],
    ])('migrates once when two processes start on %s at the same time', async (_, before) => {
      const fresh = await createTestDatabase('caseline_migrate');
      const pools = [new PostgresDatabase({ connectionString: fresh.url, max: 2 }), new PostgresDatabase({ connectionString: fresh.url, max: 2 })];
      try {
        for (let round = 0; round < 3; round++) {
          await pools[0].query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
          if (before.length) await (await ReadModels.open(pools[0], { migrations: before })).close();
          const opened = await Promise.all(pools.map((pool) => ReadModels.open(pool)));
          expect(await opened[0].pendingSchemaChanges()).toEqual([]);
          const { rows } = await pools[0].query<{ name: string }>(`SELECT name FROM read_model_migrations ORDER BY id`);
          expect(rows.map((row) => row.name)).toEqual(migrations.map((migration) => new migration().name));
          await Promise.all(opened.map((models) => models.close()));
        }
      } finally {
        await Promise.all(pools.map((pool) => pool.close()));
        await fresh.drop();
      }
    });
  }
});
