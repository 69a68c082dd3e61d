import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { loadConfig, type AppConfig } from '@caseline/api-platform';
import { streamCategories } from '@caseline/domain';
import { PgliteDatabase, PostgresDatabase, SqlEventStore, type EventStore, type SqlDatabase } from '@caseline/event-store';
import { createTestDatabase, type TestDatabase } from '@caseline/event-store/testing';
import { createApp } from '@caseline/api-app';

export type Adapter = 'pglite' | 'postgres';
export const ADAPTERS: Adapter[] = ['pglite', 'postgres'];
export type Role = 'officer' | 'social_worker' | 'supervisor' | 'auditor' | 'admin';

export interface ApiHarness {
  adapter: Adapter;
  app: INestApplication;
  /** supertest against the running Nest app (real HTTP through Node's server). */
  http: () => ReturnType<typeof request>;
  /** A dev token for this role and team (sub defaults to `<role>-<team>`). */
  token(role: Role, team?: string, sub?: string): Promise<string>;
  store: EventStore;
  /** The raw database behind the store, for assertions and fault injection. */
  db: SqlDatabase;
  /** PostgreSQL only: the throw-away database. */
  database?: TestDatabase;
  /** Every structured log line the service wrote. */
  logs: string[];
  config: AppConfig;
  /** The HS256 secret of dev tokens (dev auth mode), for forging tokens in auth tests. */
  devSecret: Uint8Array;
  /** The master key wrapping per-person keys (when MASTER_KEY is not configured). */
  masterKey: Buffer;
  close(): Promise<void>;
}

/** Starts the whole API on a fresh embedded PGlite or a fresh PostgreSQL database. */
export async function startApi(
  adapter: Adapter,
  env: NodeJS.ProcessEnv = {},
  options: {
    /** PostgreSQL: connect through this URL instead, or one derived from the fresh database's URL (e.g. via a proxy). */
    connectionString?: string | ((databaseUrl: string) => string);
    /**
     * PostgreSQL: a second API process on the peer's database, with its dev secret and master key
     * (as two instances behind one balancer). The peer owns the database and drops it.
     */
    peer?: ApiHarness;
  } = {},
): Promise<ApiHarness> {
  // Rate limiting off unless a test asks for it: suites fire many requests from a few callers, and
  // rate-limit.test.ts sets its own small limit.
  const config = loadConfig({ AUTH_MODE: 'dev', DATA_DIR: mkdtempSync(join(tmpdir(), 'caseline-api-')), LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', ...env });
  let database: TestDatabase | undefined;
  let db: SqlDatabase;
  const { peer } = options;
  if (peer && (adapter !== 'postgres' || !peer.database)) throw new Error('a peer process shares a PostgreSQL database');
  if (adapter === 'postgres') {
    database = peer?.database ?? (await createTestDatabase('caseline_api'));
    const connectionString = typeof options.connectionString === 'function' ? options.connectionString(database.url) : (options.connectionString ?? database.url);
    db = new PostgresDatabase({ connectionString, max: 20, connectionTimeoutMillis: 2000 });
  } else {
    db = await PgliteDatabase.open();
  }
  const store = await SqlEventStore.open(db, { categories: streamCategories, maxEventBytes: config.maxEventBytes });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const devSecret = peer?.devSecret ?? randomBytes(32);
  const masterKey = peer?.masterKey ?? randomBytes(32);
  const app = await createApp(config, { store, devSecret, masterKey, logStream });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const server = app.getHttpServer();
  const tokens = new Map<string, string>();
  return {
    adapter,
    app,
    http: () => request(server),
    async token(role, team = 'north', sub = `${role}-${team}`) {
      const key = `${role}|${team}|${sub}`;
      if (!tokens.has(key)) {
        const response = await request(server).post('/api/auth/dev-token').send({ sub, name: `Test ${role}`, role, team }).expect(200);
        tokens.set(key, response.body.token);
      }
      return tokens.get(key) as string;
    },
    store,
    db,
    database,
    logs,
    config,
    devSecret,
    masterKey,
    async close() {
      await app.close();
      if (!peer) await database?.drop();
    },
  };
}
