import { replay } from '../decider';
import { specFor } from '../testing/given';
import type {
  AddNote,
  AssignCase,
  CancelFollowUp,
  ChangeRisk,
  CloseCase,
  CompleteFollowUp,
  OpenCase,
  RecordWelfareCheck,
  ReopenCase,
  ScheduleFollowUp,
} from './commands';
import type {
  CaseAssigned,
  CaseClosed,
  CaseEvent,
  CaseOpened,
  CaseReopened,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpScheduled,
  NoteAdded,
  WelfareCheckRecorded,
} from './events';
import { caseDecider } from './index';

const given = specFor(caseDecider);
const caseId = '5d7e0000-0000-4000-8000-00000000000c';
const personId = '5d7e0000-0000-4000-8000-00000000000p';
const openedAt = '2025-03-01T09:00:00.000Z';
const now = '2025-03-01T10:00:00.000Z';
const tomorrow = '2025-03-02T10:00:00.000Z';

const opened: CaseOpened = {
  type: 'CaseOpened',
  data: {
    caseId,
    personId,
    team: 'north',
    reason: 'mental_health',
    risk: 'medium',
    summary: 'Neighbour reports shouting',
    cadIncidentId: 'CAD-42',
    openedAt,
  },
};
const assigned: CaseAssigned = {
  type: 'CaseAssigned',
  data: { caseId, workerId: 'sw-1', previousWorkerId: null, assignedAt: openedAt },
};
const followUpScheduled: FollowUpScheduled = {
  type: 'FollowUpScheduled',
  data: { caseId, followUpId: 'fu-1', dueAt: tomorrow, assigneeId: 'sw-1', purpose: 'Check in', scheduledAt: openedAt },
};
const secondFollowUpScheduled: FollowUpScheduled = {
  type: 'FollowUpScheduled',
  data: { ...followUpScheduled.data, followUpId: 'fu-2', dueAt: '2025-03-05T10:00:00.000Z' },
};
const followUpCompleted: FollowUpCompleted = {
  type: 'FollowUpCompleted',
  data: { caseId, followUpId: 'fu-1', outcome: 'Reached by phone', note: null, completedAt: now },
};
const followUpCancelled: FollowUpCancelled = {
  type: 'FollowUpCancelled',
  data: { caseId, followUpId: 'fu-1', reason: 'moved to shelter', cancelledAt: now },
};
const welfareCheckRecorded: WelfareCheckRecorded = {
  type: 'WelfareCheckRecorded',
  data: {
    caseId,
    welfareCheckId: 'wc-1',
    performedAt: '2025-03-01T09:30:00.000Z',
    location: '12 Elm St',
    outcome: 'safe',
    observations: 'Calm, has food',
    recordedAt: now,
  },
};
const noteAdded: NoteAdded = {
  type: 'NoteAdded',
  data: { caseId, noteId: 'n-1', body: 'Prefers morning visits', visibility: 'team', addedAt: now },
};
const closed: CaseClosed = {
  type: 'CaseClosed',
  data: { caseId, disposition: 'resolved', note: null, closedAt: now },
};
const reopened: CaseReopened = { type: 'CaseReopened', data: { caseId, reason: 'new incident', reopenedAt: tomorrow } };

