import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, SqlDatabase } from '@caseline/event-store';
import { projectBatch, shadowTables, type Projection } from '../projection';

// Test helpers for the read side: a small casework history appended to a store, table dumps,
// and a fresh replay into shadow tables to compare against.

const actor = { id: 'sw-1', name: 'Sam Worker', role: 'social_worker', team: 'north' };

export function caseworkEvent(type: string, data: Record<string, unknown>, recordedAt = new Date().toISOString()): NewEvent {
  return {
    type,
    data,
    metadata: { eventId: randomUUID(), actor, correlationId: randomUUID(), causationId: randomUUID(), recordedAt, schemaVersion: 1 },
  };
}

/** One person's case from opening to a placed shelter referral: 12 events over 3 streams. */
export async function appendCaseStory(store: EventStore): Promise<{ personId: string; caseId: string; referralId: string; followUpId: string; checkpoint: string }> {
  const personId = randomUUID();
  const caseId = randomUUID();
  const referralId = randomUUID();
  const followUpId = randomUUID();
  const at = (minutes: number) => new Date(Date.UTC(2026, 0, 10, 9, minutes)).toISOString();
  await store.append(`person-${personId}`, [
    caseworkEvent('PersonRegistered', { personId, givenName: 'sealed-given', familyName: 'sealed-family', registeredAt: at(0) }),
    caseworkEvent('ConsentGranted', { personId, consentId: randomUUID(), scope: 'referral-sharing', recipients: ['any'], expiresAt: null, grantedAt: at(1) }),
  ]);
  await store.append(`case-${caseId}`, [
    caseworkEvent('CaseOpened', { caseId, personId, team: 'north', reason: 'homelessness', risk: 'medium', summary: 's', cadIncidentId: null, openedAt: at(2) }),
    caseworkEvent('CaseAssigned', { caseId, workerId: 'sw-1', previousWorkerId: null, assignedAt: at(3) }),
    caseworkEvent('WelfareCheckRecorded', { caseId, welfareCheckId: randomUUID(), performedAt: at(4), location: 'l', outcome: 'safe', observations: 'o', recordedAt: at(4) }),
    caseworkEvent('NoteAdded', { caseId, noteId: randomUUID(), body: 'b', visibility: 'confidential', addedAt: at(5) }),
    caseworkEvent('FollowUpScheduled', { caseId, followUpId, dueAt: at(600), assigneeId: 'sw-1', purpose: 'p', scheduledAt: at(6) }),
  ]);
  await store.append(`referral-${referralId}`, [
    caseworkEvent('ReferralMade', {
      referralId,
      caseId,
      personId,
      team: 'north',
      type: 'shelter',
      provider: { name: 'Harbor House' },
      urgency: 'urgent',
      notes: null,
      consentBasis: { kind: 'consent', consentId: randomUUID() },
      madeAt: at(7),
    }),
    caseworkEvent('ReferralAccepted', { referralId, note: null, acceptedAt: at(30) }),
    caseworkEvent('ReferralServiceStarted', { referralId, startedAt: at(90), note: null, recordedAt: at(90) }),
  ]);
  const last = await store.append(`case-${caseId}`, [
    caseworkEvent('FollowUpCompleted', { caseId, followUpId, outcome: 'met', note: null, completedAt: at(120) }),
    caseworkEvent('RiskLevelChanged', { caseId, from: 'medium', to: 'low', reason: 'r', changedAt: at(121) }),
  ]);
  return { personId, caseId, referralId, followUpId, checkpoint: last.checkpoint };
}

/** Every row of each table, in key order, as JSON. */
export async function dumpTables(db: SqlDatabase, projections: readonly Projection[], names: (table: string) => string = (t) => t): Promise<Record<string, unknown[]>> {
  const dump: Record<string, unknown[]> = {};
  for (const projection of projections) {
    for (const table of projection.tables) {
      const { rows } = await db.query<{ row: unknown }>(`SELECT to_jsonb(t) AS row FROM ${names(table.name)} t ORDER BY ${table.key}`);
      dump[table.name] = rows.map((r) => r.row);
    }
  }
  return dump;
}

/**
 * Replays the whole store, up to `until` (a checkpoint every event of interest is at or before),
 * into fresh shadow tables (`<table>__next`) and dumps them. Why `until`: delivery stops below the
 * oldest transaction open anywhere on the server, so "nothing more to read" can come early.
 */
export async function freshReplay(db: SqlDatabase, store: EventStore, projections: readonly Projection[], until?: string): Promise<Record<string, unknown[]>> {
  for (const projection of projections) {
    for (const table of projection.tables) {
      await db.exec(`DROP TABLE IF EXISTS ${shadowTables(table.name)}; CREATE TABLE ${shadowTables(table.name)} (LIKE ${table.name} INCLUDING ALL)`);
    }
  }
  let after: string | undefined;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 1000 });
    if (batch.events.length === 0) {
      if (until === undefined || (after !== undefined && store.compareCheckpoints(after, until) >= 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    await db.transaction(async (tx) => {
      for (const projection of projections) await projectBatch(tx, projection, batch.events, shadowTables);
    });
    after = batch.checkpoint;
  }
  const dump = await dumpTables(db, projections, shadowTables);
  for (const projection of projections) for (const table of projection.tables) await db.exec(`DROP TABLE ${shadowTables(table.name)}`);
  return dump;
}

export async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
