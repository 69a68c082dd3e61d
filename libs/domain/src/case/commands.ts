import type { Command } from '../decider';
import type { CaseDisposition, CaseReason, NoteVisibility, RiskLevel, WelfareCheckOutcome } from '../enums';

/** Facts about the person, looked up by the caller from the person's stream. */
export interface PersonFacts {
  registered: boolean;
  erased: boolean;
}

export type OpenCase = Command<
  'OpenCase',
  {
    caseId: string;
    personId: string;
    /** The acting user's team, which will own the case. */
    team: string;
    reason: CaseReason;
    risk: RiskLevel;
    summary: string;
    cadIncidentId?: string | null;
    person: PersonFacts;
  }
>;

export type AssignCase = Command<'AssignCase', { caseId: string; workerId: string }>;

export type ChangeRisk = Command<'ChangeRisk', { caseId: string; risk: RiskLevel; reason: string }>;

export type RecordWelfareCheck = Command<
  'RecordWelfareCheck',
  {
    caseId: string;
    welfareCheckId: string;
    performedAt: string;
    location: string;
    outcome: WelfareCheckOutcome;
    observations: string;
  }
>;

export type AddNote = Command<'AddNote', { caseId: string; noteId: string; body: string; visibility: NoteVisibility }>;

export type ScheduleFollowUp = Command<
  'ScheduleFollowUp',
  { caseId: string; followUpId: string; dueAt: string; assigneeId: string; purpose: string }
>;

export type CompleteFollowUp = Command<
  'CompleteFollowUp',
  { caseId: string; followUpId: string; outcome: string; note?: string | null }
>;

export type CancelFollowUp = Command<'CancelFollowUp', { caseId: string; followUpId: string; reason: string }>;

export type CloseCase = Command<'CloseCase', { caseId: string; disposition: CaseDisposition; note?: string | null }>;

export type ReopenCase = Command<'ReopenCase', { caseId: string; reason: string }>;

export type CaseCommand =
  | OpenCase
  | AssignCase
  | ChangeRisk
  | RecordWelfareCheck
  | AddNote
  | ScheduleFollowUp
  | CompleteFollowUp
  | CancelFollowUp
  | CloseCase
  | ReopenCase;
