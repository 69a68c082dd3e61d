import { hostname } from 'node:os';
import type { EventStore, ReadAllBatch, SqlDatabase, SqlQueryable } from '@caseline/event-store';
import { shadowTables, type Projection } from './projection';
import { acquireLease, CheckpointedWriter, lockProjection } from './projector';

export interface RebuildProgress {
  projection: string;
  /** Events read by this rebuild so far (including those of a resumed run). */
  events: number;
  /** Events per second over this run. */
  rate: number;
  phase: 'filling' | 'swapping' | 'done';
}

export interface RebuildOptions {
  store: EventStore;
  db: SqlDatabase;
  projection: Projection;
  batchSize?: number;
  leaseMs?: number;
  /** Lease holder name (default `rebuild@<hostname>`). */
  owner?: string;
  onProgress?(progress: RebuildProgress): void;
}

const rebuildName = (projection: string) => `${projection}~rebuild`;

/**
 * Blue/green rebuild of one projection. The shadow tables (`<table>__next`) fill from the first
 * event while the live tables keep serving; then the rebuild takes the live projection's lease,
 * catches up the last events, and in one transaction renames the shadows into place and hands the
 * projection back at the rebuild's checkpoint. Its own checkpoint commits with every batch, so a
 * rebuild that crashed resumes where it stood when started again.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<{ events: number; seconds: number }> {
  const { store, db, projection } = options;
  const name = rebuildName(projection.name);
  // The same host asking again resumes at once after a crash (its own lease); a rebuild started
  // elsewhere waits for the lease to run out. Two on one host are still safe: each acquisition
  // raises the fence, and the older one's next batch is refused.
  const owner = options.owner ?? `rebuild@${hostname()}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const batchSize = options.batchSize ?? 5_000;
  const started = Date.now();

  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [name]);
    const { rows } = await tx.query(`SELECT 1 FROM projection_checkpoints WHERE name = $1`, [name]);
    if (rows.length) return; // resuming: the shadow tables hold what the last run committed
    for (const table of projection.tables) {
      await tx.query(`DROP TABLE IF EXISTS ${shadowTables(table.name)}`);
      await tx.query(`CREATE TABLE ${shadowTables(table.name)} (LIKE ${table.name} INCLUDING ALL)`);
    }
    await tx.query(`DELETE FROM projection_dead_letters WHERE projection = $1`, [name]);
    await tx.query(`INSERT INTO projection_checkpoints (name) VALUES ($1)`, [name]);
  });
  const lease = await acquireLease(db, name, owner, leaseMs);
  if (!lease) throw new Error(`another rebuild of ${projection.name} is running`);
  const { rows: done } = await db.query<{ events: string }>(`SELECT events::text AS events FROM projection_checkpoints WHERE name = $1`, [name]);
  const resumedEvents = Number(done[0]?.events ?? 0);
  let events = resumedEvents;
  const writer = new CheckpointedWriter({ db, projection, checkpointName: name, fence: lease.fence, checkpoint: lease.checkpoint, tables: shadowTables });
  const report = (phase: RebuildProgress['phase']) =>
    options.onProgress?.({ projection: projection.name, events, rate: (events - resumedEvents) / Math.max(0.001, (Date.now() - started) / 1000), phase });
  /** Reads and applies batches until fewer than a full batch come back (near the head). */
  const fillFrom = async (untilEmpty: boolean): Promise<void> => {
    // Why the next read starts before the current batch commits: reading and writing then
    // overlap, on PostgreSQL on two connections.
    let next: Promise<ReadAllBatch> = store.readAll({ after: writer.checkpoint, maxCount: batchSize });
    for (;;) {
      const batch = await next;
      if (batch.events.length === 0) return;
      const more = batch.events.length === batchSize;
      if (more || untilEmpty) next = store.readAll({ after: batch.checkpoint, maxCount: batchSize });
      await writer.project(batch.events, batch.checkpoint as string);
      await extendLease(db, name, owner, lease.fence, leaseMs);
      events += batch.events.length;
      report('filling');
      if (!more && !untilEmpty) return;
    }
  };

  await fillFrom(false);
  // Pause the live projection: take its lease (raising its fence, so a batch it has in flight
  // fails to commit), then bring the shadows to the head and swap in one transaction.
  report('swapping');
  const live = await takeLease(db, projection.name, owner, leaseMs);
  await fillFrom(true);
  await db.transaction(async (tx) => {
    await lockProjection(tx, name, lease.fence, writer.checkpoint);
    await lockProjection(tx, projection.name, live.fence, live.checkpoint);
    for (const table of projection.tables) await swapTable(tx, table.name);
    await tx.query(
      `UPDATE projection_checkpoints AS live
          SET checkpoint = rebuilt.checkpoint, events = rebuilt.events, last_event_at = rebuilt.last_event_at, owner = NULL, lease_expires_at = NULL, updated_at = now()
         FROM projection_checkpoints AS rebuilt
        WHERE live.name = $1 AND rebuilt.name = $2`,
      [projection.name, name],
    );
    await tx.query(`DELETE FROM projection_checkpoints WHERE name = $1`, [name]);
    await tx.query(`DELETE FROM projection_dead_letters WHERE projection = $1`, [projection.name]);
    await tx.query(`UPDATE projection_dead_letters SET projection = $1 WHERE projection = $2`, [projection.name, name]);
  });
  report('done');
  return { events: events - resumedEvents, seconds: (Date.now() - started) / 1000 };
}

async function extendLease(db: SqlQueryable, name: string, owner: string, fence: string, leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE projection_checkpoints SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000) WHERE name = $1 AND owner = $2 AND fence = $3`,
    [name, owner, fence, leaseMs],
  );
}

/** Takes a projection's lease whoever holds it (the live projector's next commit then fails its fence check). */
async function takeLease(db: SqlQueryable, name: string, owner: string, leaseMs: number): Promise<{ fence: string; checkpoint: string | undefined }> {
  await db.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
  const { rows } = await db.query<{ fence: string; checkpoint: string | null }>(
    `UPDATE projection_checkpoints SET owner = $2, fence = fence + 1, lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
      WHERE name = $1 RETURNING fence::text AS fence, checkpoint`,
    [name, owner, leaseMs],
  );
  return { fence: rows[0].fence, checkpoint: rows[0].checkpoint ?? undefined };
}

/**
 * Puts `<table>__next` in the place of `<table>`. Index and constraint names are carried over, so
 * the swapped-in table looks exactly like the one the migrations made.
 */
async function swapTable(tx: SqlQueryable, table: string): Promise<void> {
  const shadow = shadowTables(table);
  const indexes = async (relation: string) =>
    (
      await tx.query<{ name: string; definition: string }>(
        `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
          WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace`,
        [relation],
      )
    ).rows.map((row) => ({ name: row.name, shape: row.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, '$1') }));
  const old = await indexes(table);
  await tx.query(`ALTER TABLE ${table} RENAME TO ${table}__old`);
  await tx.query(`ALTER TABLE ${shadow} RENAME TO ${table}`);
  await tx.query(`DROP TABLE ${table}__old`);
  for (const index of await indexes(table)) {
    const original = old.find((candidate) => candidate.shape === index.shape);
    if (original && original.name !== index.name) await tx.query(`ALTER INDEX "${index.name}" RENAME TO "${original.name}"`);
  }
}
