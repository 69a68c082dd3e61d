/**
 * The little a SQL adapter needs from a database connection. The `pg` pool and PGlite both fit,
 * which is how one SQL implementation of the store serves PostgreSQL and the embedded default.
 */
export interface SqlRows<Row> {
  rows: Row[];
}

export interface SqlQueryable {
  /**
   * `name` asks for a prepared statement kept per connection (parsed and planned once); adapters
   * that cannot keep one ignore it.
   */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<SqlRows<Row>>;
  /** Runs several statements separated by semicolons, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `COPY … FROM STDIN` with `data` (text format) as its input. Only where the driver can
   * stream COPY data (PostgreSQL's); callers fall back to INSERT without it.
   */
  copyIn?(statement: string, data: string | Uint8Array): Promise<void>;
}

export interface SqlDatabase extends SqlQueryable {
  /** `postgres` or `pglite`. */
  readonly kind: string;
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` from any process, with its payload; and with no
   * payload after (re)connecting, when notices may have been missed. PostgreSQL only: PGlite runs
   * in this process, where the store wakes its subscribers directly.
   */
  listen?(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>>;
  /**
   * How another thread of this process opens its own connection to the same database (PostgreSQL;
   * PGlite has one connection, in this thread): whole-store verification reads from its workers.
   */
  readonly threadConnection?: { connectionString: string; connectionTimeoutMillis: number };
  /** Can several transactions be open at once (PostgreSQL) or only one (PGlite)? */
  readonly concurrentTransactions: boolean;
  close(): Promise<void>;
}
