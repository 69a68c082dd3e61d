import { Client, Pool, type PoolClient, type PoolConfig } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { SqlDatabase, SqlQueryable, SqlRows } from './sql-database';

export interface PostgresOptions {
  connectionString: string;
  /** Pool size; appenders beyond it wait for a connection. */
  max?: number;
  connectionTimeoutMillis?: number;
  /** How long an unused connection stays open; 30 s by default. */
  idleTimeoutMillis?: number;
}

/** The `pg` pool as a SqlDatabase. The pool drops broken connections and opens new ones itself. */
export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres';
  readonly concurrentTransactions = true;
  readonly pool: Pool;
  private readonly listeners = new Set<Client>();

  constructor(private readonly options: PostgresOptions) {
    const config: PoolConfig = {
      connectionString: options.connectionString,
      max: options.max ?? 20,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
      idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    };
    this.pool = new Pool(config);
    // An idle connection dying (database restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  get threadConnection(): { connectionString: string; connectionTimeoutMillis: number } {
    return { connectionString: this.options.connectionString, connectionTimeoutMillis: this.options.connectionTimeoutMillis ?? 5_000 };
  }

  async query<Row>(text: string, params?: unknown[], name?: string): Promise<SqlRows<Row>> {
    const result = await this.pool.query(name ? { name, text, values: params as unknown[] } : { text, values: params as unknown[] });
    return { rows: result.rows as Row[] };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async copyIn(statement: string, data: string | Uint8Array): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error); // as in transaction()
    client.on('error', onError);
    try {
      await copyIn(client, statement, data);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A connection that dies while checked out emits 'error' on the client (the pool listens only
    // to idle ones); unheard, that would crash the process. The failed query rejects anyway.
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const tx: SqlQueryable = {
        query: async <Row>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params as unknown[])).rows as Row[] }),
        exec: async (sql: string) => void (await client.query(sql)),
        copyIn: (statement: string, data: string | Uint8Array) => copyIn(client, statement, data),
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async listen(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>> {
    let closed = false;
    let client: Client | undefined;
    const connect = async (): Promise<void> => {
      if (closed) return;
      const next = new Client({ connectionString: this.options.connectionString });
      next.on('notification', (message) => onNotify(message.payload ?? ''));
      next.on('error', () => reconnectSoon(next));
      try {
        await next.connect();
        await next.query(`LISTEN ${quoteIdentifier(channel)}`);
        client = next;
        this.listeners.add(next);
        // Anything appended while we were not listening is picked up by one extra read.
        onNotify();
      } catch {
        reconnectSoon(next);
      }
    };
    const reconnectSoon = (failed: Client) => {
      this.listeners.delete(failed);
      failed.end().catch(() => undefined);
      if (client === failed) client = undefined;
      if (!closed) setTimeout(() => void connect(), 1_000).unref();
    };
    await connect();
    return async () => {
      closed = true;
      if (client) {
        this.listeners.delete(client);
        await client.end().catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((client) => client.end().catch(() => undefined)));
    await this.pool.end();
  }
}

function copyIn(client: PoolClient, statement: string, data: string | Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // 'finish' comes once the server has acknowledged the whole COPY (CommandComplete).
    const stream = client.query(copyFrom(statement));
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(data);
  });
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
