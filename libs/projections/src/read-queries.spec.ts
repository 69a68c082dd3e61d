import type { ReadStreamOptions, RecordedEvent } from '@caseline/event-store';
import { eventsAt } from './read-queries';

// Timeline entries point into the log; eventsAt reads what a page shows, and nothing else leaves it.

function fakeLog(streams: Record<string, number>) {
  const reads: [string, number, number][] = [];
  const event = (streamId: string, version: number) => ({ streamId, version, type: 'NoteAdded', data: { n: `${streamId}@${version}` } }) as unknown as RecordedEvent;
  return {
    reads,
    async readStream(streamId: string, { fromVersion = 1, toVersion = Number.POSITIVE_INFINITY }: ReadStreamOptions = {}) {
      reads.push([streamId, fromVersion, toVersion]);
      const events: RecordedEvent[] = [];
      for (let v = fromVersion; v <= Math.min(toVersion, streams[streamId] ?? 0); v++) events.push(event(streamId, v));
      return events;
    },
  };
}

describe('eventsAt', () => {
  it('answers the events asked for, in the order asked, with one read per run of versions', async () => {
    const log = fakeLog({ 'case-a': 500, 'referral-b': 3 });
    const places = [
      { stream_id: 'case-a', version: 1 },
      { stream_id: 'referral-b', version: 1 },
      { stream_id: 'case-a', version: 3 },
      { stream_id: 'case-a', version: 60 },
      { stream_id: 'referral-b', version: 3 },
      { stream_id: 'case-a', version: 200 },
      { stream_id: 'case-a', version: 201 },
    ];
    const events = await eventsAt(log, places);
    expect(events.map((e) => `${e.streamId}@${e.version}`)).toEqual(places.map((p) => `${p.stream_id}@${p.version}`));
    // 1, 3 and 60 lie within 64 of each other; 200 starts a new run rather than reading 140 skipped events.
    expect(log.reads.sort()).toEqual([
      ['case-a', 1, 60],
      ['case-a', 200, 201],
      ['referral-b', 1, 3],
    ]);
  });

  it('returns none of the events a run spans but the page does not show (a confidential note between two entries)', async () => {
    const log = fakeLog({ 'case-a': 10 });
    const events = await eventsAt(log, [
      { stream_id: 'case-a', version: 2 },
      { stream_id: 'case-a', version: 9 },
    ]);
    expect(events.map((e) => e.version)).toEqual([2, 9]);
  });

  it('fails, naming the entry, when the log lacks an event an entry points at', async () => {
    const log = fakeLog({ 'case-a': 4 });
    await expect(eventsAt(log, [{ stream_id: 'case-a', version: 5 }])).rejects.toThrow('case-a@5');
  });

  it('reads nothing for an empty page', async () => {
    const log = fakeLog({});
    expect(await eventsAt(log, [])).toEqual([]);
    expect(log.reads).toEqual([]);
  });
});
