import { replay } from '../decider';
import type { CaseEvent } from './events';
import { nextFollowUpDueAt, overdueFollowUps } from './follow-ups';
import { caseDecider } from './index';

const caseId = 'c-1';
const at = (day: number) => `2025-03-${String(day).padStart(2, '0')}T10:00:00.000Z`;
const scheduled = (followUpId: string, dueAt: string): CaseEvent => ({
  type: 'FollowUpScheduled',
  data: { caseId, followUpId, dueAt, assigneeId: 'sw-1', purpose: 'Check in', scheduledAt: at(1) },
});
const state = replay(caseDecider, [
  {
    type: 'CaseOpened',
    data: { caseId, personId: 'p-1', team: 'north', reason: 'other', risk: 'low', summary: 's', cadIncidentId: null, openedAt: at(1) },
  },
  scheduled('late', at(3)),
  scheduled('later', at(5)),
  scheduled('done', at(2)),
  scheduled('early', at(2)),
  { type: 'FollowUpCompleted', data: { caseId, followUpId: 'done', outcome: 'ok', note: null, completedAt: at(2) } },
]);

describe('overdueFollowUps', () => {
  it('lists scheduled follow-ups due before now, earliest first', () =>
    expect(overdueFollowUps(state, at(4)).map((f) => f.followUpId)).toEqual(['early', 'late']));

  it('does not count a follow-up due exactly now', () =>
    expect(overdueFollowUps(state, at(3)).map((f) => f.followUpId)).toEqual(['early']));

  it('never counts completed or cancelled follow-ups', () =>
    expect(overdueFollowUps(state, at(9)).map((f) => f.followUpId)).not.toContain('done'));

  it('has none for a case that does not exist', () =>
    expect(overdueFollowUps(caseDecider.initialState(), at(9))).toEqual([]));
});

describe('nextFollowUpDueAt', () => {
  it('is the earliest scheduled due time', () => expect(nextFollowUpDueAt(state)).toBe(at(2)));

  it('is null when nothing is scheduled', () => expect(nextFollowUpDueAt(caseDecider.initialState())).toBeNull());
});
