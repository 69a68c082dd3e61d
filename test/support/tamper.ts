import { contentHash, GENESIS_HASH, linkHash, type EventStore, type SqlDatabase } from '@caseline/event-store';

/**
 * Rewrites one event of a stream the way an attacker with database access and the source code
 * would: new data, then every link from there on recomputed and the head moved to match, so that
 * the stream's own chain verifies again. Only a digest signed earlier can tell.
 */
export async function rewriteConsistently(db: SqlDatabase, store: EventStore, streamId: string, version: number, change: (data: Record<string, unknown>) => unknown): Promise<void> {
  const events = await store.readStored([streamId]);
  let previous = GENESIS_HASH;
  await db.transaction(async (tx) => {
    for (const event of events) {
      const data = event.version === version ? change(structuredClone(event.data) as Record<string, unknown>) : event.data;
      const hash = linkHash(previous, contentHash({ streamId, type: event.type, data, metadata: event.metadata }));
      await tx.query(`UPDATE es_events SET data = $3::jsonb, previous_hash = decode($4, 'hex'), hash = decode($5, 'hex') WHERE stream_id = $1 AND version = $2`, [
        streamId,
        event.version,
        JSON.stringify(data),
        previous,
        hash,
      ]);
      if (event.version === events.length) {
        await tx.query(`UPDATE es_streams SET previous_head = decode($2, 'hex'), last_hash = decode($3, 'hex') WHERE stream_id = $1`, [streamId, previous, hash]);
      }
      previous = hash;
    }
  });
}
