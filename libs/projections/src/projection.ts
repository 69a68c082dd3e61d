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
  /**
   * Each row is put once, by the one event that creates it, and never changed or removed (a
   * timeline entry, a welfare check). A writer that projects each event exactly once may then
   * append its rows without looking for an earlier one.
   */
  insertOnly?: boolean;
}

/**
 * Rows a writer knows to be current — its own committed writes — by physical table, then key
 * (`null`: known absent). Why this is safe: while a writer holds its projection's lease, nothing
 * else writes those tables; a takeover or a rebuild swap raises the fence and retires the writer.
 */
export interface RowCache {
  rows: Map<string, Map<string, Row | null>>;
  /**
   * Every row of the writer's (not write-only) tables is in `rows`, so a key missing there is
   * absent: the writer filled them from empty (a rebuild's fresh shadow tables) and has never
   * emptied its cache since.
   */
  complete: boolean;
}

export const emptyRowCache = (complete = false): RowCache => ({ rows: new Map(), complete });

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

const LOCK_ORDER = ['rm_cases', 'rm_people', 'rm_referrals'];
const lockRank = (table: string) => (LOCK_ORDER.includes(table) ? LOCK_ORDER.indexOf(table) : LOCK_ORDER.length);
/**
 * The order in which read-model tables are locked, by whoever locks several: the order the queries
 * take them (cases, people, referrals…), then by name. A rebuild's swap and a live batch's one
 * statement (see commitAtOnce) lock in it, so neither can hold one table while waiting for another
 * that the other holds.
 */
export const byLockOrder = (a: string, b: string): number => lockRank(a) - lockRank(b) || a.localeCompare(b);

/** Physical table names: the live tables, or a rebuild's shadow tables. */
export type TableNames = (table: string) => string;
export const liveTables: TableNames = (table) => table;
export const shadowTables: TableNames = (table) => `${table}__next`;

/** A batch's rows in memory: what was loaded, what changed (`null` = removed). */
class BatchRows implements Rows {
  readonly tables = new Map<string, Map<string, Row | null>>();
  readonly changed = new Map<string, Set<string>>();
  /**
   * The rows put into tables that are insert-only and write-only, in the order put: none is read
   * back, so they need no map by key (a rebuild puts a million of them).
   */
  readonly appended = new Map<string, Row[]>();
  private readonly keys = new Map<string, string>();

