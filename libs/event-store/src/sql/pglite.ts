import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlQueryable, SqlRows } from './sql-database';

/**
 * Embedded PostgreSQL (WASM) as a SqlDatabase: the default when no DATABASE_URL is given, data in
 * a folder. One connection, so transactions run one at a time.
 */
export class PgliteDatabase implements SqlDatabase {
  readonly kind = 'pglite';
  readonly concurrentTransactions = false;

  private constructor(readonly db: PGlite) {}

  /** `dataDir` undefined keeps everything in memory (tests). */
  static async open(dataDir?: string): Promise<PgliteDatabase> {
    if (dataDir) await mkdir(dataDir, { recursive: true });
    const db = dataDir ? new PGlite(dataDir) : new PGlite();
    await db.waitReady;
    return new PgliteDatabase(db);
  }

  async query<Row>(text: string, params?: unknown[]): Promise<SqlRows<Row>> {
    const result = await this.db.query<Row>(text, params as unknown[]);
    return { rows: result.rows };
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      work({
        query: async <Row>(text: string, params?: unknown[]) => ({ rows: (await tx.query<Row>(text, params as unknown[])).rows }),
        exec: async (sql: string) => void (await tx.exec(sql)),
      }),
    );
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
