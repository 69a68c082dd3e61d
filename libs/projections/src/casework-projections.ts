import type { RecordedEvent } from '@caseline/event-store';
import type { Projection, Row, Rows } from './projection';

// The casework projections. Each is pure: an event and the rows it needs in, rows out. Personal
// fields are copied only as the sealed envelopes the events hold (see entities.ts).

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An event this projection cannot handle: it is retried, then parked as a dead letter. */
export class UnprojectableEventError extends Error {
  constructor(event: RecordedEvent, why: string) {
    super(`${event.type} ${event.streamId}@${event.version}: ${why}`);
    this.name = 'UnprojectableEventError';
  }
}

function required(rows: Rows, table: string, key: string, event: RecordedEvent): Row {
  const row = rows.get(table, key);
  if (!row) throw new UnprojectableEventError(event, `no ${table} row ${key}`);
  return row;
}

const later = (a: unknown, b: string): string => (typeof a === 'string' && Date.parse(a) >= Date.parse(b) ? a : b);

/**
 * rm_people: who a case is about, erased or not. Each name part is kept as `{ event, value }`: the
 * sealed value and the type of the event that sealed it (its field is part of what the seal binds).
 */
export const peopleProjection: Projection = {
  name: 'people',
  tables: [{ name: 'rm_people', key: 'person_id', keyType: 'uuid' }],
  needs(event) {
    if (!event.streamId.startsWith('person-') || event.type === 'PersonRegistered') return [];
    return event.type === 'PersonDetailsCorrected' || event.type === 'PersonErased' ? [['rm_people', (event.data as Data).personId]] : [];
  },
  apply(event, rows) {
    const data = event.data as Data;
    switch (event.type) {
      case 'PersonRegistered':
        rows.put('rm_people', {
          person_id: data.personId,
          team: event.metadata.actor.team,
          given_name: { event: event.type, value: data.givenName },
          family_name: { event: event.type, value: data.familyName },
          erased: false,
          registered_at: data.registeredAt,
        });
        return;
      case 'PersonDetailsCorrected': {
        const person = required(rows, 'rm_people', data.personId, event);
        if (person.erased) return;
        const changes = data.changes as Data;
        rows.put('rm_people', {
          ...person,
          given_name: changes.givenName ? { event: event.type, value: changes.givenName } : person.given_name,
          family_name: changes.familyName ? { event: event.type, value: changes.familyName } : person.family_name,
        });
        return;
      }
      case 'PersonErased': {
        // Privacy: the sealed copies go too, not only the key that opens them.
        const person = required(rows, 'rm_people', data.personId, event);
        rows.put('rm_people', { ...person, given_name: null, family_name: null, erased: true });
        return;
      }
    }
  },
};

function scheduledSummary(scheduled: Record<string, string>): string | null {
  const due = Object.values(scheduled).sort((a, b) => Date.parse(a) - Date.parse(b));
  return due[0] ?? null;
}

/** rm_cases (the case summary behind the caseload), rm_follow_ups, rm_welfare_checks. */
export const casesProjection: Projection = {
  name: 'cases',
  tables: [
    { name: 'rm_cases', key: 'case_id', keyType: 'uuid' },
    { name: 'rm_follow_ups', key: 'follow_up_id', keyType: 'uuid' },
    { name: 'rm_welfare_checks', key: 'welfare_check_id', keyType: 'uuid', writeOnly: true, insertOnly: true },
  ],
  needs(event) {
    if (!event.streamId.startsWith('case-')) return [];
    const data = event.data as Data;
    const needs: [string, string][] = [];
    if (event.type !== 'CaseOpened') needs.push(['rm_cases', data.caseId]);
    if (event.type === 'FollowUpCompleted' || event.type === 'FollowUpCancelled') needs.push(['rm_follow_ups', data.followUpId]);
    return needs;
  },
  apply(event, rows) {
    if (!event.streamId.startsWith('case-')) return;
    const data = event.data as Data;
    if (event.type === 'CaseOpened') {
      rows.put('rm_cases', {
        case_id: data.caseId,
        person_id: data.personId,
        team: data.team,
        status: 'open',
        reason: data.reason,
        risk: data.risk,
        assigned_worker_id: null,
        opened_at: data.openedAt,
        closed_at: null,
        disposition: null,
        last_contact_at: null,
        scheduled_follow_ups: {},
        next_follow_up_due_at: null,
        version: event.version,
      });
      return;
    }
    const current = required(rows, 'rm_cases', data.caseId, event);
    let next: Row = { ...current, version: event.version };
    const scheduled = { ...(current.scheduled_follow_ups as Record<string, string>) };
    switch (event.type) {
      case 'CaseAssigned':
        next.assigned_worker_id = data.workerId;
        break;
      case 'RiskLevelChanged':
        next.risk = data.to;
        break;
      case 'WelfareCheckRecorded':
        next.last_contact_at = later(current.last_contact_at, data.performedAt);
        rows.put('rm_welfare_checks', {
          welfare_check_id: data.welfareCheckId,
          case_id: data.caseId,
          person_id: current.person_id,
          team: current.team,
          performed_at: data.performedAt,
          outcome: data.outcome,
        });
        break;
      case 'NoteAdded':
        break;
      case 'FollowUpScheduled':
        scheduled[data.followUpId] = data.dueAt;
        rows.put('rm_follow_ups', {
          follow_up_id: data.followUpId,
          case_id: data.caseId,
          team: current.team,
          assignee_id: data.assigneeId,
          due_at: data.dueAt,
          scheduled_at: data.scheduledAt,
          status: 'scheduled',
          completed_at: null,
          cancelled_at: null,
        });
        break;
      case 'FollowUpCompleted': {
        const followUp = required(rows, 'rm_follow_ups', data.followUpId, event);
        delete scheduled[data.followUpId];
        next.last_contact_at = later(current.last_contact_at, data.completedAt);
        rows.put('rm_follow_ups', { ...followUp, status: 'completed', completed_at: data.completedAt });
        break;
      }
      case 'FollowUpCancelled': {
        const followUp = required(rows, 'rm_follow_ups', data.followUpId, event);
        delete scheduled[data.followUpId];
        rows.put('rm_follow_ups', { ...followUp, status: 'cancelled', cancelled_at: data.cancelledAt });
        break;
      }
      case 'CaseClosed':
        next = { ...next, status: 'closed', closed_at: data.closedAt, disposition: data.disposition };
        break;
      case 'CaseReopened':
        next = { ...next, status: 'open', closed_at: null, disposition: null };
        break;
      default:
        throw new UnprojectableEventError(event, 'not a case event');
    }
    rows.put('rm_cases', { ...next, scheduled_follow_ups: scheduled, next_follow_up_due_at: scheduledSummary(scheduled) });
  },
};

