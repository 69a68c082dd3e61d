import { unreachable } from '../decider';
import type { CaseDisposition, CaseReason, RiskLevel } from '../enums';
import { millis } from '../validation';
import type { CaseEvent } from './events';

/** A planned contact with the person: scheduled → completed | cancelled, exactly once. */
export interface FollowUp {
  followUpId: string;
  status: 'scheduled' | 'completed' | 'cancelled';
  /** Overdue while still scheduled after this instant. */
  dueAt: string;
  /** Worker expected to make the contact. */
  assigneeId: string;
  purpose: string;
  scheduledAt: string;
  completedAt: string | null;
  /** What came of the contact (free text). */
  outcome: string | null;
  note: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
}

/** A case as it stands once opened. */
export interface Case {
  /** `open` while the team works it; `closed` with a disposition (and can be reopened). */
  status: 'open' | 'closed';
  id: string;
  /** The person the case is about. */
  personId: string;
  /** Team that owns the case; only its members act on it. */
  team: string;
  /** Why the case was opened. */
  reason: CaseReason;
  /** Current risk level. */
  risk: RiskLevel;
  summary: string;
  /** Dispatch incident the case came from, if any. */
  cadIncidentId: string | null;
  /** Worker responsible for the case; null until a supervisor assigns one. */
  assignedWorkerId: string | null;
  openedAt: string;
  /** Time of the latest closure; null while open. */
  closedAt: string | null;
  /** How the case ended; null while open. */
  disposition: CaseDisposition | null;
  closingNote: string | null;
  /** Time of the latest reopening, if ever reopened. */
  reopenedAt: string | null;
  /** Latest contact with the person: a welfare check's performedAt or a follow-up's completion. */
  lastContactAt: string | null;
  /** Every follow-up ever scheduled, by followUpId, in scheduling order. */
  followUps: Record<string, FollowUp>;
  welfareCheckIds: string[];
  noteIds: string[];
}

/** `none`: no case in this stream yet. */
export type CaseState = { status: 'none' } | Case;
export type CaseStatus = CaseState['status'];

export const initialCaseState = (): CaseState => ({ status: 'none' });

const later = (a: string | null, b: string): string => (a !== null && millis(a) >= millis(b) ? a : b);

function withFollowUp(state: Case, followUpId: string, change: Partial<FollowUp>): Case {
  const followUp = state.followUps[followUpId];
  if (!followUp) return state;
  return { ...state, followUps: { ...state.followUps, [followUpId]: { ...followUp, ...change } } };
}

export function evolveCase(state: CaseState, event: CaseEvent): CaseState {
  if (event.type === 'CaseOpened') {
    const { caseId, personId, team, reason, risk, summary, cadIncidentId, openedAt } = event.data;
    return {
      status: 'open',
      id: caseId,
      personId,
      team,
      reason,
      risk,
      summary,
      cadIncidentId,
      assignedWorkerId: null,
      openedAt,
      closedAt: null,
      disposition: null,
      closingNote: null,
      reopenedAt: null,
      lastContactAt: null,
      followUps: {},
      welfareCheckIds: [],
      noteIds: [],
    };
  }
  if (state.status === 'none') return state;

  switch (event.type) {
    case 'CaseAssigned':
      return { ...state, assignedWorkerId: event.data.workerId };
    case 'RiskLevelChanged':
      return { ...state, risk: event.data.to };
    case 'WelfareCheckRecorded':
      return {
        ...state,
        welfareCheckIds: [...state.welfareCheckIds, event.data.welfareCheckId],
        lastContactAt: later(state.lastContactAt, event.data.performedAt),
      };
    case 'NoteAdded':
      return { ...state, noteIds: [...state.noteIds, event.data.noteId] };
    case 'FollowUpScheduled': {
      const { followUpId, dueAt, assigneeId, purpose, scheduledAt } = event.data;
      const followUp: FollowUp = {
        followUpId,
        status: 'scheduled',
        dueAt,
        assigneeId,
        purpose,
        scheduledAt,
        completedAt: null,
        outcome: null,
        note: null,
        cancelledAt: null,
        cancelReason: null,
      };
      return { ...state, followUps: { ...state.followUps, [followUpId]: followUp } };
    }
    case 'FollowUpCompleted': {
      const { followUpId, outcome, note, completedAt } = event.data;
      const completed = withFollowUp(state, followUpId, { status: 'completed', outcome, note, completedAt });
      return { ...completed, lastContactAt: later(state.lastContactAt, completedAt) };
    }
    case 'FollowUpCancelled': {
      const { followUpId, reason, cancelledAt } = event.data;
      return withFollowUp(state, followUpId, { status: 'cancelled', cancelReason: reason, cancelledAt });
    }
    case 'CaseClosed': {
      const { disposition, note, closedAt } = event.data;
      return { ...state, status: 'closed', disposition, closingNote: note, closedAt };
    }
    case 'CaseReopened':
      return {
        ...state,
        status: 'open',
        disposition: null,
        closingNote: null,
        closedAt: null,
        reopenedAt: event.data.reopenedAt,
      };
    default:
      return unreachable(event);
  }
}
