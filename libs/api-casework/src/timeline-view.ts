import type { TimelineEntry } from '@caseline/projections';

// One human-readable line per event of a case's timeline. Built from the event's data after the
// caller's personal-data seals are opened; `details: false` (officers and referral events) keeps
// only what happened, without the referral's provider, type or notes (SPEC §5).

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const withText = (head: string, text: unknown): string => (typeof text === 'string' && text !== '' ? `${head}: ${text}` : head);
const words = (value: unknown) => String(value).replace(/_/g, ' ');

export function timelineSummary(entry: Pick<TimelineEntry, 'type' | 'data'>, details: boolean): string {
  const d = entry.data as Data;
  switch (entry.type) {
    case 'CaseOpened':
      return withText(`Case opened (${words(d.reason)}, ${d.risk} risk)`, d.summary);
    case 'CaseAssigned':
      return `Assigned to ${d.workerId}`;
    case 'RiskLevelChanged':
      return withText(`Risk changed from ${d.from} to ${d.to}`, d.reason);
    case 'WelfareCheckRecorded':
      return withText(`Welfare check at ${d.location} (${d.performedAt}): ${words(d.outcome)}`, d.observations);
    case 'NoteAdded':
      return withText(d.visibility === 'confidential' ? 'Confidential note' : 'Note', d.body);
    case 'FollowUpScheduled':
      return withText(`Follow-up due ${d.dueAt}, assigned to ${d.assigneeId}`, d.purpose);
    case 'FollowUpCompleted':
      return withText(withText('Follow-up completed', d.outcome), d.note);
    case 'FollowUpCancelled':
      return withText('Follow-up cancelled', d.reason);
    case 'CaseClosed':
      return withText(`Case closed: ${words(d.disposition)}`, d.note);
    case 'CaseReopened':
      return withText('Case reopened', d.reason);
    case 'ReferralMade':
      return details ? withText(`Referral made: ${words(d.type)} to ${d.provider?.name} (${d.urgency})`, d.notes) : 'Referral made';
    case 'ReferralAccepted':
      return details ? withText('Referral accepted', d.note) : 'Referral accepted';
    case 'ReferralDeclined':
      return details ? withText(`Referral declined by the ${d.by}`, d.reason) : 'Referral declined';
    case 'ReferralServiceStarted':
      return details ? withText(`Service started ${d.startedAt}`, d.note) : 'Referral service started';
    case 'ReferralClosed':
      return details ? withText(`Referral closed: ${words(d.outcome)}`, d.note) : 'Referral closed';
    case 'ReferralRevoked':
      return details ? withText('Referral revoked', d.reason) : 'Referral revoked';
    default:
      return entry.type;
  }
}