const openCase = (data: Partial<OpenCase['data']> = {}): OpenCase => ({
  type: 'OpenCase',
  data: {
    caseId,
    personId,
    team: 'north',
    reason: 'mental_health',
    risk: 'medium',
    summary: 'Neighbour reports shouting',
    cadIncidentId: 'CAD-42',
    person: { registered: true, erased: false },
    ...data,
  },
  now: openedAt,
});
const assign = (workerId = 'sw-2'): AssignCase => ({ type: 'AssignCase', data: { caseId, workerId }, now });
const changeRisk = (data: Partial<ChangeRisk['data']> = {}): ChangeRisk => ({
  type: 'ChangeRisk',
  data: { caseId, risk: 'high', reason: 'Threats of self-harm', ...data },
  now,
});
const recordWelfareCheck = (data: Partial<RecordWelfareCheck['data']> = {}): RecordWelfareCheck => ({
  type: 'RecordWelfareCheck',
  data: {
    caseId,
    welfareCheckId: 'wc-1',
    performedAt: '2025-03-01T09:30:00.000Z',
    location: '12 Elm St',
    outcome: 'safe',
    observations: 'Calm, has food',
    ...data,
  },
  now,
});
const addNote = (data: Partial<AddNote['data']> = {}): AddNote => ({
  type: 'AddNote',
  data: { caseId, noteId: 'n-1', body: 'Prefers morning visits', visibility: 'team', ...data },
  now,
});
const scheduleFollowUp = (data: Partial<ScheduleFollowUp['data']> = {}): ScheduleFollowUp => ({
  type: 'ScheduleFollowUp',
  data: { caseId, followUpId: 'fu-1', dueAt: tomorrow, assigneeId: 'sw-1', purpose: 'Check in', ...data },
  now: openedAt,
});
const completeFollowUp = (data: Partial<CompleteFollowUp['data']> = {}): CompleteFollowUp => ({
  type: 'CompleteFollowUp',
  data: { caseId, followUpId: 'fu-1', outcome: 'Reached by phone', ...data },
  now,
});
const cancelFollowUp = (data: Partial<CancelFollowUp['data']> = {}): CancelFollowUp => ({
  type: 'CancelFollowUp',
  data: { caseId, followUpId: 'fu-1', reason: 'moved to shelter', ...data },
  now,
});
const closeCase = (data: Partial<CloseCase['data']> = {}): CloseCase => ({
  type: 'CloseCase',
  data: { caseId, disposition: 'resolved', ...data },
  now,
});
const reopenCase = (data: Partial<ReopenCase['data']> = {}): ReopenCase => ({
  type: 'ReopenCase',
  data: { caseId, reason: 'new incident', ...data },
  now: tomorrow,
});

describe('OpenCase', () => {
  it('opens a case for a registered person', () => given().when(openCase()).then([opened]));

  it('opens a case without a dispatch incident', () =>
    given()
      .when(openCase({ cadIncidentId: undefined }))
      .then([{ ...opened, data: { ...opened.data, cadIncidentId: null } }]));

  it('refuses to open the same case twice', () =>
    given(opened).when(openCase()).thenThrows('case_already_exists', { kind: 'conflict' }));

  it('refuses a person who is not registered', () =>
    given()
      .when(openCase({ person: { registered: false, erased: false } }))
      .thenThrows('person_not_found', { kind: 'not_found' }));

  it('refuses an erased person', () =>
    given().when(openCase({ person: { registered: true, erased: true } })).thenThrows('person_erased', { kind: 'conflict' }));

  it('refuses an unknown reason', () =>
    given().when(openCase({ reason: 'noise' as never })).thenThrows('invalid_value', { kind: 'invalid', field: 'reason' }));

  it('refuses an unknown risk level', () =>
    given().when(openCase({ risk: 'extreme' as never })).thenThrows('invalid_value', { field: 'risk' }));

  it('requires a summary', () => given().when(openCase({ summary: ' ' })).thenThrows('required', { field: 'summary' }));

  it('requires a team', () => given().when(openCase({ team: '' })).thenThrows('required', { field: 'team' }));
});

describe('AssignCase', () => {
  it('assigns a worker to an unassigned case', () =>
    given(opened)
      .when(assign('sw-1'))
      .then([{ type: 'CaseAssigned', data: { caseId, workerId: 'sw-1', previousWorkerId: null, assignedAt: now } }]));

  it('reassigns, remembering the previous worker', () =>
    given(opened, assigned)
      .when(assign('sw-2'))
      .then([{ type: 'CaseAssigned', data: { caseId, workerId: 'sw-2', previousWorkerId: 'sw-1', assignedAt: now } }]));

  it('refuses to assign the worker already assigned', () =>
    given(opened, assigned).when(assign('sw-1')).thenThrows('already_assigned', { kind: 'conflict' }));

  it('refuses to assign a closed case', () => given(opened, closed).when(assign()).thenThrows('case_closed'));

  it('assigns a reopened case', () =>
    given(opened, closed, reopened)
      .when(assign('sw-2'))
      .then([{ type: 'CaseAssigned', data: { caseId, workerId: 'sw-2', previousWorkerId: null, assignedAt: now } }]));

  it('requires a worker', () => given(opened).when(assign(' ')).thenThrows('required', { field: 'workerId' }));

  it('refuses to assign a case that does not exist', () =>
    given().when(assign()).thenThrows('case_not_found', { kind: 'not_found' }));
});