  constructor(private readonly projection: Projection) {
    for (const table of projection.tables) {
      this.keys.set(table.name, table.key);
      if (table.insertOnly && table.writeOnly) this.appended.set(table.name, []);
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
    const appended = this.appended.get(table);
    if (appended) {
      appended.push(row);
      return;
    }
    const key = String(row[this.keys.get(table) ?? '']);
    this.table(table).set(key, row);
    this.changed.get(table)?.add(key);
  }

  remove(table: string, key: string): void {
    if (this.appended.has(table)) throw new Error(`projection ${this.projection.name} removed a row of insert-only table ${table}`);
    this.table(table).set(key, null);
    this.changed.get(table)?.add(key);
  }
}

// Columns of a read-model table change only through a migration, and every database has the same.
const columnCache = new Map<string, Column[]>();

export interface BatchOptions {
  /** Rows the writer already knows (see RowCache): taken from here instead of the database. */
  cache?: RowCache;
  /**
   * The writer projects each event exactly once (its checkpoint moves in the same transaction):
   * rows known to be new — of `insertOnly` tables, or absent from a complete cache — are then
   * appended with COPY where the database offers it, and only the others upserted.
   */
  append?: boolean;
  /**
   * Turn the event loop every this many events applied or rows encoded (default: never). Why: a
   * rebuild applies batch N+1 while batch N is written, and each statement of that write waits for
   * this process to answer the one before; applying a whole batch without a break left the database
   * idle. Not for the live projector: under request load every turn waits behind the requests that
   * came in meanwhile, and its lag grows.
   */
  yieldEvery?: number;
}

/** A batch applied in memory: the final state of the rows it changed, and the writes that store them. */
export interface PreparedBatch {
  changes: RowChanges;
  /** One statement each: per table, a COPY append, an upsert, a delete. */
  writes: ({ copy: string; data: Uint8Array } | SqlWrite)[];
}

/** An upsert or a delete of one table: `sql` with its one parameter `$1`. */
export interface SqlWrite {
  /** The physical table written. */
  table: string;
  sql: string;
  params: [unknown];
  /** The same statement with its parameter named `param`, writing only where `guard` holds. */
  guarded(param: string, guard: string): string;
}

/**
 * Projects a batch inside the caller's transaction: loads every row the batch needs (one query per
 * table), applies the events in order in memory, then writes each table's final rows with one
 * upsert (or an append of the new ones, see BatchOptions) and one delete.
 */
export async function projectBatch(tx: SqlQueryable, projection: Projection, events: readonly RecordedEvent[], names: TableNames = liveTables, options: BatchOptions = {}): Promise<RowChanges> {
  const prepared = await prepareBatch(tx, projection, events, names, { ...options, append: options.append && tx.copyIn !== undefined });
  await writeBatch(tx, prepared);
  return prepared.changes;
}

/**
 * The in-memory half of projectBatch: loads the rows the batch needs through `reader` (which must
 * see every write before this batch), applies the events and builds the statements, writing
 * nothing. `append` is honoured as given: the caller knows whether the writing side can COPY.
 */
export async function prepareBatch(
  reader: SqlQueryable,
  projection: Projection,
  events: readonly RecordedEvent[],
  names: TableNames = liveTables,
  { cache, append = false, yieldEvery = Number.POSITIVE_INFINITY }: BatchOptions = {},
): Promise<PreparedBatch> {
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
    const known = cache?.rows.get(names(table.name));
    const missing: string[] = [];
    for (const key of keys) {
      const cached = known?.get(key);
      if (cached === undefined) {
        if (!cache?.complete) missing.push(key);
      } else if (cached !== null) loaded.set(key, cached);
    }
    if (missing.length === 0) continue;
    const { rows: found } = await reader.query<Row>(`SELECT to_jsonb(t) AS row FROM ${names(table.name)} t WHERE ${table.key} = ANY($1::${table.keyType}[])`, [missing]);
    for (const { row } of found as { row: Row }[]) loaded.set(String(row[table.key]), row);
  }
  for (let i = 0; i < events.length; i++) {
    projection.apply(events[i], rows);
    if (i % yieldEvery === yieldEvery - 1) await turn();
  }
  const changes: RowChanges = new Map();
  const writes: PreparedBatch['writes'] = [];
  for (const table of projection.tables) {
    const changed = rows.changed.get(table.name) as Set<string>;
    const appended = rows.appended.get(table.name) ?? [];
    if (changed.size === 0 && appended.length === 0) continue;
    const current = rows.tables.get(table.name) as Map<string, Row | null>;
    if (!table.writeOnly) changes.set(names(table.name), new Map([...changed].map((key) => [key, current.get(key) ?? null])));
    const physical = names(table.name);
    const known = cache?.rows.get(physical);
    // Upserted, a key put twice must come once (an upsert cannot change a row twice): the last put
    // wins, as it would batch after batch. Appended, both rows go in (see rebuild's addPrimaryKey).
    const upserts: Row[] = append ? [] : [...new Map(appended.map((row) => [String(row[table.key]), row])).values()];
    const appends: Row[] = append ? appended : [];
    const deletes: string[] = [];
    for (const key of changed) {
      const row = current.get(key);
      if (!row) deletes.push(key);
      else if (append && (table.insertOnly || (cache?.complete && !table.writeOnly && !known?.get(key)))) appends.push(row);
      else upserts.push(row);
    }
    if (yieldEvery !== Number.POSITIVE_INFINITY) await turn();
    const columns = await columnsOf(reader, physical);
    if (appends.length) writes.push(await copyRows(physical, columns, appends, yieldEvery));
    if (upserts.length) {
      const set = columns.filter((column) => column.name !== table.key).map((column) => column.name);
      const conflict = set.length ? `DO UPDATE SET (${set.join(', ')}) = ROW(${set.map((c) => `EXCLUDED.${c}`).join(', ')})` : 'DO NOTHING';
      const guarded = (param: string, guard: string) =>
        `INSERT INTO ${physical} SELECT * FROM jsonb_populate_recordset(NULL::${physical}, ${param}::jsonb) WHERE ${guard} ON CONFLICT (${table.key}) ${conflict}`;
      writes.push({ table: physical, sql: guarded('$1', 'true'), params: [JSON.stringify(upserts)], guarded });
    }
    if (deletes.length) {
      const guarded = (param: string, guard: string) => `DELETE FROM ${physical} WHERE ${table.key} = ANY(${param}::${table.keyType}[]) AND ${guard}`;
      writes.push({ table: physical, sql: guarded('$1', 'true'), params: [deletes], guarded });
    }
  }
  return { changes, writes };
}

