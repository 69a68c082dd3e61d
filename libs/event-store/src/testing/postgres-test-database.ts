import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Where tests create their throw-away databases; the machine's PostgreSQL by default. */
export const testAdminUrl = () => process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, cutting any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates a fresh, empty PostgreSQL database for one test file; nothing depends on leftovers. */
export async function createTestDatabase(prefix = 'caseline_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(testAdminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Ends every connection to `name` from the server side, as a database restart would. */
export async function terminateConnections(name: string): Promise<void> {
  await withAdmin((admin) =>
    admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]),
  );
}

async function withAdmin<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: testAdminUrl() });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
