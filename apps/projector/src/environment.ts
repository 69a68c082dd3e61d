import { ConfigError, loadConfig, openEventStore, openSideDatabase } from '@caseline/platform';
import { SqlEventStore, type EventStore, type SqlDatabase } from '@caseline/event-store';

/** What the projector needs: the service's own configuration (SPEC §7) plus its lease and batch settings. */
export interface ProjectorEnvironment {
  store: EventStore;
  /** The read models' database (the events' own when they are in PostgreSQL/PGlite). */
  db: SqlDatabase;
  leaseMs: number;
  /** Events per batch (PROJECTOR_BATCH_SIZE; live default 500, rebuild default 5,000). */
  batchSize?: number;
  close(): Promise<void>;
}

export { ConfigError as EnvironmentError };

function whole(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  return value;
}

export async function openEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ProjectorEnvironment> {
  const leaseMs = whole(env, 'PROJECTOR_LEASE_MS', 100, 600_000) ?? 10_000;
  const batchSize = whole(env, 'PROJECTOR_BATCH_SIZE', 1, 50_000);
  // The same configuration as the API. PGlite belongs to one process: with the embedded default,
  // stop the API before running this.
  const config = loadConfig(env);
  const store = await openEventStore(config);
  const db = await openSideDatabase(config, store);
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