describe('ChangeRisk', () => {
  it('changes the risk level, recording from and to', () =>
    given(opened)
      .when(changeRisk())
      .then([
        { type: 'RiskLevelChanged', data: { caseId, from: 'medium', to: 'high', reason: 'Threats of self-harm', changedAt: now } },
      ]));

  it('refuses a change to the same risk', () =>
    given(opened).when(changeRisk({ risk: 'medium' })).thenThrows('risk_unchanged', { kind: 'conflict' }));

  it('refuses a risk change on a closed case', () =>
    given(opened, closed).when(changeRisk()).thenThrows('case_closed', { kind: 'conflict' }));

  it('requires a reason', () => given(opened).when(changeRisk({ reason: '' })).thenThrows('required', { field: 'reason' }));

  it('refuses an unknown risk level', () =>
    given(opened).when(changeRisk({ risk: 'severe' as never })).thenThrows('invalid_value', { field: 'risk' }));

  it('refuses a risk change on a case that does not exist', () =>
    given().when(changeRisk()).thenThrows('case_not_found'));
});

describe('RecordWelfareCheck', () => {
  it('records a welfare check', () => given(opened).when(recordWelfareCheck()).then([welfareCheckRecorded]));

  it('normalises performedAt to UTC', () =>
    given(opened)
      .when(recordWelfareCheck({ performedAt: '2025-03-01T04:30:00-05:00' }))
      .then([welfareCheckRecorded]));

  it('accepts a check performed up to five minutes ahead of the server clock', () =>
    given(opened)
      .when(recordWelfareCheck({ performedAt: '2025-03-01T10:05:00.000Z' }))
      .then([{ ...welfareCheckRecorded, data: { ...welfareCheckRecorded.data, performedAt: '2025-03-01T10:05:00.000Z' } }]));

  it('refuses a check performed more than five minutes in the future', () =>
    given(opened)
      .when(recordWelfareCheck({ performedAt: '2025-03-01T10:05:01.000Z' }))
      .thenThrows('performed_in_future', { kind: 'invalid', field: 'performedAt' }));

  it('refuses a performedAt that is not a timestamp', () =>
    given(opened)
      .when(recordWelfareCheck({ performedAt: 'this morning' }))
      .thenThrows('invalid_timestamp', { field: 'performedAt' }));

  it('refuses a performedAt without a time zone', () =>
    given(opened)
      .when(recordWelfareCheck({ performedAt: '2025-03-01T09:30:00' }))
      .thenThrows('invalid_timestamp', { field: 'performedAt' }));

  it('refuses an unknown outcome', () =>
    given(opened).when(recordWelfareCheck({ outcome: 'fine' as never })).thenThrows('invalid_value', { field: 'outcome' }));

  it('requires a location', () =>
    given(opened).when(recordWelfareCheck({ location: '' })).thenThrows('required', { field: 'location' }));

  it('requires observations', () =>
    given(opened).when(recordWelfareCheck({ observations: ' ' })).thenThrows('required', { field: 'observations' }));

  it('refuses a welfare check on a closed case', () =>
    given(opened, closed).when(recordWelfareCheck()).thenThrows('case_closed', { kind: 'conflict' }));

  it('records a welfare check on a reopened case', () =>
    given(opened, closed, reopened).when(recordWelfareCheck()).then([welfareCheckRecorded]));

  it('refuses a welfare check id already used', () =>
    given(opened, welfareCheckRecorded).when(recordWelfareCheck()).thenThrows('duplicate_id', { kind: 'conflict' }));

  it('refuses a welfare check id already used by a note', () =>
    given(opened, noteAdded).when(recordWelfareCheck({ welfareCheckId: 'n-1' })).thenThrows('duplicate_id'));

  it('refuses a welfare check on a case that does not exist', () =>
    given().when(recordWelfareCheck()).thenThrows('case_not_found', { kind: 'not_found' }));
});

describe('AddNote', () => {
  it('adds a team note', () => given(opened).when(addNote()).then([noteAdded]));

  it('adds a confidential note', () =>
    given(opened)
      .when(addNote({ visibility: 'confidential' }))
      .then([{ ...noteAdded, data: { ...noteAdded.data, visibility: 'confidential' } }]));

  it('allows notes on a closed case', () => given(opened, closed).when(addNote()).then([noteAdded]));

  it('requires a body', () => given(opened).when(addNote({ body: '' })).thenThrows('required', { field: 'body' }));

  it('refuses an unknown visibility', () =>
    given(opened).when(addNote({ visibility: 'public' as never })).thenThrows('invalid_value', { field: 'visibility' }));

  it('refuses a note id already used', () =>
    given(opened, noteAdded).when(addNote()).thenThrows('duplicate_id', { kind: 'conflict' }));

  it('refuses a note on a case that does not exist', () => given().when(addNote()).thenThrows('case_not_found'));
});

