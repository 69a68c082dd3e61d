import { unreachable } from '../decider';
import { caseDispositions, caseReasons, noteVisibilities, riskLevels, welfareCheckOutcomes } from '../enums';
import { DomainError } from '../errors';
import { CLOCK_SKEW_MS, millis, optionalText, requireInstant, requireOneOf, requireText } from '../validation';
import type {
  AddNote,
  AssignCase,
  CancelFollowUp,
  CaseCommand,
  ChangeRisk,
  CloseCase,
  CompleteFollowUp,
  OpenCase,
  RecordWelfareCheck,
  ReopenCase,
  ScheduleFollowUp,
} from './commands';
import { CANCELLED_BY_CASE_CLOSURE, type CaseEvent } from './events';
import type { Case, CaseState, FollowUp } from './state';

// Checks run in one order everywhere: unknown aggregate (404), lifecycle (409), input (400),
// then rules that depend on both (duplicate ids, follow-up state).

export function decideCase(command: CaseCommand, state: CaseState): CaseEvent[] {
  switch (command.type) {
    case 'OpenCase':
      return open(command, state);
    case 'AssignCase':
      return assign(command, existing(state));
    case 'ChangeRisk':
      return changeRisk(command, existing(state));
    case 'RecordWelfareCheck':
      return recordWelfareCheck(command, existing(state));
    case 'AddNote':
      return addNote(command, existing(state));
    case 'ScheduleFollowUp':
      return scheduleFollowUp(command, existing(state));
    case 'CompleteFollowUp':
      return completeFollowUp(command, existing(state));
    case 'CancelFollowUp':
      return cancelFollowUp(command, existing(state));
    case 'CloseCase':
      return close(command, existing(state));
    case 'ReopenCase':
      return reopen(command, existing(state));
    default:
      return unreachable(command);
  }
}

function existing(state: CaseState): Case {
  if (state.status === 'none') throw DomainError.notFound('case_not_found', 'no such case');
  return state;
}

function notClosed(state: Case): void {
  if (state.status === 'closed') throw DomainError.conflict('case_closed', 'the case is closed');
}

/** Welfare check, note and follow-up ids share one namespace within a case. */
function unusedId(state: Case, id: string): string {
  if (state.welfareCheckIds.includes(id) || state.noteIds.includes(id) || Object.hasOwn(state.followUps, id)) {
    throw DomainError.conflict('duplicate_id', `id ${id} is already used in this case`);
  }
  return id;
}

function scheduled(state: Case, followUpId: string): FollowUp {
  // Own properties only: an id such as "toString" names no follow-up.
  const followUp = Object.hasOwn(state.followUps, followUpId) ? state.followUps[followUpId] : undefined;
  if (!followUp) throw DomainError.notFound('follow_up_not_found', 'no such follow-up');
  if (followUp.status !== 'scheduled') {
    throw DomainError.conflict('follow_up_not_scheduled', `the follow-up is already ${followUp.status}`);
  }
  return followUp;
}

function open({ data, now }: OpenCase, state: CaseState): CaseEvent[] {
  if (state.status !== 'none') throw DomainError.conflict('case_already_exists', 'the case already exists');
  if (!data.person?.registered) throw DomainError.notFound('person_not_found', 'no such person');
  if (data.person.erased) throw DomainError.conflict('person_erased', 'the person was erased');
  return [
    {
      type: 'CaseOpened',
      data: {
        caseId: requireText(data.caseId, 'caseId'),
        personId: requireText(data.personId, 'personId'),
        team: requireText(data.team, 'team'),
        reason: requireOneOf(data.reason, caseReasons, 'reason'),
        risk: requireOneOf(data.risk, riskLevels, 'risk'),
        summary: requireText(data.summary, 'summary'),
        cadIncidentId: optionalText(data.cadIncidentId, 'cadIncidentId'),
        openedAt: now,
      },
    },
  ];
}

function assign({ data, now }: AssignCase, state: Case): CaseEvent[] {
  notClosed(state);
  const workerId = requireText(data.workerId, 'workerId');
  if (workerId === state.assignedWorkerId) {
    throw DomainError.conflict('already_assigned', 'the case is already assigned to this worker');
  }
  return [
    { type: 'CaseAssigned', data: { caseId: state.id, workerId, previousWorkerId: state.assignedWorkerId, assignedAt: now } },
  ];
}

