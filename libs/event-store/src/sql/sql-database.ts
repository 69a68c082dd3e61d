/**
 * The little a SQL adapter needs from a database connection. The `pg` pool and PGlite both fit,
 * which is how one SQL implementation of the store serves PostgreSQL and the embedded default.
 */
export interface SqlRows<Row> {
  rows: Row[];
}

export interface SqlQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlRows<Row>>;
  /** Runs several statements separated by semicolons, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlQueryable {
  /** `postgres` or `pglite`. */
  readonly kind: string;
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` from any process. PostgreSQL only: PGlite runs
   * in this process, where the store wakes its subscribers directly.
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Can several transactions be open at once (PostgreSQL) or only one (PGlite)? */
  readonly concurrentTransactions: boolean;
  close(): Promise<void>;
}
