import { readLinks, verifyLinks, type ChainVerification } from './hash-chain';
import type { EventStore, StoredLink, StreamHead } from './port';

export interface StoreVerification {
  ok: boolean;
  checkedEvents: number;
  checkedStreams: number;
  /** The first stream found broken, in stream-id order, and where. */
  streamId?: string;
  firstBadVersion?: number;
  problem?: ChainVerification['problem'];
}

export interface VerificationProgress {
  checkedEvents: number;
  checkedStreams: number;
}

/** Re-computes one stream's hash chain from the stored rows and compares it with its head. */
export async function verifyStream(store: EventStore, streamId: string): Promise<StoreVerification> {
  const head = await store.streamHead(streamId);
  const result = verifyLinks(await readLinks(store, [streamId]), head ?? { version: 0, hash: '0'.repeat(64) });
  return { ...result, checkedStreams: 1, ...(result.ok ? {} : { streamId }) };
}

/** How many streams and events the store holds, from its heads (a cheap pass: no event is read). */
export async function measureStore(store: EventStore, pageSize = 10_000): Promise<{ streams: number; events: number }> {
  let streams = 0;
  let events = 0;
  for (let after: string | undefined; ; ) {
    const heads = await store.listStreams({ afterStreamId: after, limit: pageSize });
    if (heads.length === 0) return { streams, events };
    streams += heads.length;
    for (const head of heads) events += head.version;
    after = heads[heads.length - 1].streamId;
  }
}

/** A page of streams with their stored events' links, ordered by stream id then version. */
export interface StoredPage {
  heads: StreamHead[];
  events: StoredLink[];
}

/**
 * Pages of streams, each with what `read` makes of it, `ahead` pages being read while the current
 * one is checked. Why: hashing is CPU in this process (or its workers) and the reads are work for
 * the database (another core); overlapping them keeps both busy instead of taking turns. Three
 * ahead: on PostgreSQL two worker threads each read and hash one page while their connection reads
 * the next. The heads of the next page come from the last page's, so they are listed in turn; the
 * reads overlap.
 */
export async function* readAhead<T>(
  nextHeads: (previous: StreamHead[] | undefined) => Promise<StreamHead[]>,
  read: (heads: StreamHead[]) => Promise<T>,
  ahead = 3,
): AsyncGenerator<{ heads: StreamHead[]; read: T }> {
  const reads: Promise<{ heads: StreamHead[]; read?: T }>[] = [];
  let previous: StreamHead[] | undefined;
  let exhausted = false;
  // Each read waits for the heads before it, then reads its page without waiting for theirs.
  let headsChain: Promise<StreamHead[] | undefined> = Promise.resolve(undefined);
  const schedule = () => {
    const heads = headsChain.then((before) => (exhausted ? [] : nextHeads(before ?? previous)));
    headsChain = heads;
    const page = heads.then(async (list) => {
      if (list.length === 0) {
        exhausted = true;
        return { heads: list };
      }
      return { heads: list, read: await read(list) };
    });
    // The consumer may stop early (a broken chain): a failing read-ahead must not go unhandled.
    page.catch(() => undefined);
    reads.push(page);
  };
  for (let i = 0; i <= ahead; i++) schedule();
  for (;;) {
    const page = await (reads.shift() as Promise<{ heads: StreamHead[]; read?: T }>);
    if (page.heads.length === 0) return;
    previous = page.heads;
    schedule();
    yield page as { heads: StreamHead[]; read: T };
  }
}

/** Pages of streams and their stored links (see readAhead). */
export async function* prefetchedPages(
  store: EventStore,
  nextHeads: (previous: StreamHead[] | undefined) => Promise<StreamHead[]>,
  ahead = 3,
): AsyncGenerator<StoredPage> {
  for await (const page of readAhead(nextHeads, (heads) => readLinks(store, heads.map((head) => head.streamId)), ahead)) {
    yield { heads: page.heads, events: page.read };
  }
}

/**
 * verifyLinks of each of these streams against its head, in order: the adapter's own walk where it
 * has one (on PostgreSQL a worker thread reads, hashes and walks a page and answers only the
 * verdicts), else from the stored links.
 */
export async function verifyChains(store: EventStore, heads: StreamHead[]): Promise<ChainVerification[]> {
  if (store.verifyStoredChains) return store.verifyStoredChains(heads);
  return verifyPage({ heads, events: await readLinks(store, heads.map((head) => head.streamId)) });
}

/** verifyLinks of each stream of a page against its head, in the page's order. */
export const verifyPage = (page: StoredPage): ChainVerification[] => [...streamsOf(page)].map(([head, events]) => verifyLinks(events, head));

/** Splits a page's events (ordered by stream id, then version) into one run per head. */
export function* streamsOf(page: StoredPage): Generator<[StreamHead, StoredLink[]]> {
  let start = 0;
  for (const head of page.heads) {
    let end = start;
    while (end < page.events.length && page.events[end].streamId === head.streamId) end++;
    yield [head, page.events.slice(start, end)];
    start = end;
  }
}

/** Walks every stream's chain, a page of streams at a time, reporting progress after each page. */
export async function verifyStore(
  store: EventStore,
  options: { pageSize?: number; onProgress?(progress: VerificationProgress): void } = {},
): Promise<StoreVerification> {
  let checkedEvents = 0;
  let checkedStreams = 0;
  // 1,000 streams a page (about 9,000 events of a case history): fewer, larger reads. Side by side
  // on 1.16M events, second walks: 500 → 82.6k / 92.0k events/s, 1,000 → 103.6k / 107.6k.
  const limit = options.pageSize ?? 1000;
  const pages = readAhead(
    (previous) => store.listStreams({ afterStreamId: previous?.[previous.length - 1].streamId, limit }),
    (heads) => verifyChains(store, heads),
  );
  for await (const page of pages) {
    for (const [index, result] of page.read.entries()) {
      const head = page.heads[index];
      checkedEvents += result.checkedEvents;
      checkedStreams++;
      if (!result.ok) {
        await pages.return(undefined);
        return { ok: false, checkedEvents, checkedStreams, streamId: head.streamId, firstBadVersion: result.firstBadVersion, problem: result.problem };
      }
    }
    options.onProgress?.({ checkedEvents, checkedStreams });
  }
  return { ok: true, checkedEvents, checkedStreams };
}
