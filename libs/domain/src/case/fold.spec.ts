import fc from 'fast-check';
import { replay } from '../decider';
import { millis } from '../validation';
import type { CaseEvent } from './events';
import { caseDecider } from './index';
import { evolveCase, foldCase, type Case, type CaseState, type FollowUp } from './state';

// foldCase changes a draft in place; these check it against a model that copies on every event
// (what evolve did before folds were drafted), and that no state it started from is changed.

const caseId = 'c-1';
const at = (minute: number) => new Date(Date.UTC(2025, 2, 1, 10, minute)).toISOString();

/** The model: each event answered by a fresh state, every changed collection copied. */
function modelEvolve(state: CaseState, event: CaseEvent): CaseState {
  if (event.type === 'CaseOpened') {
    const { caseId: id, personId, team, reason, risk, summary, cadIncidentId, openedAt } = event.data;
    return { status: 'open', id, personId, team, reason, risk, summary, cadIncidentId, assignedWorkerId: null, openedAt, closedAt: null, disposition: null, closingNote: null, reopenedAt: null, lastContactAt: null, followUps: {}, welfareCheckIds: [], noteIds: [] };
  }
  if (state.status === 'none') return state;
  const contact = (s: Case, when: string) => (s.lastContactAt !== null && millis(s.lastContactAt) >= millis(when) ? s.lastContactAt : when);
  const withFollowUp = (id: string, change: Partial<FollowUp>): Case => (Object.hasOwn(state.followUps, id) ? { ...state, followUps: { ...state.followUps, [id]: { ...state.followUps[id], ...change } } } : { ...state });
  switch (event.type) {
    case 'CaseAssigned':
      return { ...state, assignedWorkerId: event.data.workerId };
    case 'RiskLevelChanged':
      return { ...state, risk: event.data.to };
    case 'WelfareCheckRecorded':
      return { ...state, welfareCheckIds: [...state.welfareCheckIds, event.data.welfareCheckId], lastContactAt: contact(state, event.data.performedAt) };
    case 'NoteAdded':
      return { ...state, noteIds: [...state.noteIds, event.data.noteId] };
    case 'FollowUpScheduled': {
      const { followUpId, dueAt, assigneeId, purpose, scheduledAt } = event.data;
      const followUp: FollowUp = { followUpId, status: 'scheduled', dueAt, assigneeId, purpose, scheduledAt, completedAt: null, outcome: null, note: null, cancelledAt: null, cancelReason: null };
      return { ...state, followUps: { ...state.followUps, [followUpId]: followUp } };
    }
    case 'FollowUpCompleted': {
      const { followUpId, outcome, note, completedAt } = event.data;
      return { ...withFollowUp(followUpId, { status: 'completed', outcome, note, completedAt }), lastContactAt: contact(state, completedAt) };
    }
    case 'FollowUpCancelled':
      return withFollowUp(event.data.followUpId, { status: 'cancelled', cancelReason: event.data.reason, cancelledAt: event.data.cancelledAt });
    case 'CaseClosed':
      return { ...state, status: 'closed', disposition: event.data.disposition, closingNote: event.data.note, closedAt: event.data.closedAt };
    case 'CaseReopened':
      return { ...state, status: 'open', disposition: null, closingNote: null, closedAt: null, reopenedAt: event.data.reopenedAt };
  }
}

