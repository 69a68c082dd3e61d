import { millis } from '../validation';
import type { CaseState, FollowUp } from './state';

/** Follow-ups still scheduled, earliest due first. */
export function scheduledFollowUps(state: CaseState): FollowUp[] {
  if (state.status === 'none') return [];
  return Object.values(state.followUps)
    .filter((followUp) => followUp.status === 'scheduled')
    .sort((a, b) => millis(a.dueAt) - millis(b.dueAt));
}

/** Overdue: still scheduled and due before `now` (derived, never an event). */
export function overdueFollowUps(state: CaseState, now: string): FollowUp[] {
  return scheduledFollowUps(state).filter((followUp) => millis(followUp.dueAt) < millis(now));
}

/** The due time of the earliest scheduled follow-up, or null. */
export function nextFollowUpDueAt(state: CaseState): string | null {
  return scheduledFollowUps(state)[0]?.dueAt ?? null;
}