describe('ScheduleFollowUp', () => {
  it('schedules a follow-up', () => given(opened).when(scheduleFollowUp()).then([followUpScheduled]));

  it('allows a follow-up due right now', () =>
    given(opened)
      .when(scheduleFollowUp({ dueAt: openedAt }))
      .then([{ ...followUpScheduled, data: { ...followUpScheduled.data, dueAt: openedAt } }]));

  it('refuses a follow-up due in the past', () =>
    given(opened)
      .when(scheduleFollowUp({ dueAt: '2025-03-01T08:59:59.000Z' }))
      .thenThrows('due_in_past', { kind: 'invalid', field: 'dueAt' }));

  it('refuses a dueAt that is not a timestamp', () =>
    given(opened).when(scheduleFollowUp({ dueAt: 'soon' })).thenThrows('invalid_timestamp', { field: 'dueAt' }));

  it('requires an assignee', () =>
    given(opened).when(scheduleFollowUp({ assigneeId: '' })).thenThrows('required', { field: 'assigneeId' }));

  it('requires a purpose', () =>
    given(opened).when(scheduleFollowUp({ purpose: ' ' })).thenThrows('required', { field: 'purpose' }));

  it('refuses to schedule a follow-up on a closed case', () =>
    given(opened, closed).when(scheduleFollowUp()).thenThrows('case_closed', { kind: 'conflict' }));

  it('refuses a follow-up id already used', () =>
    given(opened, followUpScheduled).when(scheduleFollowUp()).thenThrows('duplicate_id', { kind: 'conflict' }));

  it('refuses a follow-up on a case that does not exist', () =>
    given().when(scheduleFollowUp()).thenThrows('case_not_found'));
});

describe('CompleteFollowUp', () => {
  it('completes a scheduled follow-up', () =>
    given(opened, followUpScheduled).when(completeFollowUp()).then([followUpCompleted]));

  it('keeps an optional note', () =>
    given(opened, followUpScheduled)
      .when(completeFollowUp({ note: 'Will call again' }))
      .then([{ ...followUpCompleted, data: { ...followUpCompleted.data, note: 'Will call again' } }]));

  it('requires an outcome', () =>
    given(opened, followUpScheduled).when(completeFollowUp({ outcome: '' })).thenThrows('required', { field: 'outcome' }));

  it('refuses to complete an unknown follow-up', () =>
    given(opened).when(completeFollowUp()).thenThrows('follow_up_not_found', { kind: 'not_found' }));

  it('refuses to complete a follow-up twice', () =>
    given(opened, followUpScheduled, followUpCompleted)
      .when(completeFollowUp())
      .thenThrows('follow_up_not_scheduled', { kind: 'conflict' }));

  it('refuses to complete a cancelled follow-up', () =>
    given(opened, followUpScheduled, followUpCancelled).when(completeFollowUp()).thenThrows('follow_up_not_scheduled'));

  it('refuses to complete a follow-up on a closed case', () =>
    given(opened, followUpScheduled, closed).when(completeFollowUp()).thenThrows('case_closed'));

  it('refuses to complete a follow-up on a case that does not exist', () =>
    given().when(completeFollowUp()).thenThrows('case_not_found'));
});

describe('CancelFollowUp', () => {
  it('cancels a scheduled follow-up', () =>
    given(opened, followUpScheduled).when(cancelFollowUp()).then([followUpCancelled]));

  it('requires a reason', () =>
    given(opened, followUpScheduled).when(cancelFollowUp({ reason: ' ' })).thenThrows('required', { field: 'reason' }));

  it('refuses to cancel an unknown follow-up', () =>
    given(opened).when(cancelFollowUp()).thenThrows('follow_up_not_found', { kind: 'not_found' }));

  it('refuses to cancel a follow-up twice', () =>
    given(opened, followUpScheduled, followUpCancelled).when(cancelFollowUp()).thenThrows('follow_up_not_scheduled'));

  it('refuses to cancel a completed follow-up', () =>
    given(opened, followUpScheduled, followUpCompleted).when(cancelFollowUp()).thenThrows('follow_up_not_scheduled'));

  it('refuses to cancel a follow-up on a closed case', () =>
    given(opened, followUpScheduled, closed).when(cancelFollowUp()).thenThrows('case_closed'));

  it('refuses to cancel a follow-up on a case that does not exist', () =>
    given().when(cancelFollowUp()).thenThrows('case_not_found'));
});

