import { createHash } from 'node:crypto';
import { GENESIS_HASH, linkHash } from './hash-chain';
import type { EventStore, StoredLink, StreamHead } from './port';
import { prefetchedPages, streamsOf } from './verification';

/**
 * Head digest: every stream's head (version and last link) at one time, and a root hash over them.
 * Each link commits to its whole stream up to it, so once a digest is signed and kept elsewhere,
 * a stream rewritten afterwards — even one whose links were all recomputed, which a chain walk
 * alone cannot tell from the original — no longer leads to the link the digest holds.
 */

/** Heads in stream-id order (UTF-16 code units, which for stream names is byte order). */
export async function collectHeads(store: EventStore, options: { pageSize?: number; onProgress?(streams: number): void } = {}): Promise<StreamHead[]> {
  const heads: StreamHead[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.listStreams({ afterStreamId: after, limit: options.pageSize ?? 10_000 });
    if (page.length === 0) return heads;
    heads.push(...page);
    options.onProgress?.(heads.length);
    after = page[page.length - 1].streamId;
  }
}

/** SHA-256 over one line `<streamId> <version> <hash>\n` per head, in the order given. */
export function headsRootHash(heads: readonly StreamHead[]): string {
  const hash = createHash('sha256');
  for (const head of heads) hash.update(`${head.streamId} ${head.version} ${head.hash}\n`);
  return hash.digest('hex');
}

/** Are these heads strictly in stream-id order (no stream twice)? */
export function inStreamOrder(heads: readonly StreamHead[]): boolean {
  for (let i = 1; i < heads.length; i++) if (!(heads[i - 1].streamId < heads[i].streamId)) return false;
  return true;
}

/**
 * `missing`: the stream no longer has that many events (removed or truncated);
 * `altered`: stored rows no longer match their own links from `firstBadVersion` (a plain walk sees it too);
 * `rewritten`: the chain is consistent but leads elsewhere — recomputed after a rewrite.
 */
export interface HeadProblem {
  streamId: string;
  signedVersion: number;
  problem: 'missing' | 'altered' | 'rewritten';
  firstBadVersion?: number;
}

export interface HeadCheck {
  /** Every head is still a prefix of its stream's chain as recomputed from the stored events. */
  ok: boolean;
  checkedStreams: number;
  checkedEvents: number;
  /** How many heads failed; `problems` lists the first ones in stream-id order. */
  problemCount: number;
  problems: HeadProblem[];
}

/**
 * Recomputes each stream's chain from its stored events (the stored links are not trusted) up to
 * the version in `heads`, and compares the link reached with the one recorded there.
 */
export async function checkHeads(
  store: EventStore,
  heads: readonly StreamHead[],
  options: { pageSize?: number; maxProblems?: number; onProgress?(progress: { checkedEvents: number; checkedStreams: number }): void } = {},
): Promise<HeadCheck> {
  const pageSize = options.pageSize ?? 500;
  const maxProblems = options.maxProblems ?? 100;
  const problems: HeadProblem[] = [];
  let problemCount = 0;
  let checkedStreams = 0;
  let checkedEvents = 0;
  let offset = 0;
  const pages = prefetchedPages(store, async () => {
    const page = heads.slice(offset, offset + pageSize);
    offset += page.length;
    return page;
  });
  for await (const page of pages) {
    for (const [head, events] of streamsOf(page)) {
      const problem = checkPrefix(head, events);
      checkedStreams++;
      checkedEvents += Math.min(head.version, events.length);
      if (problem) {
        problemCount++;
        if (problems.length < maxProblems) problems.push(problem);
      }
    }
    options.onProgress?.({ checkedEvents, checkedStreams });
  }
  return { ok: problemCount === 0, checkedStreams, checkedEvents, problemCount, problems };
}

function checkPrefix(head: StreamHead, events: StoredLink[]): HeadProblem | undefined {
  let link = GENESIS_HASH;
  let firstAltered: number | undefined;
  for (let version = 1; version <= head.version; version++) {
    const event = events[version - 1];
    if (!event || event.version !== version) return { streamId: head.streamId, signedVersion: head.version, problem: 'missing', firstBadVersion: version };
    link = linkHash(link, event.contentHash);
    if (firstAltered === undefined && (link !== event.hash || event.previousHash !== (version === 1 ? GENESIS_HASH : events[version - 2].hash))) {
      firstAltered = version;
    }
  }
  if (link === head.hash) return undefined;
  return firstAltered === undefined
    ? { streamId: head.streamId, signedVersion: head.version, problem: 'rewritten' }
    : { streamId: head.streamId, signedVersion: head.version, problem: 'altered', firstBadVersion: firstAltered };
}
