import { createHash } from 'node:crypto';
import { caseDecider, caseStream, replay, type CaseEvent, type CaseState } from '@caseline/domain';
import { canonicalJson, type EventStore, type RecordedEvent, type SqlDatabase } from '@caseline/event-store';
import type { PersonalData } from '@caseline/platform';

/** What replay needs of personal data: marking sealed values, and opening them on the way out. */
export type SealedValues = Pick<PersonalData, 'markOrigins' | 'openMarked'>;

/** A case as it stood at a version: replayed through the domain's own evolve, personal data opened. */
export interface CaseStateAt {
  caseId: string;
  /** The last event applied (0: the case did not exist yet). */
  version: number;
  recordedAt: string | null;
  state: CaseState;
}

/** Where to stop: the last event recorded by `asOf`, or `version` (capped at the stream's end). */
export interface ReplayPoint {
  asOf?: string;
  version?: number;
}

/**
 * Case snapshots: the case state folded up to a version, taken by CaseReplay every `interval`
 * events (further apart as the state grows, see CaseReplay.bytesPerEvent), so that a state as of
 * any point replays only the events since the nearest one.
 *
 * Privacy: a snapshot is folded from the *sealed* events (each sealed value marked with its origin,
 * see PersonalData.markOrigins) and is opened only on the way out. It holds nothing the events
 * do not hold, in the same form: the same ciphertext, under the person's key. Erasing the person
 * destroys that key and so shreds every snapshot too; nothing needs to be found and deleted.
 *
 * Validity: each snapshot names the hash of the event it was taken at (a rewritten stream's
 * snapshots no longer match and are ignored) and a fingerprint of the evolve function (below), so
 * a deployment whose evolve folds differently ignores the snapshots of the one before.
 */
export class CaseSnapshots {
  /**
   * Snapshots read or taken lately, parsed, by stream, fingerprint and version, least recently used first.
   * Why: an auditor replays one case at many points, and a long case's snapshot is hundreds of
   * kilobytes to read and parse (a third of a replay). Each entry names the event hash it was
   * taken at, and is used only while the stored row names the same one. What is kept is the sealed
   * form the table holds (no plaintext), and folded states are never changed in place.
   */
  private readonly parsed = new Map<string, { eventHash: string; state: CaseState; size: number }>();
  private parsedSize = 0;

  private constructor(
    private readonly db: SqlDatabase,
    /** The most snapshot text, in characters, kept parsed (the objects take a few times that). */
    private readonly parsedLimit = 32 * 1024 * 1024,
  ) {}

