import { contentHash } from '../hash-chain';
import { ContentHashers, linksInOrder, type LinkRow, type StoredContent } from './content-hasher';

// Data and metadata as PostgreSQL writes jsonb text: keys by length, ", " and ": " between.
const contents: StoredContent[] = [
  { streamId: 'case-1', type: 'NoteAdded', data: '{"p": "a", "v": "b", "$pii": 1}', metadata: '{"actor": {"id": "x"}, "schemaVersion": 1}' },
  { streamId: 'case-"2"', type: 'Odd\ntype', data: '{"k": 1.5, "a b": [1, "x", {}], "": null}', metadata: '{}' },
  { streamId: 'person-3', type: 'E', data: '[true, false, null, "\\n\\"", -12]', metadata: '{"n": 12345678901234567}' },
];
const expected = contents.map(({ streamId, type, data, metadata }) => contentHash({ streamId, type, data: JSON.parse(data), metadata: JSON.parse(metadata) }));

describe('content hashers', () => {
  it('hash canonical content in worker threads, the same as in this thread', async () => {
    const hashers = new ContentHashers(2);
    try {
      const ids = await hashers.threadIds();
      expect(ids.every((id) => id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(2);
      expect(await Promise.all([hashers.hashAll(contents), hashers.hashAll(contents.slice(1))])).toEqual([expected, expected.slice(1)]);
    } finally {
      await hashers.close();
    }
  });

  it('go on in this thread once closed (or when a worker cannot run)', async () => {
    const hashers = new ContentHashers(1);
    await hashers.close();
    expect(await hashers.threadIds()).toEqual([0]);
    expect(await hashers.hashAll(contents)).toEqual(expected);
  });

  it('leave reading to the caller without a thread connection', async () => {
    const hashers = new ContentHashers(1);
    try {
      expect(await hashers.readLinks(['case-1'])).toBeUndefined();
    } finally {
      await hashers.close();
    }
  });
});

describe('linksInOrder', () => {
  const row = (streamId: string, version: number): LinkRow => [streamId, version, 'E', '{}', '{}', '', ''];
  it('puts rows read in any order into runs, in the order of the stream ids given, each by version', () => {
    const rows = [row('b', 2), row('a', 1), row('c', 1), row('b', 1), row('a', 3), row('a', 2)];
    expect(linksInOrder(['a', 'b', 'c'], rows).map((run) => run.map(([streamId, version]) => `${streamId}${version}`))).toEqual([['a1', 'a2', 'a3'], ['b1', 'b2'], ['c1']]);
  });

  it('leaves out streams without rows, and rows of streams not asked for', () => {
    expect(linksInOrder(['a', 'b'], [row('b', 1), row('z', 1)]).map((run) => run[0][0])).toEqual(['b']);
  });
});
