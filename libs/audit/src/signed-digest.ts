import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import {
  canonicalJson,
  checkHeads,
  collectHeads,
  headsRootHash,
  inStreamOrder,
  type EventStore,
  type HeadProblem,
  type StreamHead,
} from '@caseline/event-store';

/**
 * Signed digest: every stream head at one time, a root hash over them, and an Ed25519 signature by
 * the service's audit key. Kept outside the database (an auditor's archive), it later proves that
 * no stream was rewritten, even wholesale with recomputed links: see checkHeads.
 */
export const DIGEST_FORMAT = 'caseline-head-digest/1';

export interface SignedDigest {
  format: typeof DIGEST_FORMAT;
  /** When the heads were collected; each head was read at or after this instant. */
  createdAt: string;
  streams: number;
  events: number;
  /** headsRootHash(heads): SHA-256 over `<streamId> <version> <hash>\n`, in stream-id order. */
  rootHash: string;
  heads: StreamHead[];
  signature: {
    algorithm: 'Ed25519';
    /** `ed25519:` and the first 16 hex digits of SHA-256 over the public key (SPKI DER). */
    keyId: string;
    /** SPKI PEM, for convenience; verification trusts only keys it was given, never this one. */
    publicKey: string;
    /** Base64 signature over the statement (see `statementOf`). */
    value: string;
  };
}

export const keyIdOf = (publicKey: KeyObject): string =>
  `ed25519:${createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16)}`;

/** The signed bytes: canonical JSON of everything but the heads themselves, which the root covers. */
export function statementOf(digest: Pick<SignedDigest, 'format' | 'createdAt' | 'streams' | 'events' | 'rootHash'>, keyId: string): Buffer {
  const { format, createdAt, streams, events, rootHash } = digest;
  return Buffer.from(canonicalJson({ format, createdAt, streams, events, rootHash, keyId }));
}

export class DigestSigner {
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') throw new Error('the audit signing key must be an Ed25519 private key');
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  sign(heads: StreamHead[], createdAt: string): SignedDigest {
    const body = { format: DIGEST_FORMAT, createdAt, streams: heads.length, events: heads.reduce((sum, head) => sum + head.version, 0), rootHash: headsRootHash(heads) } as const;
    return {
      ...body,
      heads,
      signature: {
        algorithm: 'Ed25519',
        keyId: this.keyId,
        publicKey: this.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        value: sign(null, statementOf(body, this.keyId), this.privateKey).toString('base64'),
      },
    };
  }
}

/** Collects every stream head and signs them. */
export async function exportDigest(store: EventStore, signer: DigestSigner, options: { now?: () => Date; onProgress?(streams: number): void } = {}): Promise<SignedDigest> {
  const createdAt = (options.now?.() ?? new Date()).toISOString();
  const heads = await collectHeads(store, { onProgress: options.onProgress });
  return signer.sign(heads, createdAt);
}

export interface DigestVerification {
  /** The signature holds and every head is still a prefix of its stream. */
  ok: boolean;
  signatureValid: boolean;
  /** Why the signature does not hold: a key not trusted here, a bad signature, heads that do not hash to the signed root. */
  signatureProblem?: 'unknown_key' | 'bad_signature' | 'root_mismatch';
  keyId: string;
  createdAt: string;
  checkedStreams: number;
  checkedEvents: number;
  problemCount: number;
  /** The first streams whose signed head no longer holds, in stream-id order. */
  problems: HeadProblem[];
  /** The first stream rewritten, removed or altered since the digest was signed. */
  firstRewrittenStream?: string;
}

/**
 * Checks an earlier digest: signed by one of `trustedKeys` (public keys), its heads hash to the
 * signed root, and each head is still a prefix of the chain recomputed from the stored events.
 * Streams created after the digest are not its concern.
 */
