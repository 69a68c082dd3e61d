import { verifyChain, type ChainVerification } from './hash-chain';
import type { EventStore } from './port';

export interface StoreVerification {
  ok: boolean;
  checkedEvents: number;
  checkedStreams: number;
  /** The first stream found broken, in stream-id order, and where. */
  streamId?: string;
  firstBadVersion?: number;
  problem?: ChainVerification['problem'];
}

/** Re-computes one stream's hash chain from the stored rows and compares it with its head. */
export async function verifyStream(store: EventStore, streamId: string): Promise<StoreVerification> {
  const head = await store.streamHead(streamId);
  const events = await store.readStored([streamId]);
  const result = verifyChain(events, head ?? { version: 0, hash: '0'.repeat(64) });
  return { ...result, checkedStreams: 1, ...(result.ok ? {} : { streamId }) };
}

/** Walks every stream's chain, a page of streams at a time, reporting progress as it goes. */
export async function verifyStore(
  store: EventStore,
  options: { pageSize?: number; onProgress?(progress: { checkedEvents: number; checkedStreams: number }): void } = {},
): Promise<StoreVerification> {
  let checkedEvents = 0;
  let checkedStreams = 0;
  let after: string | undefined;
  for (;;) {
    const heads = await store.listStreams({ afterStreamId: after, limit: options.pageSize ?? 500 });
    if (heads.length === 0) return { ok: true, checkedEvents, checkedStreams };
    const events = await store.readStored(heads.map((head) => head.streamId));
    let start = 0;
    for (const head of heads) {
      let end = start;
      while (end < events.length && events[end].streamId === head.streamId) end++;
      const result = verifyChain(events.slice(start, end), head);
      checkedEvents += result.checkedEvents;
      checkedStreams++;
      if (!result.ok) {
        return { ok: false, checkedEvents, checkedStreams, streamId: head.streamId, firstBadVersion: result.firstBadVersion, problem: result.problem };
      }
      start = end;
    }
    options.onProgress?.({ checkedEvents, checkedStreams });
    after = heads[heads.length - 1].streamId;
  }
}