function changeRisk({ data, now }: ChangeRisk, state: Case): CaseEvent[] {
  notClosed(state);
  const to = requireOneOf(data.risk, riskLevels, 'risk');
  const reason = requireText(data.reason, 'reason');
  if (to === state.risk) throw DomainError.conflict('risk_unchanged', `the risk is already ${to}`);
  return [{ type: 'RiskLevelChanged', data: { caseId: state.id, from: state.risk, to, reason, changedAt: now } }];
}

function recordWelfareCheck({ data, now }: RecordWelfareCheck, state: Case): CaseEvent[] {
  notClosed(state);
  const welfareCheckId = requireText(data.welfareCheckId, 'welfareCheckId');
  const performedAt = requireInstant(data.performedAt, 'performedAt');
  if (millis(performedAt) > millis(now) + CLOCK_SKEW_MS) {
    throw DomainError.invalid('performed_in_future', 'performedAt is in the future', 'performedAt');
  }
  const location = requireText(data.location, 'location');
  const outcome = requireOneOf(data.outcome, welfareCheckOutcomes, 'outcome');
  const observations = requireText(data.observations, 'observations');
  unusedId(state, welfareCheckId);
  return [
    {
      type: 'WelfareCheckRecorded',
      data: { caseId: state.id, welfareCheckId, performedAt, location, outcome, observations, recordedAt: now },
    },
  ];
}

/** Notes are the one thing still allowed on a closed case. */
function addNote({ data, now }: AddNote, state: Case): CaseEvent[] {
  const noteId = requireText(data.noteId, 'noteId');
  const body = requireText(data.body, 'body');
  const visibility = requireOneOf(data.visibility, noteVisibilities, 'visibility');
  unusedId(state, noteId);
  return [{ type: 'NoteAdded', data: { caseId: state.id, noteId, body, visibility, addedAt: now } }];
}

function scheduleFollowUp({ data, now }: ScheduleFollowUp, state: Case): CaseEvent[] {
  notClosed(state);
  const followUpId = requireText(data.followUpId, 'followUpId');
  const dueAt = requireInstant(data.dueAt, 'dueAt');
  if (millis(dueAt) < millis(now)) throw DomainError.invalid('due_in_past', 'dueAt is in the past', 'dueAt');
  const assigneeId = requireText(data.assigneeId, 'assigneeId');
  const purpose = requireText(data.purpose, 'purpose');
  unusedId(state, followUpId);
  return [
    { type: 'FollowUpScheduled', data: { caseId: state.id, followUpId, dueAt, assigneeId, purpose, scheduledAt: now } },
  ];
}

function completeFollowUp({ data, now }: CompleteFollowUp, state: Case): CaseEvent[] {
  notClosed(state);
  const outcome = requireText(data.outcome, 'outcome');
  const note = optionalText(data.note, 'note');
  const followUp = scheduled(state, data.followUpId);
  return [
    {
      type: 'FollowUpCompleted',
      data: { caseId: state.id, followUpId: followUp.followUpId, outcome, note, completedAt: now },
    },
  ];
}

function cancelFollowUp({ data, now }: CancelFollowUp, state: Case): CaseEvent[] {
  notClosed(state);
  const reason = requireText(data.reason, 'reason');
  const followUp = scheduled(state, data.followUpId);
  return [
    { type: 'FollowUpCancelled', data: { caseId: state.id, followUpId: followUp.followUpId, reason, cancelledAt: now } },
  ];
}

/** Closing also cancels every follow-up still scheduled, so none is left dangling as overdue. */
function close({ data, now }: CloseCase, state: Case): CaseEvent[] {
  if (state.status === 'closed') throw DomainError.conflict('case_already_closed', 'the case is already closed');
  const disposition = requireOneOf(data.disposition, caseDispositions, 'disposition');
  const note = optionalText(data.note, 'note');
  const cancellations: CaseEvent[] = Object.values(state.followUps)
    .filter((followUp) => followUp.status === 'scheduled')
    .map((followUp) => ({
      type: 'FollowUpCancelled',
      data: { caseId: state.id, followUpId: followUp.followUpId, reason: CANCELLED_BY_CASE_CLOSURE, cancelledAt: now },
    }));
  return [...cancellations, { type: 'CaseClosed', data: { caseId: state.id, disposition, note, closedAt: now } }];
}

function reopen({ data, now }: ReopenCase, state: Case): CaseEvent[] {
  if (state.status !== 'closed') throw DomainError.conflict('case_not_closed', 'the case is not closed');
  const reason = requireText(data.reason, 'reason');
  return [{ type: 'CaseReopened', data: { caseId: state.id, reason, reopenedAt: now } }];
}
