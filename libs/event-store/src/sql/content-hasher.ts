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
 * The chain read of a page, for the workers' walks: each event's stream (by its place, 1-based,
 * in the list asked for), version, type, data, metadata, previous link and link, copied out in
 * PostgreSQL's binary COPY format. Why COPY and binary: each field arrives as its bytes (jsonb as
 * a version byte and its text, bytea raw), so the worker hashes events without turning them into
 * strings, and the database writes no hex. COPY takes no parameters: `$STREAMS` is replaced by the
 * list as a quoted literal (see streamListLiteral).
 */
export const CHAIN_COPY_SQL = `COPY (SELECT s.ord::int4, e.version::int4, e.type, e.data, e.metadata, e.previous_hash, e.hash
    FROM unnest($STREAMS::text[]) WITH ORDINALITY AS s(stream_id, ord) JOIN es_events e ON e.stream_id = s.stream_id) TO STDOUT (FORMAT binary)`;

/** Stream ids as a text[] literal, quoted as an SQL string (by `quote`, the client's escapeLiteral). */
export function streamListLiteral(streamIds: string[], quote: (text: string) => string): string {
  return quote(`{${streamIds.map((streamId) => `"${streamId.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

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

/** What a worker answers for a read: links in columns (fewer, larger values to copy across). */
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
      const worker = new Worker(`${canonicalJsonSource()}\nconst linksInOrder = ${linksInOrder.toString()};\nconst streamListLiteral = ${streamListLiteral.toString()};\n${WORKER_MAIN}`, {
        eval: true,
        workerData: { connection: this.connection && { ...this.connection, copyStreams: require.resolve('pg-copy-streams') }, sql: LINK_ROWS_SQL, chainSql: CHAIN_COPY_SQL },
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
// A page's chain rows, read by binary COPY (CHAIN_COPY_SQL) and hashed as they arrive, without a
// string per event: per row its version, and 96 bytes in one buffer (content hash, stored previous
// link, stored link). A row whose stored links are not 32 bytes each (rewritten by hand) keeps them
// as hex beside. Each stream's rows (indexes), in the order of streamIds, by version.
const contentBytes = new ContentBytes();
const FIELDS = 7;
const copiedRuns = async (streamIds) => {
  const client = await connect();
  const { to } = require(workerData.connection.copyStreams);
  const quoted = streamIds.map((streamId) => Buffer.from(JSON.stringify(streamId)));
  const runs = streamIds.map(() => []);
  let versions = new Int32Array(4096);
  let links = Buffer.allocUnsafe(4096 * 96);
  const odd = new Map();
  let count = 0;
  // What has arrived and is not yet taken apart (a row may end in a later chunk).
  let work = Buffer.allocUnsafe(1 << 20);
  let have = 0;
  let header = true;
  let ended = false;
  const starts = new Array(FIELDS).fill(0);
  const ends = new Array(FIELDS).fill(0);
  const row = (buf) => {
    const at = buf.readInt32BE(starts[0]) - 1;
    if (at < 0 || at >= runs.length) throw new Error('a chain row names no stream asked for');
    // jsonb in binary: a format version (1), then its text.
    if (buf[starts[3]] !== 1 || buf[starts[4]] !== 1) throw new Error('unknown jsonb binary format');
    if (count === versions.length) {
      const more = new Int32Array(count * 2);
      more.set(versions);
      versions = more;
      const bigger = Buffer.allocUnsafe(count * 2 * 96);
      links.copy(bigger, 0, 0, count * 96);
      links = bigger;
    }
    versions[count] = buf.readInt32BE(starts[1]);
    const content = contentBytes.content(quoted[at], buf.subarray(starts[2], ends[2]), buf, starts[3] + 1, ends[3], starts[4] + 1, ends[4]);
    // Set and copied by hand: Buffer#copy costs more than 32 bytes do.
    links.set(hash('sha256', content, 'buffer'), count * 96);
    if (ends[5] - starts[5] === 32 && ends[6] - starts[6] === 32) {
      for (let k = 0, to = count * 96 + 32, from = starts[5]; k < 32; k++) links[to + k] = buf[from + k];
      for (let k = 0, to = count * 96 + 64, from = starts[6]; k < 32; k++) links[to + k] = buf[from + k];
    } else odd.set(count, [buf.toString('hex', starts[5], ends[5]), buf.toString('hex', starts[6], ends[6])]);
    runs[at].push(count++);
  };
  // Takes apart the complete rows in work[0, have); answers where the first incomplete one starts.
  const take = () => {
    let at = 0;
    if (header) {
      // The 11-byte signature, 4 bytes of flags, then a header extension of the length given.
      if (have < 19) return 0;
      at = 19 + work.readInt32BE(15);
      if (have < at) return 0;
      header = false;
    }
    while (!ended && at + 2 <= have) {
      const fields = work.readInt16BE(at);
      if (fields === -1) {
        ended = true;
        return at + 2;
      }
      if (fields !== FIELDS) throw new Error('a chain row of ' + fields + ' fields');
      let p = at + 2;
      let complete = true;
      for (let f = 0; f < FIELDS; f++) {
        if (p + 4 > have) {
          complete = false;
          break;
        }
        const length = work.readInt32BE(p);
        if (length < 0) throw new Error('a chain row with a null field');
        starts[f] = p + 4;
        ends[f] = p = p + 4 + length;
        if (p > have) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      row(work);
      at = p;
    }
    return at;
  };
  const copy = client.query(to(workerData.chainSql.replace('$STREAMS', streamListLiteral(streamIds, (text) => client.escapeLiteral(text)))));
  try {
    for await (const chunk of copy) {
      if (have + chunk.length > work.length) {
        const bigger = Buffer.allocUnsafe(Math.max(work.length * 2, have + chunk.length));
        work.copy(bigger, 0, 0, have);
        work = bigger;
      }
      chunk.copy(work, have);
      have += chunk.length;
      const taken = take();
      work.copyWithin(0, taken, have);
      have -= taken;
    }
  } catch (error) {
    drop();
    throw error;
  }
  if (!ended || have !== 0) throw new Error('the chain copy ended early');
  for (const run of runs) if (run.length > 1) run.sort((a, b) => versions[a] - versions[b]);
  return { runs, versions, links, odd };
};
const GENESIS = Buffer.alloc(32);
// One buffer for every link's input (previous link, then content hash): no allocation per event.
const pair = Buffer.alloc(64);
// verifyLinks (hash-chain.ts) over one stream's rows (indexes into the page's) in version order,
// answered as [events checked, first bad version (0: none), problem (see PROBLEMS)].
const walk = ({ versions, links, odd }, run, version, headHash) => {
  // The previous link: GENESIS, then the stored link of the row before (links[previousAt, +32)).
  let previous = GENESIS;
  let previousAt = 0;
  for (let i = 0; i < run.length; i++) {
    const r = run[i];
    const at = r * 96;
    if (versions[r] !== i + 1) return [i, i + 1, 2];
    const stored = odd.get(r);
    if (stored) {
      // Links not 32 bytes each: one of them cannot be what the chain makes.
      if (stored[0] !== previous.toString('hex', previousAt, previousAt + 32)) return [i, i + 1, 2];
      return [i, versions[r], 1];
    }
    if (previous.compare(links, at + 32, at + 64, previousAt, previousAt + 32) !== 0) return [i, i + 1, 2];
    for (let k = 0; k < 32; k++) {
      pair[k] = previous[previousAt + k];
      pair[32 + k] = links[at + k];
    }
    if (hash('sha256', pair, 'buffer').compare(links, at + 64, at + 96) !== 0) return [i, versions[r], 1];
    previous = links;
    previousAt = at + 64;
  }
  if (version !== run.length || headHash !== previous.toString('hex', previousAt, previousAt + 32)) return [run.length, run.length + 1, 3];
  return [run.length, 0, 0];
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
      const page = await copiedRuns(heads.streamIds);
      const verdicts = [];
      for (let i = 0; i < page.runs.length; i++) verdicts.push(...walk(page, page.runs[i], heads.versions[i], heads.hashes[i]));
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
