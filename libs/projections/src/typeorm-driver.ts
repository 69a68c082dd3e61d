import { EventEmitter } from 'node:events';
import type { SqlDatabase, SqlQueryable } from '@caseline/event-store';

type Result = { rows: unknown[]; rowCount: number; command: string; fields: unknown[] };
type Callback = (error: unknown, result?: Result) => void;

/**
 * A `pg`-shaped driver module for TypeORM's postgres driver, backed by one of our SqlDatabases.
 *
 * Why not typeorm-pglite: it keeps one PGlite per process behind a global, and passes TypeORM's
 * `BEGIN … COMMIT` straight through, so another query of the process (an append) could land inside
 * that transaction. Here the read models and the event store share one database object: on PGlite,
 * one WASM instance for both, and a TypeORM transaction is one of our transactions (PGlite runs
 * them one at a time); on PostgreSQL, one pool.
 *
 * `lockOnBegin` makes every transaction first take a transaction-scoped advisory lock: migrations
 * started by two processes at once then run one after the other.
 */
export function sqlDatabaseDriver(db: SqlDatabase, options: { lockOnBegin?: number } = {}) {
  class Connection extends EventEmitter {
    private tx: SqlQueryable | undefined;
    private finish: ((commit: boolean) => void) | undefined;
    private done: Promise<unknown> | undefined;

    query(text: string | { text: string; values?: unknown[] }, values?: unknown[] | Callback, callback?: Callback): Promise<Result> {
      const sql = typeof text === 'string' ? text : text.text;
      const params = typeof values === 'function' ? undefined : (values ?? (typeof text === 'string' ? undefined : text.values));
      const cb = typeof values === 'function' ? values : callback;
      const running = this.run(sql, params);
      if (cb) running.then((result) => cb(null, result), (error) => cb(error));
      return running;
    }

    private async run(sql: string, params: unknown[] | undefined): Promise<Result> {
      const statement = sql.trim().replace(/;$/, '').toUpperCase();
      if (statement === 'BEGIN' || statement.startsWith('START TRANSACTION')) return this.begin();
      if (statement === 'COMMIT' || statement === 'ROLLBACK') return this.end(statement === 'COMMIT');
      const target: SqlQueryable = this.tx ?? db;
      const { rows } = await target.query(sql, params);
      return { rows, rowCount: rows.length, command: statement.split(/\s/, 1)[0], fields: [] };
    }

    private async begin(): Promise<Result> {
      if (this.tx) throw new Error('a transaction is already open on this connection');
      let entered: (tx: SqlQueryable) => void = () => undefined;
      const ready = new Promise<SqlQueryable>((resolve) => (entered = resolve));
      this.done = db.transaction(async (tx) => {
        if (options.lockOnBegin !== undefined) await tx.query('SELECT pg_advisory_xact_lock($1)', [options.lockOnBegin]);
        entered(tx);
        const commit = await new Promise<boolean>((resolve) => (this.finish = resolve));
        if (!commit) throw new RolledBack();
      });
      // A transaction that fails to open rejects `done` before `entered` is called.
      this.tx = await Promise.race([ready, this.done.then(() => Promise.reject(new Error('transaction ended before it began')))]);
      return { rows: [], rowCount: 0, command: 'BEGIN', fields: [] };
    }

    private async end(commit: boolean): Promise<Result> {
      const finish = this.finish;
      const done = this.done;
      this.tx = undefined;
      this.finish = undefined;
      this.done = undefined;
      if (!finish || !done) return { rows: [], rowCount: 0, command: commit ? 'COMMIT' : 'ROLLBACK', fields: [] };
      finish(commit);
      try {
        await done;
      } catch (error) {
        if (!(error instanceof RolledBack)) throw error;
      }
      return { rows: [], rowCount: 0, command: commit ? 'COMMIT' : 'ROLLBACK', fields: [] };
    }

    release(): void {
      // A connection handed back with its transaction open (TypeORM after an error) rolls it back.
      if (this.finish) void this.end(false).catch(() => undefined);
    }
  }

  class Pool extends EventEmitter {
    connect(callback?: (error: unknown, connection?: Connection, release?: () => void) => void): Promise<Connection> {
      const connection = new Connection();
      callback?.(null, connection, () => connection.release());
      return Promise.resolve(connection);
    }

    query(text: string, values?: unknown[] | Callback, callback?: Callback): Promise<Result> {
      return new Connection().query(text, values, callback);
    }

    /** The database belongs to its owner (the event store or the app), who closes it. */
    end(callback?: (error: unknown) => void): Promise<void> {
      callback?.(null);
      return Promise.resolve();
    }
  }

  return { Pool, Client: Connection, defaults: {}, types: { setTypeParser: () => undefined } };
}

class RolledBack extends Error {}
