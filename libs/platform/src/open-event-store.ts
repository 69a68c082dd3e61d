import { join } from 'node:path';
import { streamCategories } from '@caseline/domain';
import { PgliteDatabase, PostgresDatabase, SqlEventStore, type EventStore } from '@caseline/event-store';
import type { AppConfig } from './config';

/** Opens the configured event store: PostgreSQL, embedded PGlite (default) or KurrentDB. */
export async function openEventStore(config: AppConfig): Promise<EventStore> {
  const limits = { categories: streamCategories, maxEventBytes: config.maxEventBytes };
  if (config.eventStore === 'kurrentdb') {
    // Loaded only when asked for: the gRPC client is heavy and most deployments run PostgreSQL.
    const { KurrentDbEventStore } = await import('@caseline/event-store/kurrentdb');
    return KurrentDbEventStore.connect(config.kurrentdbConnectionString as string, limits);
  }
  const db = config.databaseUrl ? new PostgresDatabase({ connectionString: config.databaseUrl, max: config.databasePoolSize }) : await PgliteDatabase.open(join(config.dataDir, 'pglite'));
  try {
    return await SqlEventStore.open(db, limits);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}