export async function verifyDigest(
  store: EventStore,
  digest: SignedDigest,
  trustedKeys: KeyObject[],
  options: { onProgress?(progress: { checkedEvents: number; checkedStreams: number }): void } = {},
): Promise<DigestVerification> {
  const base = { keyId: digest.signature.keyId, createdAt: digest.createdAt, checkedStreams: 0, checkedEvents: 0, problemCount: 0, problems: [] };
  const key = trustedKeys.find((candidate) => keyIdOf(candidate) === digest.signature.keyId);
  if (!key) return { ...base, ok: false, signatureValid: false, signatureProblem: 'unknown_key' };
  const signature = Buffer.from(digest.signature.value, 'base64');
  if (!verify(null, statementOf(digest, digest.signature.keyId), key, signature)) {
    return { ...base, ok: false, signatureValid: false, signatureProblem: 'bad_signature' };
  }
  // The signature covers the root, not the list: a head edited, added or dropped shows here.
  if (headsRootHash(digest.heads) !== digest.rootHash || digest.heads.length !== digest.streams) {
    return { ...base, ok: false, signatureValid: false, signatureProblem: 'root_mismatch' };
  }
  const check = await checkHeads(store, digest.heads, { onProgress: options.onProgress });
  return {
    ...base,
    ...check,
    ok: check.ok,
    signatureValid: true,
    ...(check.problems.length ? { firstRewrittenStream: check.problems[0].streamId } : {}),
  };
}

export interface DigestFieldError {
  field: string;
  code: string;
  message: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const STREAM = /^[a-z][a-z0-9_]{0,39}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Checks the shape of a digest handed back for verification; every problem reported with its field. */
export function parseDigest(value: unknown): { digest: SignedDigest } | { errors: DigestFieldError[] } {
  const errors: DigestFieldError[] = [];
  const problem = (field: string, message: string) => errors.push({ field, code: 'invalid_digest', message });
  const body = (value ?? {}) as Record<string, unknown>;
  if (body.format !== DIGEST_FORMAT) problem('format', `must be ${DIGEST_FORMAT}`);
  if (typeof body.createdAt !== 'string' || !INSTANT.test(body.createdAt) || Number.isNaN(Date.parse(body.createdAt))) problem('createdAt', 'must be an ISO-8601 UTC instant');
  for (const field of ['streams', 'events'] as const) {
    if (!Number.isSafeInteger(body[field]) || (body[field] as number) < 0) problem(field, 'must be a whole number ≥ 0');
  }
  if (typeof body.rootHash !== 'string' || !HEX64.test(body.rootHash)) problem('rootHash', 'must be 64 lower-case hex digits');
  const signature = (body.signature ?? {}) as Record<string, unknown>;
  if (typeof body.signature !== 'object' || body.signature === null) problem('signature', 'is required');
  else {
    if (signature.algorithm !== 'Ed25519') problem('signature.algorithm', 'must be Ed25519');
    if (typeof signature.keyId !== 'string' || !/^ed25519:[0-9a-f]{16}$/.test(signature.keyId)) problem('signature.keyId', 'must be ed25519:<16 hex digits>');
    if (typeof signature.value !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(signature.value)) problem('signature.value', 'must be a base64 Ed25519 signature');
    if (signature.publicKey !== undefined && typeof signature.publicKey !== 'string') problem('signature.publicKey', 'must be a PEM text');
  }
  if (!Array.isArray(body.heads)) problem('heads', 'must be an array of { streamId, version, hash }');
  else {
    for (const [index, head] of (body.heads as unknown[]).entries()) {
      const { streamId, version, hash } = (head ?? {}) as Record<string, unknown>;
      if (typeof streamId !== 'string' || !STREAM.test(streamId) || !Number.isSafeInteger(version) || (version as number) < 1 || typeof hash !== 'string' || !HEX64.test(hash)) {
        problem(`heads.${index}`, 'must be { streamId: <category>-<uuid>, version: ≥ 1, hash: 64 hex digits }');
        if (errors.length >= 20) break;
      }
    }
    if (errors.length === 0 && !inStreamOrder(body.heads as StreamHead[])) problem('heads', 'must be in stream-id order, each stream once');
  }
  if (errors.length) return { errors };
  const heads = (body.heads as StreamHead[]).map(({ streamId, version, hash }) => ({ streamId, version, hash }));
  return {
    digest: {
      format: DIGEST_FORMAT,
      createdAt: body.createdAt as string,
      streams: body.streams as number,
      events: body.events as number,
      rootHash: body.rootHash as string,
      heads,
      signature: { algorithm: 'Ed25519', keyId: signature.keyId as string, publicKey: (signature.publicKey as string | undefined) ?? '', value: signature.value as string },
    },
  };
}
