import { caseStream, personStream, type CaseOpened } from '@caseline/domain';
import { SqlEventStore, type EventStore, type StoredEvent } from '@caseline/event-store';
import type { PersonalData } from '@caseline/platform';

/** One stored event as exported: exactly as stored (so every link can be recomputed offline). */
export interface ExportedEvent {
  streamId: string;
  version: number;
  position: string;
  type: string;
  /** As stored: personal data sealed. */
  data: unknown;
  /** The same data with personal data opened (erased people read as "[erased]"), when a key was given. */
  opened?: unknown;
  metadata: StoredEvent['metadata'];
  previousHash: string;
  hash: string;
}

export interface CaseHistory {
  format: 'caseline-case-history/1';
  caseId: string;
  personId: string | null;
  exportedAt: string;
  /** `opened` when the master key was available, `sealed` otherwise. */
  personalData: 'opened' | 'sealed';
  streams: { streamId: string; role: 'case' | 'person' | 'referral'; events: ExportedEvent[] }[];
}

/**
 * The referral streams made for a case. Referrals name their case in ReferralMade; nothing points
 * the other way, so this is a search: one query on the SQL store, a read of `$all` elsewhere.
 */
export async function referralsOfCase(store: EventStore, caseId: string): Promise<string[]> {
  if (store instanceof SqlEventStore) {
    const { rows } = await store.db.query<{ stream_id: string }>(
      `SELECT stream_id FROM es_events WHERE type = 'ReferralMade' AND data->>'caseId' = $1 ORDER BY stream_id COLLATE "C"`,
      [caseId],
    );
    return rows.map((row) => row.stream_id);
  }
  const found: string[] = [];
  for (let after: string | undefined; ; ) {
    const batch = await store.readAll({ after, maxCount: 5000 });
    if (batch.events.length === 0) return found.sort();
    for (const event of batch.events) if (event.type === 'ReferralMade' && (event.data as { caseId?: unknown }).caseId === caseId) found.push(event.streamId);
    after = batch.checkpoint;
  }
}

/** A case's full history: its stream, its person's, its referrals', with every event's place and links. */
export async function exportCaseHistory(store: EventStore, caseId: string, options: { personalData?: PersonalData; now?: () => Date } = {}): Promise<CaseHistory | undefined> {
  const caseEvents = await store.readStored([caseStream(caseId)]);
  if (caseEvents.length === 0) return undefined;
  const opened = caseEvents.find((event) => event.type === 'CaseOpened')?.data as CaseOpened['data'] | undefined;
  const personId = opened?.personId ?? null;
  const referrals = await referralsOfCase(store, caseId);
  const streams: CaseHistory['streams'] = [{ streamId: caseStream(caseId), role: 'case', events: await exportEvents(caseEvents, options.personalData) }];
  if (personId) streams.push({ streamId: personStream(personId), role: 'person', events: await exportEvents(await store.readStored([personStream(personId)]), options.personalData) });
  for (const streamId of referrals) {
    streams.push({ streamId, role: 'referral', events: await exportEvents(await store.readStored([streamId]), options.personalData) });
  }
  return {
    format: 'caseline-case-history/1',
    caseId,
    personId,
    exportedAt: (options.now?.() ?? new Date()).toISOString(),
    personalData: options.personalData ? 'opened' : 'sealed',
    streams,
  };
}

async function exportEvents(events: StoredEvent[], personalData?: PersonalData): Promise<ExportedEvent[]> {
  return Promise.all(
    events.map(async (event) => ({
      streamId: event.streamId,
      version: event.version,
      position: event.position.toString(),
      type: event.type,
      data: event.data,
      ...(personalData ? { opened: await personalData.open(event.type, event.data) } : {}),
      metadata: event.metadata,
      previousHash: event.previousHash,
      hash: event.hash,
    })),
  );
}