/** The writing half of projectBatch, in the caller's transaction. */
export async function writeBatch(tx: SqlQueryable, prepared: PreparedBatch): Promise<void> {
  for (const write of prepared.writes) {
    if ('copy' in write) {
      if (!tx.copyIn) throw new Error('this database cannot COPY: prepare the batch without append');
      await tx.copyIn(write.copy, write.data);
    } else await tx.query(write.sql, write.params);
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const CACHE_LIMIT = 1_000_000;

/** Folds a committed batch's changes into a writer's cache (emptied when it grows past its limit). */
export function rememberRows(cache: RowCache, changes: RowChanges): void {
  let size = 0;
  for (const table of cache.rows.values()) size += table.size;
  if (size > CACHE_LIMIT) {
    cache.rows.clear();
    cache.complete = false;
  }
  for (const [table, rows] of changes) {
    let known = cache.rows.get(table);
    if (!known) cache.rows.set(table, (known = new Map()));
    for (const [key, row] of rows) known.set(key, row);
  }
}

interface Column {
  name: string;
  /** information_schema's data_type: `jsonb`, `boolean`, `text`, … */
  type: string;
}

async function columnsOf(tx: SqlQueryable, table: string): Promise<Column[]> {
  let columns = columnCache.get(table);
  if (!columns) {
    const { rows } = await tx.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    columns = rows.map((row) => ({ name: row.column_name, type: row.data_type }));
    if (columns.length) columnCache.set(table, columns);
  }
  return columns;
}

/**
 * A COPY (text format) that appends rows: no JSON document to parse on the server, no conflict to
 * look for. Each value is written as jsonb_populate_recordset would read it from the row's JSON,
 * so an appended row equals an upserted one.
 */
async function copyRows(table: string, columns: readonly Column[], rows: readonly Row[], yieldEvery: number): Promise<{ copy: string; data: Uint8Array }> {
  const encoders = columns.map(({ type }) => (type === 'jsonb' || type === 'json' ? copyJson : type === 'boolean' ? copyBoolean : copyText));
  const out = new CopyBytes();
  for (let r = 0; r < rows.length; r++) {
    if (r % yieldEvery === yieldEvery - 1) await turn(); // see BatchOptions.yieldEvery
    const row = rows[r];
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i].name];
      line += (i ? '\t' : '') + (value === null || value === undefined ? '\\N' : encoders[i](value));
    }
    out.write(line + '\n');
  }
  return { copy: `COPY ${table} (${columns.map((column) => column.name).join(', ')}) FROM STDIN`, data: out.bytes() };
}

/**
 * COPY input written into bytes row by row. Why not one string: a batch's rows concatenated make a
 * string of megabytes built from millions of pieces, which lives until it is sent; flattening and
 * encoding it, and collecting its pieces, cost a rebuild more than building the rows did.
 */
const COPY_CHUNK = 1 << 20;
class CopyBytes {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(COPY_CHUNK);
  private used = 0;

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so this much room always suffices.
    const room = text.length * 3;
    if (this.used + room > this.chunk.length) {
      this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.allocUnsafe(Math.max(COPY_CHUNK, room));
      this.used = 0;
    }
    this.used += this.chunk.write(text, this.used);
  }

  bytes(): Buffer {
    return this.chunks.length === 0 ? this.chunk.subarray(0, this.used) : Buffer.concat([...this.chunks, this.chunk.subarray(0, this.used)]);
  }
}

// COPY's text format: backslash, newline, carriage return and tab are escaped; `\N` is NULL.
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const copyText = (value: unknown): string => {
  const text = typeof value === 'string' ? value : String(value);
  return COPY_SPECIAL.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]) : text;
};
// JSON text has no raw newline, carriage return or tab (they are escaped inside strings): only the backslash.
const copyJson = (value: unknown): string => {
  const json = JSON.stringify(value);
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
};
const copyBoolean = (value: unknown): string => (value ? 't' : 'f');
