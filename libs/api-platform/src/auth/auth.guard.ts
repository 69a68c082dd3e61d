import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedActor } from '@caseline/platform';
import { forbidden } from '../errors';
import { can, type Capability } from '../policy';
import { RateLimiter } from '../rate-limit';
import { AuthService } from './auth.service';

const PUBLIC = 'caseline:public';
const CAPABILITY = 'caseline:capability';
const LIMIT_BY_ADDRESS = 'caseline:limit-by-address';
/** Marks a route that needs no token (health, docs, the dev token). */
export const Public = () => SetMetadata(PUBLIC, true);
/** A public route that is rate-limited all the same, by client address (it has no actor). */
export const RateLimitedByAddress = () => SetMetadata(LIMIT_BY_ADDRESS, true);
/**
 * The capability a route needs (see the policy table). Checked right after authentication and
 * before the body is validated or anything is read: a role that may never do this gets 403.
 */
export const Requires = (capability: Capability) => SetMetadata(CAPABILITY, capability);

export interface AuthenticatedRequest extends FastifyRequest {
  actor?: AuthenticatedActor;
}

/**
 * Global guard, in this order: authenticate (401), rate-limit by actor (429), authorize the role
 * (403). Every route needs a verified bearer token unless it is marked @Public().
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) {
      if (this.reflector.getAllAndOverride<boolean>(LIMIT_BY_ADDRESS, targets)) this.rateLimiter.take(`address:${request.ip}`);
      return true;
    }
    request.actor = await this.auth.verify(request.headers.authorization);
    // The request logger sees the raw request: the actor's id goes in its line too.
    (request.raw as { actor?: AuthenticatedActor }).actor = request.actor;
    // Keyed by who the caller is, not by token: fresh tokens for the same person share one bucket.
    this.rateLimiter.take(`actor:${request.actor.id}`);
    const capability = this.reflector.getAllAndOverride<Capability | undefined>(CAPABILITY, targets);
    if (capability && !can(request.actor, capability)) throw forbidden(capability);
    return true;
  }
}

/** The verified caller of this request. */
export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedActor => {
  const actor = context.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('CurrentActor on a public route');
  return actor;
});
