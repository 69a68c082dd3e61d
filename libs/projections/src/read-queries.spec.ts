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
      { stream_id: 'case-a', version: 19 },
      { stream_id: 'case-a', version: 60 },
      { stream_id: 'referral-b', version: 3 },
      { stream_id: 'case-a', version: 200 },
      { stream_id: 'case-a', version: 201 },
    ];
    const events = await eventsAt(log, places);
    expect(events.map((e) => `${e.streamId}@${e.version}`)).toEqual(places.map((p) => `${p.stream_id}@${p.version}`));
    // 1, 3 and 19 lie within 16 of each other; 60 and 200 start new runs rather than reading the skipped events.
    expect(log.reads.sort()).toEqual([
      ['case-a', 1, 19],
      ['case-a', 200, 201],
      ['case-a', 60, 60],
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

  it('reads at most 16 events per event shown, and at most 4 reads at once, however the page is spread', async () => {
    const log = fakeLog({ 'case-a': 10_000 });
    let inFlight = 0;
    let most = 0;
    const counted = {
      async readStream(streamId: string, options: ReadStreamOptions) {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        const events = await log.readStream(streamId, options);
        inFlight--;
        return events;
      },
    };
    // An officer's page: 50 entries shown, each 16 or 17 versions after the last (confidential notes between).
    const places = Array.from({ length: 50 }, (_, i) => ({ stream_id: 'case-a', version: 1 + i * 16 + Math.floor(i / 2) }));
    expect((await eventsAt(counted, places)).map((e) => e.version)).toEqual(places.map((p) => p.version));
    const read = log.reads.reduce((sum, [, from, to]) => sum + (to - from + 1), 0);
    expect(read).toBeLessThanOrEqual(16 * places.length);
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
  });

  it('reads nothing for an empty page', async () => {
    const log = fakeLog({});
    expect(await eventsAt(log, [])).toEqual([]);
    expect(log.reads).toEqual([]);
  });
});
