import { createHash, randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { canonicalJson } from '@caseline/event-store';
import type { AuthenticatedActor } from '@caseline/platform';
import type { AuthenticatedRequest } from './auth/auth.guard';
import { ApiError } from './errors';

/** Everything about the request that a command carries into its events' metadata. */
export interface CommandContext {
  actor: AuthenticatedActor;
  /** Ties together everything one user action caused, across requests and services. */
  correlationId: string;
  /** This request: the direct cause of the events it appends. */
  causationId: string;
  /** Server clock, read once per request. */
  now: string;
  idempotencyKey?: string;
  /** Fingerprint of method, path and body: a key reused with another request is refused. */
  requestHash: string;
  /** From `If-Match: "<version>"`. */
  expectedVersion?: number;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const IF_MATCH = /^(?:W\/)?"(\d{1,15})"$/;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,100}$/;

export function correlationIdOf(request: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const header = request.headers['x-correlation-id'];
  return typeof header === 'string' && CORRELATION_ID.test(header) ? header : undefined;
}

export function commandContextOf(request: AuthenticatedRequest): CommandContext {
  if (!request.actor) throw new Error('command on a public route');
  const key = request.headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
    throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
  }
  const ifMatch = request.headers['if-match'];
  let expectedVersion: number | undefined;
  if (ifMatch !== undefined) {
    const match = typeof ifMatch === 'string' ? IF_MATCH.exec(ifMatch.trim()) : null;
    if (!match) throw new ApiError(400, 'invalid_if_match', 'If-Match must be a version in quotes, e.g. "3"');
    expectedVersion = Number(match[1]);
  }
  const requestId = String(request.id ?? randomUUID());
  return {
    actor: request.actor,
    correlationId: correlationIdOf(request) ?? requestId,
    causationId: requestId,
    now: new Date().toISOString(),
    idempotencyKey: key,
    requestHash: createHash('sha256')
      .update(canonicalJson({ method: request.method, path: request.url.split('?')[0], body: request.body ?? null }))
      .digest('hex'),
    expectedVersion,
  };
}

/** The command context of this request (actor, clock, idempotency key, If-Match). */
export const Command = createParamDecorator((_: unknown, context: ExecutionContext) =>
  commandContextOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);

/**
 * Ids minted for a command: random, or — under an Idempotency-Key — derived from the actor, the key
 * and the purpose, so that a retry mints the very same ids (and so appends nothing new).
 */
export function mintId(context: CommandContext, purpose: string): string {
  if (!context.idempotencyKey) return randomUUID();
  const hex = createHash('sha256').update(`${context.actor.id}\n${context.idempotencyKey}\n${purpose}`).digest('hex');
  // Shaped as an RFC 9562 version 8 (custom) UUID.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