const REFERRAL_STATUS: Record<string, string> = {
  ReferralAccepted: 'accepted',
  ReferralDeclined: 'declined',
  ReferralServiceStarted: 'service_started',
  ReferralClosed: 'closed',
  ReferralRevoked: 'revoked',
};

/** rm_referrals: each referral's closed loop, the source of the referral list and outcomes. */
export const referralsProjection: Projection = {
  name: 'referrals',
  tables: [{ name: 'rm_referrals', key: 'referral_id', keyType: 'uuid' }],
  needs(event) {
    return event.streamId.startsWith('referral-') && event.type !== 'ReferralMade' ? [['rm_referrals', (event.data as Data).referralId]] : [];
  },
  apply(event, rows) {
    if (!event.streamId.startsWith('referral-')) return;
    const data = event.data as Data;
    if (event.type === 'ReferralMade') {
      rows.put('rm_referrals', {
        referral_id: data.referralId,
        case_id: data.caseId,
        person_id: data.personId,
        team: data.team,
        type: data.type,
        provider: data.provider.name,
        urgency: data.urgency,
        status: 'made',
        made_at: data.madeAt,
        first_response_at: null,
        accepted_at: null,
        declined_at: null,
        declined_by: null,
        service_started_at: null,
        closed_at: null,
        outcome: null,
        revoked_at: null,
        version: event.version,
      });
      return;
    }
    const status = REFERRAL_STATUS[event.type];
    if (!status) throw new UnprojectableEventError(event, 'not a referral event');
    const current = required(rows, 'rm_referrals', data.referralId, event);
    const next: Row = { ...current, status, version: event.version };
    if (event.type === 'ReferralAccepted') {
      next.accepted_at = data.acceptedAt;
      next.first_response_at = current.first_response_at ?? data.acceptedAt;
    } else if (event.type === 'ReferralDeclined') {
      next.declined_at = data.declinedAt;
      next.declined_by = data.by;
      next.first_response_at = current.first_response_at ?? data.declinedAt;
    } else if (event.type === 'ReferralServiceStarted') next.service_started_at = data.startedAt;
    else if (event.type === 'ReferralClosed') {
      next.closed_at = data.closedAt;
      next.outcome = data.outcome;
    } else next.revoked_at = data.revokedAt;
    rows.put('rm_referrals', next);
  },
};

/** rm_timeline: one entry per event of a case or of one of its referrals, pointing at the event in the log. */
export const timelineProjection: Projection = {
  name: 'timeline',
  tables: [
    { name: 'rm_timeline', key: 'event_id', keyType: 'uuid', writeOnly: true, insertOnly: true },
    { name: 'rm_timeline_referrals', key: 'referral_id', keyType: 'uuid' },
  ],
  needs(event) {
    return event.streamId.startsWith('referral-') && event.type !== 'ReferralMade' ? [['rm_timeline_referrals', (event.data as Data).referralId]] : [];
  },
  apply(event, rows) {
    const data = event.data as Data;
    let caseId: string;
    let visibility = 'team';
    if (event.streamId.startsWith('case-')) {
      caseId = data.caseId;
      if (event.type === 'NoteAdded' && data.visibility === 'confidential') visibility = 'confidential';
    } else if (event.streamId.startsWith('referral-')) {
      visibility = 'referral';
      if (event.type === 'ReferralMade') {
        caseId = data.caseId;
        rows.put('rm_timeline_referrals', { referral_id: data.referralId, case_id: caseId });
      } else caseId = required(rows, 'rm_timeline_referrals', data.referralId, event).case_id as string;
    } else return;
    rows.put('rm_timeline', {
      event_id: event.metadata.eventId,
      case_id: caseId,
      seq: event.position.toString(),
      at: event.metadata.recordedAt,
      visibility,
      stream_id: event.streamId,
      version: event.version,
    });
  },
};

export const caseworkProjections: readonly Projection[] = [peopleProjection, casesProjection, referralsProjection, timelineProjection];