  static async open(db: SqlDatabase, options: { parsedLimit?: number } = {}): Promise<CaseSnapshots> {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(7358217)`);
      // state as text, not jsonb: read back with one JSON.parse, no jsonb-to-text conversion.
      await tx.exec(`CREATE TABLE IF NOT EXISTS case_snapshots (
        stream_id   text NOT NULL,
        fingerprint text NOT NULL,
        version     bigint NOT NULL,
        event_hash  text NOT NULL,
        state       text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream_id, fingerprint, version)
      )`);
      // Stored out of line, uncompressed: a long case's snapshot is hundreds of kilobytes, and
      // decompressing it took longer than reading it (side by side on a 10,000-event case: 6.3 ms
      // a read compressed, 3.5 ms not), at the price of more disk. Applies to snapshots written
      // from now on. Only an optimisation: should the table be locked or owned by another role,
      // snapshots go on compressed rather than the service failing to start.
      const { rows } = await tx.query<{ storage: string }>(`SELECT attstorage AS storage FROM pg_attribute WHERE attrelid = 'case_snapshots'::regclass AND attname = 'state'`);
      if (rows[0]?.storage !== 'e') {
        await tx.exec(`SAVEPOINT snapshot_storage`);
        try {
          await tx.exec(`SET LOCAL lock_timeout = '2s'`);
          await tx.exec(`ALTER TABLE case_snapshots ALTER COLUMN state SET STORAGE EXTERNAL`);
          await tx.exec(`RELEASE SAVEPOINT snapshot_storage`);
        } catch {
          await tx.exec(`ROLLBACK TO SAVEPOINT snapshot_storage`);
        }
      }
    });
    return new CaseSnapshots(db, options.parsedLimit);
  }

  /** The snapshot nearest at or before a version, with `size`, the length of its text. */
  async nearest(streamId: string, fingerprint: string, atOrBefore: number): Promise<{ version: number; eventHash: string; state: CaseState; size: number } | undefined> {
    const prefix = keyPrefix(streamId, fingerprint);
    const parsedVersions: number[] = [];
    for (const key of this.parsed.keys()) if (key.startsWith(prefix)) parsedVersions.push(Number(key.slice(prefix.length)));
    // The state text comes only when this version is not kept parsed.
    const { rows } = await this.db.query<{ version: string; event_hash: string; state: string | null }>(
      // Qualified: an unqualified ORDER BY would sort the text output column (800 > 7800).
      `SELECT s.version::text AS version, s.event_hash, CASE WHEN s.version = ANY($4::bigint[]) THEN NULL ELSE s.state END AS state
         FROM case_snapshots s
        WHERE s.stream_id = $1 AND s.fingerprint = $2 AND s.version <= $3 ORDER BY s.version DESC LIMIT 1`,
      [streamId, fingerprint, atOrBefore, parsedVersions],
      'caseline_snapshot_nearest_parsed',
    );
    if (rows.length === 0) return undefined;
    const version = Number(rows[0].version);
    const eventHash = rows[0].event_hash;
    const key = prefix + version;
    const kept = this.parsed.get(key);
    if (kept) this.forget(key);
    if (kept && kept.eventHash === eventHash) {
      this.parsed.set(key, kept);
      this.parsedSize += kept.size;
      return { version, eventHash, state: kept.state, size: kept.size };
    }
    // Not kept, or kept from before the stream was rewritten (another event hash): read it now.
    const text = rows[0].state ?? (await this.stateText(streamId, fingerprint, version));
    if (text === undefined) return undefined;
    const state = JSON.parse(text) as CaseState;
    this.keep(key, { eventHash, state, size: text.length });
    return { version, eventHash, state, size: text.length };
  }

  /** Keeps a parsed snapshot (`size`: its text's length), dropping the least recently used past the limit. */
  private keep(key: string, entry: { eventHash: string; state: CaseState; size: number }): void {
    if (entry.size > this.parsedLimit / 4) return;
    // Another call may have kept it meanwhile: counted once.
    this.forget(key);
    this.parsed.set(key, entry);
    this.parsedSize += entry.size;
    for (const [oldest] of this.parsed) {
      if (this.parsedSize <= this.parsedLimit) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    const kept = this.parsed.get(key);
    if (!kept) return;
    this.parsed.delete(key);
    this.parsedSize -= kept.size;
  }

  private async stateText(streamId: string, fingerprint: string, version: number): Promise<string | undefined> {
    const { rows } = await this.db.query<{ state: string }>(
      `SELECT state FROM case_snapshots WHERE stream_id = $1 AND fingerprint = $2 AND version = $3`,
      [streamId, fingerprint, version],
    );
    return rows[0]?.state;
  }

  /** Stores snapshots; `text` is JSON.stringify of the state (written once, by the replay that took it). */
  async save(streamId: string, fingerprint: string, snapshots: { version: number; eventHash: string; state: CaseState; text: string }[]): Promise<void> {
    if (snapshots.length === 0) return;
    // Two replays may take the same snapshot at once: the same state either way, the first one
    // stays. One taken before the stream was rewritten (another event hash) is replaced. A row
    // each, not one statement over arrays: a long case's states are hundreds of kilobytes of JSON,
    // which a text[] literal escapes quote by quote and PostgreSQL parses back (side by side, 50
    // snapshots of a 10,000-event case: 2,031 ms as one array, 286 ms as 50 rows).
    await this.db.transaction(async (tx) => {
      for (const snapshot of snapshots) {
        await tx.query(
          `INSERT INTO case_snapshots AS c (stream_id, fingerprint, version, event_hash, state) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (stream_id, fingerprint, version) DO UPDATE SET event_hash = excluded.event_hash, state = excluded.state, created_at = now()
             WHERE c.event_hash <> excluded.event_hash`,
          [streamId, fingerprint, snapshot.version, snapshot.eventHash, snapshot.text],
        );
      }
    });
    // Kept parsed too, as if just read: the auditor who took them goes on to ask near them. The
    // folded states are never changed afterwards (see caseDecider.evolveAll), and each is used
    // only while the stored row names its event hash (nearest compares).
    for (const s of snapshots) this.keep(keyPrefix(streamId, fingerprint) + s.version, { eventHash: s.eventHash, state: s.state, size: s.text.length });
  }

  /** Drops every snapshot of a stream (e.g. after a repair); they are rebuilt by the next replay. */
  async discard(streamId: string): Promise<void> {
    for (const key of [...this.parsed.keys()]) if (key.startsWith(`${streamId}\n`)) this.forget(key);
    await this.db.query(`DELETE FROM case_snapshots WHERE stream_id = $1`, [streamId]);
  }
}

/** The start of a kept snapshot's key (then its version): stream, then fingerprint. */
const keyPrefix = (streamId: string, fingerprint: string): string => `${streamId}\n${fingerprint}\n`;

/** Raise when a change to evolve is not visible in the probe below but changes what it folds. */
const SNAPSHOT_REVISION = 1;

/**
 * Fingerprint of the case evolve function: the states it folds from a probe history that uses
 * every case event. A change in what evolve keeps changes the fingerprint and retires old snapshots.
 */
export function caseEvolveFingerprint(): string {
  const caseId = '00000000-0000-4000-8000-000000000001';
  const at = '2024-01-01T00:00:00.000Z';
  const probe: CaseEvent[] = [
    { type: 'CaseOpened', data: { caseId, personId: 'p', team: 't', reason: 'other', risk: 'low', summary: 's', cadIncidentId: 'c', openedAt: at } },
    { type: 'CaseAssigned', data: { caseId, workerId: 'w', previousWorkerId: null, assignedAt: at } },
    { type: 'RiskLevelChanged', data: { caseId, from: 'low', to: 'high', reason: 'r', changedAt: at } },
    { type: 'WelfareCheckRecorded', data: { caseId, welfareCheckId: 'wc', performedAt: at, location: 'l', outcome: 'safe', observations: 'o', recordedAt: at } },
    { type: 'NoteAdded', data: { caseId, noteId: 'n', body: 'b', visibility: 'team', addedAt: at } },
    { type: 'FollowUpScheduled', data: { caseId, followUpId: 'f1', dueAt: at, assigneeId: 'w', purpose: 'p', scheduledAt: at } },
    { type: 'FollowUpScheduled', data: { caseId, followUpId: 'f2', dueAt: at, assigneeId: 'w', purpose: 'p', scheduledAt: at } },
    { type: 'FollowUpCompleted', data: { caseId, followUpId: 'f1', outcome: 'o', note: 'n', completedAt: at } },
    { type: 'FollowUpCancelled', data: { caseId, followUpId: 'f2', reason: 'r', cancelledAt: at } },
    { type: 'CaseClosed', data: { caseId, disposition: 'resolved', note: 'n', closedAt: at } },
    { type: 'CaseReopened', data: { caseId, reason: 'r', reopenedAt: at } },
  ];
  const hash = createHash('sha256').update(`revision ${SNAPSHOT_REVISION}\n`);
  let state = caseDecider.initialState();
  for (const event of probe) hash.update(canonicalJson((state = caseDecider.evolve(state, event))));
  return hash.digest('hex').slice(0, 32);
}

/**
 * Replays cases to a point in their history: from the nearest snapshot at or before it when
 * snapshots are kept, else from the start. Takes the snapshots it passes on the way.
 */
export class CaseReplay {
  readonly fingerprint = caseEvolveFingerprint();

  constructor(
    private readonly store: EventStore,
    /** PersonalData; or, without the master key, marks only (the state is answered sealed). */
    private readonly personalData: SealedValues,
    private readonly snapshots?: CaseSnapshots,
    /** Events between snapshots, at least (snapshots are taken at multiples of it). */
    readonly interval = 200,
    /**
     * Snapshot text kept per event, at most, on average: the next snapshot waits for as many
     * events as the last one's text has characters divided by this (and falls on a multiple of
     * `interval`). Why: a case's state grows with its events (ids, follow-ups), so snapshots every
     * `interval` events would grow with their square (a 10,000-event case: 50 snapshots, 29 MB).
     * With this, a case's snapshots hold about this many characters per event at most (plus the last
     * one), and a replay folds fewer events past its snapshot than the first multiple of `interval`
     * at or past max(interval, its size ÷ this) (a 640 KB snapshot: fewer than 400).
     */
    readonly bytesPerEvent = 3072,
  ) {}

  async stateAt(caseId: string, point: ReplayPoint): Promise<CaseStateAt> {
    const streamId = caseStream(caseId);
    const [target] = await this.store.readStream(streamId, { toVersion: point.version, asOf: point.asOf, direction: 'backwards', maxCount: 1 });
    if (!target) return { caseId, version: 0, recordedAt: null, state: caseDecider.initialState() };
    const snapshot = this.snapshots ? await this.snapshots.nearest(streamId, this.fingerprint, target.version) : undefined;
    let events = await this.store.readStream(streamId, { fromVersion: snapshot?.version ?? 1, toVersion: target.version });
    let state = caseDecider.initialState();
    let from = 1;
    // The last snapshot on the way, and its size.
    let lastTaken = 0;
    let lastSize = 0;
    if (snapshot && events[0]?.version === snapshot.version && events[0].hash === snapshot.eventHash) {
      state = snapshot.state;
      from = snapshot.version + 1;
      [lastTaken, lastSize] = [snapshot.version, snapshot.size];
      events = events.slice(1);
    } else if (snapshot) {
      // The stream no longer leads to the snapshot (rewritten): ignore it, replay from the start,
      // and drop the stream's snapshots, which the replay takes again where they fall now (a stale
      // one at a version the new spacing skips would otherwise send every later replay back here).
      await this.snapshots?.discard(streamId);
      events = await this.store.readStream(streamId, { toVersion: target.version });
    }
    const taken: { version: number; eventHash: string; state: CaseState; text: string }[] = [];
    // Folded a run at a time, each run ending at a snapshot's version: the states taken are never
    // changed by the folds after them (see caseDecider.evolveAll).
    let run: CaseEvent[] = [];
    for (const event of events) {
      run.push({ type: event.type, data: this.personalData.markOrigins(event.type, event.data) } as CaseEvent);
      if (this.snapshots && event.version % this.interval === 0 && event.version >= from && event.version - lastTaken >= lastSize / this.bytesPerEvent) {
        state = replay(caseDecider, run, state);
        run = [];
        const text = JSON.stringify(state);
        taken.push({ version: event.version, eventHash: event.hash, state, text });
        [lastTaken, lastSize] = [event.version, text.length];
      }
    }
    state = replay(caseDecider, run, state);
    if (taken.length) await this.snapshots?.save(streamId, this.fingerprint, taken);
    return { caseId, version: target.version, recordedAt: target.metadata.recordedAt, state: await this.personalData.openMarked(state) };
  }
}

/**
 * The reference replay: every event opened, then folded from the start — what the snapshots must
 * always agree with (the audit tests compare the two at many points).
 */
export async function replayCaseFromStart(store: EventStore, personalData: PersonalData, caseId: string, point: ReplayPoint): Promise<CaseStateAt> {
  const events: RecordedEvent[] = await store.readStream(caseStream(caseId), { toVersion: point.version, asOf: point.asOf });
  let state = caseDecider.initialState();
  for (const event of events) state = caseDecider.evolve(state, { type: event.type, data: await personalData.open(event.type, event.data) } as CaseEvent);
  const last = events.at(-1);
  return { caseId, version: last?.version ?? 0, recordedAt: last?.metadata.recordedAt ?? null, state };
}
