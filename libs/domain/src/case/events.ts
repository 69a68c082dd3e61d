import type { Event } from '../decider';
import type { CaseDisposition, CaseReason, NoteVisibility, RiskLevel, WelfareCheckOutcome } from '../enums';

export type CaseOpened = Event<
  'CaseOpened',
  {
    caseId: string;
    personId: string;
    /** The team that owns the case (the opener's team). */
    team: string;
    reason: CaseReason;
    risk: RiskLevel;
    summary: string;
    /** Computer-aided-dispatch incident the case came from, if any. */
    cadIncidentId: string | null;
    openedAt: string;
  }
>;

export type CaseAssigned = Event<
  'CaseAssigned',
  { caseId: string; workerId: string; previousWorkerId: string | null; assignedAt: string }
>;

export type RiskLevelChanged = Event<
  'RiskLevelChanged',
  { caseId: string; from: RiskLevel; to: RiskLevel; reason: string; changedAt: string }
>;

export type WelfareCheckRecorded = Event<
  'WelfareCheckRecorded',
  {
    caseId: string;
    welfareCheckId: string;
    /** When the check happened in the field; `recordedAt` is when it was entered. */
    performedAt: string;
    location: string;
    outcome: WelfareCheckOutcome;
    observations: string;
    recordedAt: string;
  }
>;

export type NoteAdded = Event<
  'NoteAdded',
  { caseId: string; noteId: string; body: string; visibility: NoteVisibility; addedAt: string }
>;

export type FollowUpScheduled = Event<
  'FollowUpScheduled',
  { caseId: string; followUpId: string; dueAt: string; assigneeId: string; purpose: string; scheduledAt: string }
>;

export type FollowUpCompleted = Event<
  'FollowUpCompleted',
  { caseId: string; followUpId: string; outcome: string; note: string | null; completedAt: string }
>;

/** `reason: 'case_closed'` when closing the case cancelled it. */
export type FollowUpCancelled = Event<
  'FollowUpCancelled',
  { caseId: string; followUpId: string; reason: string; cancelledAt: string }
>;

export type CaseClosed = Event<
  'CaseClosed',
  { caseId: string; disposition: CaseDisposition; note: string | null; closedAt: string }
>;

export type CaseReopened = Event<'CaseReopened', { caseId: string; reason: string; reopenedAt: string }>;

export type CaseEvent =
  | CaseOpened
  | CaseAssigned
  | RiskLevelChanged
  | WelfareCheckRecorded
  | NoteAdded
  | FollowUpScheduled
  | FollowUpCompleted
  | FollowUpCancelled
  | CaseClosed
  | CaseReopened;

export const caseEventTypes = Object.keys({
  CaseOpened: true,
  CaseAssigned: true,
  RiskLevelChanged: true,
  WelfareCheckRecorded: true,
  NoteAdded: true,
  FollowUpScheduled: true,
  FollowUpCompleted: true,
  FollowUpCancelled: true,
  CaseClosed: true,
  CaseReopened: true,
} satisfies Record<CaseEvent['type'], true>) as CaseEvent['type'][];

/** Reason recorded on follow-ups cancelled by the closure of their case. */
export const CANCELLED_BY_CASE_CLOSURE = 'case_closed';
