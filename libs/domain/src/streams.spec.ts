import { caseDecider } from './case/index';
import { caselineEventTypes, eventCategories, isCaselineEventType } from './events';
import { caseStream, parseStreamId, personStream, referralStream } from './streams';

describe('stream names', () => {
  const id = '6f1c2d3e-0000-4000-8000-000000000001';

  it('names one stream per aggregate', () => {
    expect(personStream(id)).toBe(`person-${id}`);
    expect(caseStream(id)).toBe(`case-${id}`);
    expect(referralStream(id)).toBe(`referral-${id}`);
  });

  it('parses a stream id back into category and id', () => {
    expect(parseStreamId(caseStream(id))).toEqual({ category: 'case', id });
    expect(parseStreamId(referralStream(id))).toEqual({ category: 'referral', id });
  });

  it('refuses a stream that is not Caseline’s', () => {
    expect(() => parseStreamId(`invoice-${id}`)).toThrow(expect.objectContaining({ code: 'invalid_stream_id' }));
    expect(() => parseStreamId('case')).toThrow(expect.objectContaining({ code: 'invalid_stream_id' }));
    expect(() => parseStreamId('case-')).toThrow(expect.objectContaining({ code: 'invalid_stream_id' }));
  });
});

describe('event vocabulary', () => {
  it('lists the 21 event types of SPEC §2, each with its stream category', () => {
    expect(caselineEventTypes).toHaveLength(21);
    expect(eventCategories.CaseOpened).toBe('case');
    expect(eventCategories.ConsentGranted).toBe('person');
    expect(eventCategories.ReferralServiceStarted).toBe('referral');
  });

  it('recognises its own event types only', () => {
    expect(isCaselineEventType('FollowUpCompleted')).toBe(true);
    expect(isCaselineEventType('toString')).toBe(false);
    expect(isCaselineEventType('OrderPlaced')).toBe(false);
  });

  it('keeps decider state JSON-safe, so audit replays can be served as they are', () => {
    const state = caseDecider.evolve(caseDecider.initialState(), {
      type: 'CaseOpened',
      data: { caseId: 'c', personId: 'p', team: 't', reason: 'other', risk: 'low', summary: 's', cadIncidentId: null, openedAt: 'x' },
    });
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