describe('CloseCase', () => {
  it('closes an open case', () => given(opened).when(closeCase()).then([closed]));

  it('keeps an optional closing note', () =>
    given(opened)
      .when(closeCase({ disposition: 'linked_to_services', note: 'Housed at Harbor' }))
      .then([{ type: 'CaseClosed', data: { caseId, disposition: 'linked_to_services', note: 'Housed at Harbor', closedAt: now } }]));

  it('cancels every still-scheduled follow-up before closing', () =>
    given(opened, followUpScheduled, secondFollowUpScheduled)
      .when(closeCase())
      .then([
        { type: 'FollowUpCancelled', data: { caseId, followUpId: 'fu-1', reason: 'case_closed', cancelledAt: now } },
        { type: 'FollowUpCancelled', data: { caseId, followUpId: 'fu-2', reason: 'case_closed', cancelledAt: now } },
        closed,
      ]));

  it('leaves completed and cancelled follow-ups alone', () =>
    given(opened, followUpScheduled, followUpCompleted, secondFollowUpScheduled)
      .when(closeCase())
      .then([
        { type: 'FollowUpCancelled', data: { caseId, followUpId: 'fu-2', reason: 'case_closed', cancelledAt: now } },
        closed,
      ]));

  it('refuses to close a closed case', () =>
    given(opened, closed).when(closeCase()).thenThrows('case_already_closed', { kind: 'conflict' }));

  it('refuses an unknown disposition', () =>
    given(opened).when(closeCase({ disposition: 'done' as never })).thenThrows('invalid_value', { field: 'disposition' }));

  it('closes a reopened case again', () =>
    given(opened, closed, reopened).when(closeCase()).then([closed]));

  it('refuses to close a case that does not exist', () => given().when(closeCase()).thenThrows('case_not_found'));
});

describe('ReopenCase', () => {
  it('reopens a closed case', () => given(opened, closed).when(reopenCase()).then([reopened]));

  it('refuses to reopen an open case', () =>
    given(opened).when(reopenCase()).thenThrows('case_not_closed', { kind: 'conflict' }));

  it('refuses to reopen a reopened case', () =>
    given(opened, closed, reopened).when(reopenCase()).thenThrows('case_not_closed'));

  it('requires a reason', () =>
    given(opened, closed).when(reopenCase({ reason: '' })).thenThrows('required', { field: 'reason' }));

  it('refuses to reopen a case that does not exist', () => given().when(reopenCase()).thenThrows('case_not_found'));
});

describe('case state', () => {
  const stateAfter = (...events: CaseEvent[]) => replay(caseDecider, events);

  it('starts with no case', () => expect(caseDecider.initialState()).toEqual({ status: 'none' }));

  it('tracks assignment, risk and the closure', () =>
    expect(
      stateAfter(opened, assigned, { type: 'RiskLevelChanged', data: { caseId, from: 'medium', to: 'high', reason: 'x', changedAt: now } }, closed),
    ).toMatchObject({ status: 'closed', assignedWorkerId: 'sw-1', risk: 'high', disposition: 'resolved', closedAt: now }));

  it('clears the disposition when reopened', () =>
    expect(stateAfter(opened, closed, reopened)).toMatchObject({
      status: 'open',
      disposition: null,
      closedAt: null,
      reopenedAt: tomorrow,
    }));

  it('takes the last contact from the latest welfare check or follow-up completion', () => {
    const earlierCheck: WelfareCheckRecorded = {
      type: 'WelfareCheckRecorded',
      data: { ...welfareCheckRecorded.data, welfareCheckId: 'wc-0', performedAt: '2025-02-20T10:00:00.000Z' },
    };
    expect(stateAfter(opened, welfareCheckRecorded)).toMatchObject({ lastContactAt: '2025-03-01T09:30:00.000Z' });
    expect(stateAfter(opened, welfareCheckRecorded, earlierCheck)).toMatchObject({ lastContactAt: '2025-03-01T09:30:00.000Z' });
    expect(stateAfter(opened, welfareCheckRecorded, followUpScheduled, followUpCompleted)).toMatchObject({
      lastContactAt: now,
    });
  });

  it('marks follow-ups cancelled by the closure', () => {
    const state = stateAfter(opened, followUpScheduled, ...caseDecider.decide(closeCase(), stateAfter(opened, followUpScheduled)));
    expect(state.status === 'closed' && state.followUps['fu-1']).toMatchObject({ status: 'cancelled', cancelReason: 'case_closed' });
  });

  it('ignores events other than CaseOpened on an empty stream', () =>
    expect(stateAfter(closed)).toEqual({ status: 'none' }));
});
