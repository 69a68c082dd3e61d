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

/**
 * A case being folded: a copy of the state whose fields a fold may set in place. Its collections
 * still belong to the state it was copied from until their first change copies them (followUpsOf,
 * welfareCheckIdsOf, noteIdsOf); a follow-up is replaced, never changed. Why: a long case holds thousands of ids and follow-ups, and copying them for each
 * event made a replay from the first event quadratic; a fold copies each collection at most once.
 */
interface CaseDraft {
  case: Case;
  ownsFollowUps: boolean;
  ownsWelfareCheckIds: boolean;
  ownsNoteIds: boolean;
}

function followUpsOf(draft: CaseDraft): Record<string, FollowUp> {
  if (!draft.ownsFollowUps) [draft.case.followUps, draft.ownsFollowUps] = [{ ...draft.case.followUps }, true];
  return draft.case.followUps;
}

function welfareCheckIdsOf(draft: CaseDraft): string[] {
  if (!draft.ownsWelfareCheckIds) [draft.case.welfareCheckIds, draft.ownsWelfareCheckIds] = [[...draft.case.welfareCheckIds], true];
  return draft.case.welfareCheckIds;
}

function noteIdsOf(draft: CaseDraft): string[] {
  if (!draft.ownsNoteIds) [draft.case.noteIds, draft.ownsNoteIds] = [[...draft.case.noteIds], true];
  return draft.case.noteIds;
}

/** Sets a follow-up as an own property, whatever its id (`__proto__` too: an assignment would set the prototype). */
function putFollowUp(draft: CaseDraft, followUp: FollowUp): void {
  Object.defineProperty(followUpsOf(draft), followUp.followUpId, { value: followUp, enumerable: true, writable: true, configurable: true });
}

function changeFollowUp(draft: CaseDraft, followUpId: string, change: Partial<FollowUp>): void {
  const followUp = Object.hasOwn(draft.case.followUps, followUpId) ? draft.case.followUps[followUpId] : undefined;
  if (followUp) putFollowUp(draft, { ...followUp, ...change });
}

function opened(event: Extract<CaseEvent, { type: 'CaseOpened' }>): Case {
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

/** One event's change, made in the draft (the only place the case's transitions are written). */
function apply(draft: CaseDraft, event: CaseEvent): void {
  const state = draft.case;
  switch (event.type) {
    case 'CaseOpened':
      // Only on an empty stream (evolve and fold answer it before a draft exists).
      return;
    case 'CaseAssigned':
      state.assignedWorkerId = event.data.workerId;
      return;
    case 'RiskLevelChanged':
      state.risk = event.data.to;
      return;
    case 'WelfareCheckRecorded':
      welfareCheckIdsOf(draft).push(event.data.welfareCheckId);
      state.lastContactAt = later(state.lastContactAt, event.data.performedAt);
      return;
    case 'NoteAdded':
      noteIdsOf(draft).push(event.data.noteId);
      return;
    case 'FollowUpScheduled': {
      const { followUpId, dueAt, assigneeId, purpose, scheduledAt } = event.data;
      putFollowUp(draft, {
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
      });
      return;
    }
    case 'FollowUpCompleted': {
      const { followUpId, outcome, note, completedAt } = event.data;
      changeFollowUp(draft, followUpId, { status: 'completed', outcome, note, completedAt });
      state.lastContactAt = later(state.lastContactAt, completedAt);
      return;
    }
    case 'FollowUpCancelled': {
      const { followUpId, reason, cancelledAt } = event.data;
      changeFollowUp(draft, followUpId, { status: 'cancelled', cancelReason: reason, cancelledAt });
      return;
    }
    case 'CaseClosed': {
      const { disposition, note, closedAt } = event.data;
      Object.assign(state, { status: 'closed', disposition, closingNote: note, closedAt });
      return;
    }
    case 'CaseReopened':
      Object.assign(state, { status: 'open', disposition: null, closingNote: null, closedAt: null, reopenedAt: event.data.reopenedAt });
      return;
    default:
      unreachable(event);
  }
}

/**
 * The state after `events`, from `state`: the same as applying evolveCase to each in turn, without
 * copying the case's collections for each event. Pure: `state` is left as it was.
 */
export function foldCase(state: CaseState, events: Iterable<CaseEvent>): CaseState {
  let draft: CaseDraft | undefined;
  let current = state;
  for (const event of events) {
    if (event.type === 'CaseOpened') {
      // A fresh case owns its collections.
      draft = { case: opened(event), ownsFollowUps: true, ownsWelfareCheckIds: true, ownsNoteIds: true };
      current = draft.case;
      continue;
    }
    if (current.status === 'none') continue;
    draft ??= { case: { ...current }, ownsFollowUps: false, ownsWelfareCheckIds: false, ownsNoteIds: false };
    current = draft.case;
    apply(draft, event);
  }
  return current;
}

export function evolveCase(state: CaseState, event: CaseEvent): CaseState {
  return foldCase(state, [event]);
}
