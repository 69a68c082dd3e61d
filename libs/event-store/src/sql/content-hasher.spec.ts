import { hash } from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import { ContentHashers } from './content-hasher';

// jsonb text as PostgreSQL writes it: keys by length, ", " and ": " between.
const texts = [
  '{"data": {"p": "a", "v": "b", "$pii": 1}, "type": "NoteAdded", "metadata": {"actor": {"id": "x"}, "schemaVersion": 1}, "streamId": "case-1"}',
  '{"k": 1.5, "a b": [1, "x", {}], "": null}',
  '[true, false, null, "\\n\\"", -12]',
];
const expected = texts.map((text) => hash('sha256', canonicalJson(JSON.parse(text)), 'hex'));

describe('content hashers', () => {
  it('hash canonical JSON in worker threads, the same as in this thread', async () => {
    const hashers = new ContentHashers(2);
    try {
      const ids = await hashers.threadIds();
      expect(ids.every((id) => id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(2);
      expect(await Promise.all([hashers.hashAll(texts), hashers.hashAll(texts.slice(1))])).toEqual([expected, expected.slice(1)]);
    } finally {
      await hashers.close();
    }
  });

  it('go on in this thread once closed (or when a worker cannot run)', async () => {
    const hashers = new ContentHashers(1);
    await hashers.close();
    expect(await hashers.threadIds()).toEqual([0]);
    expect(await hashers.hashAll(texts)).toEqual(expected);
  });
});
