import { join } from 'node:path';
import { resolve } from 'node:path';
import { streamCategories } from '@caseline/domain';
import { PgliteDatabase, PostgresDatabase, SqlEventStore, type EventStore, type SqlDatabase } from '@caseline/event-store';

/** What the projector needs of the service's configuration (SPEC §7): where events and read models live. */
export interface ProjectorEnvironment {
  store: EventStore;
  /** The read models' database (the events' own when they are in PostgreSQL/PGlite). */
  db: SqlDatabase;
  leaseMs: number;
  /** Events per batch (PROJECTOR_BATCH_SIZE; live default 500, rebuild default 5,000). */
  batchSize?: number;
  close(): Promise<void>;
}

export class EnvironmentError extends Error {}

export async function openEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ProjectorEnvironment> {
  const leaseMs = Number(env.PROJECTOR_LEASE_MS ?? 10_000);
  if (!Number.isInteger(leaseMs) || leaseMs < 100 || leaseMs > 600_000) throw new EnvironmentError('PROJECTOR_LEASE_MS: must be a whole number from 100 to 600000');
  const batchSize = env.PROJECTOR_BATCH_SIZE ? Number(env.PROJECTOR_BATCH_SIZE) : undefined;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000)) throw new EnvironmentError('PROJECTOR_BATCH_SIZE: must be a whole number from 1 to 50000');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new EnvironmentError('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  // PGlite belongs to one process: with the embedded default, stop the API before running this.
  const db = databaseUrl
    ? new PostgresDatabase({ connectionString: databaseUrl, max: Number(env.DATABASE_POOL_SIZE ?? 8) || 8 })
    : await PgliteDatabase.open(join(resolve(env.DATA_DIR ?? './data'), 'pglite'));
  const eventStore = env.EVENT_STORE ?? 'postgres';
  let store: EventStore;
  if (eventStore === 'kurrentdb') {
    if (!env.KURRENTDB_CONNECTION_STRING) throw new EnvironmentError('KURRENTDB_CONNECTION_STRING: is required when EVENT_STORE=kurrentdb');
    const { KurrentDbEventStore } = await import('@caseline/event-store/kurrentdb');
    store = await KurrentDbEventStore.connect(env.KURRENTDB_CONNECTION_STRING, { categories: streamCategories });
  } else if (eventStore === 'postgres') store = await SqlEventStore.open(db, { categories: streamCategories });
  else throw new EnvironmentError(`EVENT_STORE: must be postgres or kurrentdb, not "${eventStore}"`);
  return {
    store,
    db,
    leaseMs,
    batchSize,
    async close() {
      await store.close();
      // A SQL store closes its own database.
      if (!(store instanceof SqlEventStore)) await db.close();
    },
  };
}
