import type { RecordedEvent, SqlQueryable } from '@caseline/event-store';

/** A read-model row as projections see it: column name → JSON value (timestamps as ISO strings). */
export type Row = Record<string, unknown>;

export interface ProjectionTable {
  name: string;
  /** Primary key column and its SQL type. */
  key: string;
  keyType: 'uuid' | 'text';
  /** Never read back by the projection (no event `needs` its rows): not kept in a writer's row cache. */
  writeOnly?: boolean;
}

/**
 * Rows a writer knows to be current — its own committed writes — by physical table, then key
 * (`null`: known absent). Why this is safe: while a writer holds its projection's lease, nothing
 * else writes those tables; a takeover or a rebuild swap raises the fence and retires the writer.
 */
export type RowCache = Map<string, Map<string, Row | null>>;

/** The final state of every row a batch changed, by physical table, then key. */
export type RowChanges = Map<string, Map<string, Row | null>>;

/** The rows a batch has loaded or changed; projections read and write them in memory only. */
export interface Rows {
  get(table: string, key: string): Row | undefined;
  put(table: string, row: Row): void;
  remove(table: string, key: string): void;
}

/**
 * A projection: events in, rows out, as pure functions. `needs` names the rows an event reads
 * (loaded for the whole batch in one query per table); `apply` changes them. Throwing marks the
 * event as one this projection cannot handle (a poison event).
 */
export interface Projection {
  readonly name: string;
  readonly tables: readonly ProjectionTable[];
  needs(event: RecordedEvent): readonly (readonly [table: string, key: string])[];
  apply(event: RecordedEvent, rows: Rows): void;
}

/** Physical table names: the live tables, or a rebuild's shadow tables. */
export type TableNames = (table: string) => string;
export const liveTables: TableNames = (table) => table;
export const shadowTables: TableNames = (table) => `${table}__next`;

/** A batch's rows in memory: what was loaded, what changed (`null` = removed). */
class BatchRows implements Rows {
  readonly tables = new Map<string, Map<string, Row | null>>();
  readonly changed = new Map<string, Set<string>>();

  constructor(private readonly projection: Projection) {
    for (const table of projection.tables) {
      this.tables.set(table.name, new Map());
      this.changed.set(table.name, new Set());
    }
  }

  private table(name: string): Map<string, Row | null> {
    const table = this.tables.get(name);
    if (!table) throw new Error(`projection ${this.projection.name} has no table ${name}`);
    return table;
  }

  get(table: string, key: string): Row | undefined {
    return this.table(table).get(key) ?? undefined;
  }

  put(table: string, row: Row): void {
    const definition = this.projection.tables.find((t) => t.name === table);
    const key = String(row[definition?.key ?? '']);
    this.table(table).set(key, row);
    this.changed.get(table)?.add(key);
  }

  remove(table: string, key: string): void {
    this.table(table).set(key, null);
    this.changed.get(table)?.add(key);
  }
}

// Columns of a read-model table change only through a migration, and every database has the same.
const columnCache = new Map<string, string[]>();

/**
 * Projects a batch inside the caller's transaction: loads every row the batch needs (one query per
 * table), applies the events in order in memory, then writes each table's final rows with one
 * upsert and one delete. Rows in `cache` are taken from it instead of the database.
 */
export async function projectBatch(
  tx: SqlQueryable,
  projection: Projection,
  events: readonly RecordedEvent[],
  names: TableNames = liveTables,
  cache?: RowCache,
): Promise<RowChanges> {
  const rows = new BatchRows(projection);
  const wanted = new Map<string, Set<string>>();
  for (const event of events) {
    for (const [table, key] of projection.needs(event)) {
      if (!wanted.has(table)) wanted.set(table, new Set());
      wanted.get(table)?.add(key);
    }
  }
  for (const [tableName, keys] of wanted) {
    const table = projection.tables.find((t) => t.name === tableName);
    if (!table) throw new Error(`projection ${projection.name} has no table ${tableName}`);
    const loaded = rows.tables.get(table.name) as Map<string, Row | null>;
    const known = cache?.get(names(table.name));
    const missing: string[] = [];
    for (const key of keys) {
      const cached = known?.get(key);
      if (cached === undefined) missing.push(key);
      else if (cached !== null) loaded.set(key, cached);
    }
    if (missing.length === 0) continue;
    const { rows: found } = await tx.query<Row>(`SELECT to_jsonb(t) AS row FROM ${names(table.name)} t WHERE ${table.key} = ANY($1::${table.keyType}[])`, [missing]);
    for (const { row } of found as { row: Row }[]) loaded.set(String(row[table.key]), row);
  }
  for (const event of events) projection.apply(event, rows);
  const changes: RowChanges = new Map();
  for (const table of projection.tables) {
    const changed = rows.changed.get(table.name) as Set<string>;
    if (changed.size === 0) continue;
    const current = rows.tables.get(table.name) as Map<string, Row | null>;
    if (!table.writeOnly) changes.set(names(table.name), new Map([...changed].map((key) => [key, current.get(key) ?? null])));
    const upserts: Row[] = [];
    const deletes: string[] = [];
    for (const key of changed) {
      const row = current.get(key);
      if (row) upserts.push(row);
      else deletes.push(key);
    }
    const physical = names(table.name);
    if (upserts.length) {
      const columns = (await columnsOf(tx, physical)).filter((column) => column !== table.key);
      const set = columns.length ? `DO UPDATE SET (${columns.join(', ')}) = ROW(${columns.map((c) => `EXCLUDED.${c}`).join(', ')})` : 'DO NOTHING';
      await tx.query(`INSERT INTO ${physical} SELECT * FROM jsonb_populate_recordset(NULL::${physical}, $1::jsonb) ON CONFLICT (${table.key}) ${set}`, [
        JSON.stringify(upserts),
      ]);
    }
    if (deletes.length) await tx.query(`DELETE FROM ${physical} WHERE ${table.key} = ANY($1::${table.keyType}[])`, [deletes]);
  }
  return changes;
}

const CACHE_LIMIT = 1_000_000;

/** Folds a committed batch's changes into a writer's cache (emptied when it grows past its limit). */
export function rememberRows(cache: RowCache, changes: RowChanges): void {
  let size = 0;
  for (const table of cache.values()) size += table.size;
  if (size > CACHE_LIMIT) cache.clear();
  for (const [table, rows] of changes) {
    let known = cache.get(table);
    if (!known) cache.set(table, (known = new Map()));
    for (const [key, row] of rows) known.set(key, row);
  }
}

async function columnsOf(tx: SqlQueryable, table: string): Promise<string[]> {
  let columns = columnCache.get(table);
  if (!columns) {
    const { rows } = await tx.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    columns = rows.map((row) => row.column_name);
    if (columns.length) columnCache.set(table, columns);
  }
  return columns;
}
