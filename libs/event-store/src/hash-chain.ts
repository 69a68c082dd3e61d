import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { EventStore, StoredEvent, StoredLink } from './port';

/**
 * Hash chain: link(n) = SHA-256(link(n-1) ‖ content(n)), link(0) = 32 zero bytes, where
 * content(n) = SHA-256(canonical JSON of {streamId, type, data, metadata}). The event id and the
 * recorded-at time live in the metadata, so they are covered; the version is covered by the
 * chain's order. Altering, removing or reordering any event breaks every link from it onwards.
 */
export const GENESIS_HASH = '0'.repeat(64);

export function contentHash(event: { streamId: string; type: string; data: unknown; metadata: unknown }): string {
  return contentHashOfCanonical(canonicalContent(event));
}

/** The canonical text that content(n) hashes; its length is also the event's size. */
export function canonicalContent(event: { streamId: string; type: string; data: unknown; metadata: unknown }): string {
  return canonicalJson({ streamId: event.streamId, type: event.type, data: event.data, metadata: event.metadata });
}

// crypto.hash: one-shot, without a Hash object per call (whole-store verification makes millions).
export function contentHashOfCanonical(canonical: string): string {
  return hash('sha256', canonical, 'hex');
}

export function linkHash(previousHex: string, contentHex: string): string {
  return hash('sha256', Buffer.from(previousHex + contentHex, 'hex'), 'hex');
}

/** A stored event reduced to what a chain walk needs. */
export const linkOf = (event: StoredEvent): StoredLink => ({
  streamId: event.streamId,
  version: event.version,
  contentHash: contentHash(event),
  previousHash: event.previousHash,
  hash: event.hash,
});

/** The stored links of these streams: the adapter's fast path when it has one. */
export async function readLinks(store: EventStore, streamIds: string[]): Promise<StoredLink[]> {
  if (streamIds.length === 0) return [];
  return store.readStoredLinks ? store.readStoredLinks(streamIds) : (await store.readStored(streamIds)).map(linkOf);
}

export interface ChainVerification {
  ok: boolean;
  checkedEvents: number;
  /** First version whose link does not follow from the events before it. */
  firstBadVersion?: number;
  problem?: 'altered' | 'missing_or_reordered' | 'head_mismatch';
}

/**
 * Walks one stream's stored events in version order. `head` is the stream's recorded version and
 * last link (when the adapter keeps one) so that a truncated tail is caught too.
 */
export function verifyChain(events: StoredEvent[], head?: { version: number; hash: string }): ChainVerification {
  return verifyLinks(events.map(linkOf), head);
}

/** verifyChain over links whose content hashes are already computed. */
export function verifyLinks(events: StoredLink[], head?: { version: number; hash: string }): ChainVerification {
  let previous = GENESIS_HASH;
  let expectedVersion = 1;
  for (const [index, event] of events.entries()) {
    if (event.version !== expectedVersion || event.previousHash !== previous) {
      return { ok: false, checkedEvents: index, firstBadVersion: expectedVersion, problem: 'missing_or_reordered' };
    }
    if (linkHash(previous, event.contentHash) !== event.hash) {
      return { ok: false, checkedEvents: index, firstBadVersion: event.version, problem: 'altered' };
    }
    previous = event.hash;
    expectedVersion++;
  }
  if (head && (head.version !== events.length || head.hash !== previous)) {
    return { ok: false, checkedEvents: events.length, firstBadVersion: events.length + 1, problem: 'head_mismatch' };
  }
  return { ok: true, checkedEvents: events.length };
}