const minute = fc.integer({ min: 0, max: 59 });
// Inherited names too: a follow-up id is an own key, never the prototype or one of its methods.
const id = fc.constantFrom('a', 'b', 'c', '__proto__', 'toString');
/** Any case event, few ids (so follow-ups are completed, cancelled and scheduled again). */
const caseEvent: fc.Arbitrary<CaseEvent> = fc.oneof(
  fc.record({ m: minute, risk: fc.constantFrom('low', 'high') }).map(({ m, risk }): CaseEvent => ({ type: 'CaseOpened', data: { caseId, personId: 'p-1', team: 'north', reason: 'other', risk, summary: `opened ${m}`, cadIncidentId: null, openedAt: at(m) } })),
  fc.record({ worker: id }).map(({ worker }): CaseEvent => ({ type: 'CaseAssigned', data: { caseId, workerId: worker, previousWorkerId: null, assignedAt: at(0) } })),
  fc.constantFrom('low', 'medium', 'high').map((to): CaseEvent => ({ type: 'RiskLevelChanged', data: { caseId, from: 'low', to, reason: 'r', changedAt: at(0) } })),
  fc.record({ check: id, m: minute }).map(({ check, m }): CaseEvent => ({ type: 'WelfareCheckRecorded', data: { caseId, welfareCheckId: check, performedAt: at(m), location: 'l', outcome: 'safe', observations: 'o', recordedAt: at(m) } })),
  id.map((note): CaseEvent => ({ type: 'NoteAdded', data: { caseId, noteId: note, body: 'b', visibility: 'team', addedAt: at(0) } })),
  fc.record({ followUp: id, m: minute }).map(({ followUp, m }): CaseEvent => ({ type: 'FollowUpScheduled', data: { caseId, followUpId: followUp, dueAt: at(m), assigneeId: 'w', purpose: 'p', scheduledAt: at(0) } })),
  fc.record({ followUp: id, m: minute }).map(({ followUp, m }): CaseEvent => ({ type: 'FollowUpCompleted', data: { caseId, followUpId: followUp, outcome: 'o', note: null, completedAt: at(m) } })),
  id.map((followUp): CaseEvent => ({ type: 'FollowUpCancelled', data: { caseId, followUpId: followUp, reason: 'r', cancelledAt: at(1) } })),
  minute.map((m): CaseEvent => ({ type: 'CaseClosed', data: { caseId, disposition: 'resolved', note: 'n', closedAt: at(m) } })),
  minute.map((m): CaseEvent => ({ type: 'CaseReopened', data: { caseId, reason: 'r', reopenedAt: at(m) } })),
);

/** Freezes a state through and through: changing any of it in place then throws. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

describe('foldCase', () => {
  it('folds any run of events, cut into any pieces, to the model state, changing no state it started from', () =>
    fc.assert(
      fc.property(fc.array(caseEvent, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 10 }), (events, cuts) => {
        let expected: CaseState = caseDecider.initialState();
        let state: CaseState = deepFreeze(caseDecider.initialState());
        let from = 0;
        for (const length of [...cuts, events.length]) {
          const piece = events.slice(from, from + length);
          from += piece.length;
          const before = JSON.stringify(state);
          // Frozen: foldCase would throw (strict mode) were it to change the state it was given.
          const next = foldCase(state, piece);
          expect(JSON.stringify(state)).toBe(before);
          expected = piece.reduce(modelEvolve, expected);
          expect(next).toEqual(expected);
          // As text too: the same own keys in the same order (toEqual passes over a follow-up put
          // on the prototype instead of as an own "__proto__" key).
          expect(JSON.stringify(next)).toBe(JSON.stringify(expected));
          state = deepFreeze(next);
        }
        expect(state).toEqual(events.reduce(modelEvolve, caseDecider.initialState()));
      }),
    ));

  it('is what evolve answers one event at a time, and what replay answers', () =>
    fc.assert(
      fc.property(fc.array(caseEvent, { maxLength: 40 }), (events) => {
        const stepwise = events.reduce((state, event) => evolveCase(deepFreeze(state), event), caseDecider.initialState());
        expect(foldCase(caseDecider.initialState(), events)).toEqual(stepwise);
        expect(replay(caseDecider, events)).toEqual(stepwise);
        // And replay without evolveAll (evolve one event at a time) answers what the model does.
        expect(JSON.stringify(replay({ ...caseDecider, evolveAll: undefined }, events))).toBe(JSON.stringify(events.reduce(modelEvolve, caseDecider.initialState())));
      }),
    ));

});
