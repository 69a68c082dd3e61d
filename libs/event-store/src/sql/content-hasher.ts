import { hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { canonicalContentOfJsonbText, canonicalJsonSource } from '../canonical-json';
import type { ChainVerification } from '../hash-chain';
import type { StoredLink, StreamHead } from '../port';

/**
 * A stored event's content as PostgreSQL writes it: the stream, the type, and the jsonb text of
 * data and metadata. Read as two columns, not one built object: building a jsonb object of each
 * row costs the database about half again what writing the two values out does.
 */
export interface StoredContent {
  streamId: string;
  type: string;
  data: string;
  metadata: string;
}

/** A row of the link read: stream id, version, type, data text, metadata text, hex of the previous link, hex of the link. */
export type LinkRow = [string, number, string, string, string, string, string];

/**
 * The link read. No ORDER BY: PostgreSQL would sort a page of wide rows (megabytes, past work_mem,
 * onto disk) while a page is put in stream and version order here for almost nothing.
 */
export const LINK_ROWS_SQL = `SELECT e.stream_id, e.version::int AS version, e.type, e.data::text AS data, e.metadata::text AS metadata,
    encode(e.previous_hash, 'hex') AS previous_hash, encode(e.hash, 'hex') AS hash
  FROM es_events e WHERE e.stream_id = ANY($1::text[])`;

/**
 * The chain read of a page, for the workers' walks: like LINK_ROWS_SQL, but each row names its
 * stream by its place (1-based) in the list asked for, not by its id: a number for the database to
 * write and the worker to take apart instead of a text, and the row's run found by index.
 */
export const CHAIN_ROWS_SQL = `SELECT s.ord::int AS stream, e.version::int AS version, e.type, e.data::text AS data, e.metadata::text AS metadata,
    encode(e.previous_hash, 'hex') AS previous_hash, encode(e.hash, 'hex') AS hash
  FROM unnest($1::text[]) WITH ORDINALITY AS s(stream_id, ord) JOIN es_events e ON e.stream_id = s.stream_id`;

/**
 * Where a worker thread opens its own connection: `connectionString` for the `pg` client found at
 * `driver` (a module path, resolved here so that the worker needs no module resolution of its own).
 */
export interface ThreadConnection {
  driver: string;
  connectionString: string;
  connectionTimeoutMillis: number;
}

/**
 * Content hashes of stored events (SHA-256 of their canonical JSON, see canonicalContentOfJsonbText),
 * computed in worker threads. Why threads: whole-store verification is bound by this CPU-heavy
 * step. Given a ThreadConnection, each worker also reads the pages it hashes over its own
 * connection: pages are read by as many database backends as there are workers, and this thread
 * takes apart no rows and copies no text to a worker, only the short links back. Should a worker
 * fail to start or die, hashing goes on in this thread (readLinks answers undefined): slower,
 * never wrong.
 */
export class ContentHashers {
  private readonly hashers: ContentHasher[];
  private turn = 0;

  constructor(threads = 2, connection?: ThreadConnection) {
    this.hashers = Array.from({ length: Math.max(1, threads) }, () => new ContentHasher(connection));
  }

  /** Pages go to the workers in turn. */
  hashAll(contents: StoredContent[]): Promise<string[]> {
    return this.next().hashAll(contents);
  }

  /**
   * The stored links of these streams, read and hashed by a worker over its own connection; in
   * the order of `streamIds`, then by version. undefined when no worker can read (no thread
   * connection, or the workers failed): the caller reads them itself.
   */
  readLinks(streamIds: string[]): Promise<StoredLink[] | undefined> {
    return this.next().readLinks(streamIds);
  }

  /**
   * verifyLinks of each stream against its head, read, hashed and walked by a worker over its own
   * connection; undefined when no worker can read (the caller walks the stored links itself).
   */
  verifyChains(heads: StreamHead[]): Promise<ChainVerification[] | undefined> {
    return this.next().verifyChains(heads);
  }

  threadIds(): Promise<number[]> {
    return Promise.all(this.hashers.map((hasher) => hasher.threadId()));
  }

  async close(): Promise<void> {
    await Promise.all(this.hashers.map((hasher) => hasher.close()));
  }

  private next(): ContentHasher {
    return this.hashers[this.turn++ % this.hashers.length];
  }
}

/** How long an idle worker is kept before it is stopped (started again on the next page). */
const IDLE_MS = 1000;

/** What a worker answers for a read: links in columns (content hashes joined; stored links a string each). */
interface ReadAnswer {
  /** Stream ids of consecutive runs of events, and how many events each run has. */
  streams: string[];
  counts: number[];
  versions: number[];
  /** Per event, 64 hex digits of its content hash. */
  contentHashes: string;
  /**
   * Per event, the stored previous link and link in hex, each its own string. Why not cut from
   * one joined text: a link rewritten by hand need not be 32 bytes, and would shift every later one.
   */
  previousHashes: string[];
  hashes: string[];
}

/** The problems of verifyLinks, by the number a worker answers for them (0: the chain holds). */
const PROBLEMS: (ChainVerification['problem'] | undefined)[] = [undefined, 'altered', 'missing_or_reordered', 'head_mismatch'];

type Answer =
  | { hashes: string[] }
  | { read: ReadAnswer }
  /** Per stream, three numbers: events checked, first bad version (0: none), problem (see PROBLEMS). */
  | { verdicts: number[] }
  | { error: { message: string; code?: string } };

class ContentHasher {
  private worker?: Worker;
  private broken = false;
  private next = 0;
  private idle?: NodeJS.Timeout;
  private readonly pending = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();

  constructor(private readonly connection?: ThreadConnection) {}

  /** Hex SHA-256 of the canonical content of each event, in order. */
  async hashAll(contents: StoredContent[]): Promise<string[]> {
    const flat = contents.flatMap((content) => [content.streamId, content.type, content.data, content.metadata]);
    const answer = await this.ask({ contents: flat });
    return answer && 'hashes' in answer ? answer.hashes : contents.map(hashInThread);
  }

  async readLinks(streamIds: string[]): Promise<StoredLink[] | undefined> {
    if (!this.connection) return undefined;
    const answer = await this.ask({ streamIds });
    if (!answer) return undefined;
    if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    if (!('read' in answer)) return undefined;
    const { streams, counts, versions, contentHashes, previousHashes, hashes } = answer.read;
    const links: StoredLink[] = [];
    for (let run = 0, i = 0; run < streams.length; run++) {
      for (let end = i + counts[run]; i < end; i++) {
        links.push({ streamId: streams[run], version: versions[i], contentHash: contentHashes.slice(i * 64, i * 64 + 64), previousHash: previousHashes[i], hash: hashes[i] });
      }
    }
    return links;
  }

  async verifyChains(heads: StreamHead[]): Promise<ChainVerification[] | undefined> {
    if (!this.connection) return undefined;
    // The hashes as a list, not cut from one string: a head's stored hash need not be 32 bytes.
    const answer = await this.ask({ heads: { streamIds: heads.map((head) => head.streamId), versions: heads.map((head) => head.version), hashes: heads.map((head) => head.hash) } });
    if (!answer) return undefined;
    if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    if (!('verdicts' in answer)) return undefined;
    const { verdicts } = answer;
    return heads.map((_, i) => {
      const [checkedEvents, firstBadVersion, problem] = [verdicts[3 * i], verdicts[3 * i + 1], verdicts[3 * i + 2]];
      return problem === 0 ? { ok: true, checkedEvents } : { ok: false, checkedEvents, firstBadVersion, problem: PROBLEMS[problem] };
    });
  }

  /** The worker's thread id (0 when hashing runs in this thread): for tests. */
  async threadId(): Promise<number> {
    const worker = this.start();
    return worker ? worker.threadId : 0;
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.stop();
  }

  /** The worker's answer; undefined when there is no worker (or it died on the way). */
  private async ask(message: object): Promise<Answer | undefined> {
    const worker = this.start();
    if (!worker) return undefined;
    clearTimeout(this.idle);
    const id = this.next++;
    try {
      return await new Promise<Answer>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        worker.postMessage({ id, ...message });
      });
    } catch {
      return undefined;
    } finally {
      // A walk keeps it busy; between walks no thread is left running (nor holding a process open,
      // nor a connection: the worker's goes with it).
      if (this.pending.size === 0) this.idle = setTimeout(() => void this.stop(), IDLE_MS).unref();
    }
  }

  private async stop(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    if (!worker || this.pending.size > 0) return;
    this.worker = undefined;
    await worker.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    try {
      const worker = new Worker(`${canonicalJsonSource()}\nconst linksInOrder = ${linksInOrder.toString()};\n${WORKER_MAIN}`, {
        eval: true,
        // Plain JavaScript needs none of the parent's preloads: a worker inheriting `-r ts-node/register`
        // (the benchmarks, scripts) spent about 300 ms loading TypeScript before its first page.
        execArgv: [],
        workerData: { connection: this.connection, sql: LINK_ROWS_SQL, chainSql: CHAIN_ROWS_SQL },
      });
      // An idle worker must not keep a process alive (a CLI that has finished).
      worker.unref();
      worker.on('message', ({ id, ...answer }: { id: number } & Answer) => {
        const waiting = this.pending.get(id);
        this.pending.delete(id);
        waiting?.resolve(answer);
      });
      worker.on('error', (error) => this.fail(worker, error));
      worker.on('exit', () => this.fail(worker, new Error('the hashing worker exited')));
      this.worker = worker;
      return worker;
    } catch {
      this.broken = true;
      return undefined;
    }
  }

  /** A worker that died on its own (not one stopped while idle): hash in this thread from now on. */
  private fail(worker: Worker, error: Error): void {
    if (worker !== this.worker) return;
    this.broken = true;
    this.worker = undefined;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

/**
 * Rows (any order) whose first two fields are stream id and version, grouped by stream in the
 * order of `streamIds`, each stream's by version; a stream without rows is left out. Shipped to
 * the workers as source: it uses nothing but the language.
 */
export function linksInOrder<Row extends [string, number, ...unknown[]]>(streamIds: string[], rows: Row[]): Row[][] {
  const byStream = new Map<string, Row[]>();
  for (const streamId of streamIds) byStream.set(streamId, []);
  for (const row of rows) byStream.get(row[0])?.push(row);
  const runs: Row[][] = [];
  for (const run of byStream.values()) {
    if (run.length === 0) continue;
    runs.push(run.length > 1 ? run.sort((a, b) => a[1] - b[1]) : run);
  }
  return runs;
}

// Runs in the worker, after the canonical JSON functions and linksInOrder. The connection is
// opened on the first read and kept; a failed read drops it, and the next read opens another.
const WORKER_MAIN = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const contentHash = (streamId, type, data, metadata) => hash('sha256', canonicalContentOfJsonbText(streamId, type, data, metadata), 'hex');
let connecting;
const connect = () => (connecting ??= (async () => {
  const { Client } = require(workerData.connection.driver);
  const client = new Client({ connectionString: workerData.connection.connectionString, connectionTimeoutMillis: workerData.connection.connectionTimeoutMillis });
  client.on('error', () => undefined);
  await client.connect();
  return client;
})());
const drop = () => {
  const was = connecting;
  connecting = undefined;
  was?.then((client) => client.end(), () => undefined).catch(() => undefined);
};
// A read of these streams, each row handed to onRow as it arrives. Why: a page is megabytes of
// event text; kept until the page is complete it outlives the young generation and the collector
// copies and marks it (once a third of this process's CPU); hashed at once, each row's text dies young.
const eachRow = async (name, text, streamIds, onRow) => {
  const client = await connect();
  const { Query } = require(workerData.connection.driver);
  return new Promise((resolve, reject) => {
    // A row that cannot be hashed fails the read once the query is over (thrown here, inside the
    // driver's socket handler, it would end this worker).
    let failure;
    const query = client.query(new Query({ name, text, values: [streamIds], rowMode: 'array' }));
    query.on('row', (row) => {
      if (failure) return;
      try {
        onRow(row);
      } catch (error) {
        failure = error;
      }
    });
    query.on('end', () => (failure ? reject(failure) : resolve()));
    query.on('error', reject);
  });
};
// The link rows of these streams as [stream id, version, content hash, previous link, link].
const hashedRows = async (streamIds) => {
  const rows = [];
  await eachRow('caseline_read_contents', workerData.sql, streamIds, (row) => rows.push([row[0], row[1], contentHash(row[0], row[2], row[3], row[4]), row[5], row[6]]));
  return rows;
};
// Each stream's chain rows as [version, content hash, previous link, link], in the order of
// streamIds (an empty run for a stream without rows), each by version; hashed as they arrive.
const hashedRuns = async (streamIds) => {
  const quoted = streamIds.map((streamId) => JSON.stringify(streamId));
  const runs = streamIds.map(() => []);
  await eachRow('caseline_read_chains', workerData.chainSql, streamIds, (row) => {
    const at = row[0] - 1;
    runs[at].push([row[1], hash('sha256', canonicalContentOfQuoted(quoted[at], row[2], row[3], row[4]), 'hex'), row[5], row[6]]);
  });
  for (const run of runs) if (run.length > 1) run.sort((a, b) => a[0] - b[0]);
  return runs;
};
const GENESIS = '0'.repeat(64);
// One buffer for every link's input (previous link, then content hash): no allocation per event.
const pair = Buffer.alloc(64);
// verifyLinks (hash-chain.ts) over one stream's hashed rows in version order.
const walk = (rows, version, headHash) => {
  let previous = GENESIS;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row[0] !== i + 1 || row[2] !== previous) return [i, i + 1, 2];
    // previous is GENESIS or a link computed here: always 32 bytes of hex.
    pair.write(previous, 0, 'hex');
    pair.write(row[1], 32, 'hex');
    if (hash('sha256', pair, 'hex') !== row[3]) return [i, row[0], 1];
    previous = row[3];
  }
  if (version !== rows.length || headHash !== previous) return [rows.length, rows.length + 1, 3];
  return [rows.length, 0, 0];
};
const failed = (id, error) => {
  drop();
  parentPort.postMessage({ id, error: { message: String(error?.message ?? error), code: typeof error?.code === 'string' ? error.code : undefined } });
};
parentPort.on('message', async ({ id, contents, streamIds, heads }) => {
  if (contents) {
    const hashes = [];
    for (let i = 0; i < contents.length; i += 4) hashes.push(contentHash(contents[i], contents[i + 1], contents[i + 2], contents[i + 3]));
    parentPort.postMessage({ id, hashes });
    return;
  }
  try {
    if (heads) {
      const runs = await hashedRuns(heads.streamIds);
      const verdicts = [];
      for (let i = 0; i < runs.length; i++) verdicts.push(...walk(runs[i], heads.versions[i], heads.hashes[i]));
      parentPort.postMessage({ id, verdicts });
      return;
    }
    const streams = [], counts = [], versions = [], contentHashes = [], previousHashes = [], hashes = [];
    for (const run of linksInOrder(streamIds, await hashedRows(streamIds))) {
      streams.push(run[0][0]);
      counts.push(run.length);
      for (const row of run) {
        versions.push(row[1]);
        contentHashes.push(row[2]);
        previousHashes.push(row[3]);
        hashes.push(row[4]);
      }
    }
    parentPort.postMessage({ id, read: { streams, counts, versions, contentHashes: contentHashes.join(''), previousHashes, hashes } });
  } catch (error) {
    failed(id, error);
  }
});`;

const hashInThread = (content: StoredContent): string =>
  hash('sha256', canonicalContentOfJsonbText(content.streamId, content.type, content.data, content.metadata), 'hex');
