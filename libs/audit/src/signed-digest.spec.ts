import { generateKeyPairSync, verify } from 'node:crypto';
import { headsRootHash } from '@caseline/event-store';
import { formatDuration, ProgressMeter } from './progress';
import { DigestSigner, keyIdOf, parseDigest, statementOf } from './signed-digest';

const heads = [
  { streamId: 'case-00000000-0000-4000-8000-000000000001', version: 3, hash: 'a'.repeat(64) },
  { streamId: 'person-00000000-0000-4000-8000-000000000002', version: 1, hash: 'b'.repeat(64) },
];

describe('signed digest', () => {
  const signer = new DigestSigner(generateKeyPairSync('ed25519').privateKey);
  const digest = signer.sign(heads, '2025-01-01T00:00:00.000Z');

  it('signs the statement of the heads: count, events, root, time and key', () => {
    expect(digest).toMatchObject({ streams: 2, events: 4, rootHash: headsRootHash(heads), signature: { keyId: keyIdOf(signer.publicKey) } });
    expect(verify(null, statementOf(digest, digest.signature.keyId), signer.publicKey, Buffer.from(digest.signature.value, 'base64'))).toBe(true);
    expect(verify(null, statementOf({ ...digest, events: 5 }, digest.signature.keyId), signer.publicKey, Buffer.from(digest.signature.value, 'base64'))).toBe(false);
  });

  it('names the key by the hash of its public half', () => {
    expect(signer.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect(new DigestSigner(generateKeyPairSync('ed25519').privateKey).keyId).not.toBe(signer.keyId);
    expect(() => new DigestSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)).toThrow(/Ed25519/);
  });

  it('takes back a digest it exported, and nothing else', () => {
    expect(parseDigest(JSON.parse(JSON.stringify(digest)))).toEqual({ digest });
    const fields = (value: unknown) => ('errors' in parseDigest(value) ? (parseDigest(value) as { errors: { field: string }[] }).errors.map((e) => e.field) : []);
    expect(fields(null)).toEqual(expect.arrayContaining(['format', 'createdAt', 'streams', 'events', 'rootHash', 'signature', 'heads']));
    expect(fields({ ...digest, heads: [heads[1], heads[0]] })).toEqual(['heads']);
    expect(fields({ ...digest, heads: [heads[0], heads[0]] })).toEqual(['heads']);
    expect(fields({ ...digest, heads: [{ ...heads[0], version: 0 }] })).toEqual(['heads.0']);
    expect(fields({ ...digest, signature: { ...digest.signature, value: 'x' } })).toEqual(['signature.value']);
  });
});

describe('progress meter', () => {
  it('reads rate and time left from a clock it is given', () => {
    let now = 1000;
    const meter = new ProgressMeter(1000, () => now);
    now = 3000;
    expect(meter.read(400)).toEqual({ done: 400, total: 1000, fraction: 0.4, rate: 200, elapsedSeconds: 2, etaSeconds: 3 });
    expect(meter.read(0).etaSeconds).toBeUndefined();
    expect(new ProgressMeter(0, () => now).read(0).fraction).toBe(1);
  });

  it('formats durations as h:mm:ss or m:ss', () => {
    expect([formatDuration(3.4), formatDuration(247), formatDuration(3909), formatDuration(undefined)]).toEqual(['0:03', '4:07', '1:05:09', '--:--']);
  });
});
