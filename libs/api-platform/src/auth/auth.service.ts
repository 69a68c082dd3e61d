import { createRemoteJWKSet, errors, importSPKI, jwtVerify, SignJWT, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { isRole, type AppConfig, type AuthenticatedActor } from '@caseline/platform';
import { ApiError, unauthorized } from '../errors';

const DEV_ISSUER = 'caseline-dev';
const DEV_AUDIENCE = 'caseline';
const CLAIM_TEXT = /^[\p{L}\p{N} .,'’_@:-]{1,200}$/u;
/** Subject ids as identity providers issue them (e.g. `auth0|5f1c…`, `google-oauth2|…`). */
const SUBJECT = /^[\p{L}\p{N} .,'’_@:|/+=-]{1,200}$/u;
const TEAM = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Verifies bearer tokens. Algorithms are pinned (HS256 only for dev tokens signed by this
 * process; the configured asymmetric ones in jwt mode), so `alg: none` and HS/RS key confusion are
 * refused by construction; issuer, audience, expiry and not-before are always checked.
 */
export class AuthService {
  private constructor(
    private readonly key: Uint8Array | KeyLike | JWTVerifyGetKey,
    private readonly options: { issuer: string; audience: string; algorithms: string[] },
    private readonly devSecret?: Uint8Array,
  ) {}

  static async create(config: AppConfig, devSecret: Uint8Array): Promise<AuthService> {
    if (config.auth.mode === 'dev') {
      return new AuthService(devSecret, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, algorithms: ['HS256'] }, devSecret);
    }
    const { issuer, audience, algorithms, publicKey, jwksUrl } = config.auth;
    const key = jwksUrl ? keySet(new URL(jwksUrl)) : await importSPKI(publicKey as string, algorithms[0]);
    return new AuthService(key, { issuer, audience, algorithms });
  }

  get devMode(): boolean {
    return this.devSecret !== undefined;
  }

  async verify(authorization: string | undefined): Promise<AuthenticatedActor> {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
    if (!match) throw unauthorized();
    // A token verified moments ago need not be verified again: the cache keeps the actor until the
    // token's own expiry (never longer than a minute), keyed by the whole signed token.
    const cached = this.verified.get(match[1]);
    if (cached && cached.until > Date.now()) return cached.actor;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(match[1], this.key as Uint8Array, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: this.options.algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof KeySetUnavailable) {
        throw new ApiError(503, 'unavailable', "the identity provider's signing keys could not be fetched; retry shortly", { 'Retry-After': '5' });
      }
      throw unauthorized('the bearer token is invalid or expired');
    }
    const actor = actorFromClaims(payload);
    if (this.verified.size >= 10_000) this.verified.clear();
    this.verified.set(match[1], { actor, until: Math.min(Date.now() + 60_000, Number(payload.exp) * 1000) });
    return actor;
  }

  private readonly verified = new Map<string, { actor: AuthenticatedActor; until: number }>();

  /** Dev mode only: a token for whoever asks. Never available with AUTH_MODE=jwt. */
  async issueDevToken(claims: { sub: string; name: string; role: string; team: string }): Promise<string> {
    if (!this.devSecret) throw new Error('dev tokens exist only in dev auth mode');
    return new SignJWT({ name: claims.name, role: claims.role, team: claims.team })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('8h')
      .sign(this.devSecret);
  }
}

function actorFromClaims(claims: Record<string, unknown>): AuthenticatedActor {
  const { sub, name, role, team } = claims;
  if (typeof sub !== 'string' || !SUBJECT.test(sub)) throw unauthorized('the token has no usable sub claim');
  if (typeof name !== 'string' || !CLAIM_TEXT.test(name)) throw unauthorized('the token has no usable name claim');
  if (!isRole(role)) throw unauthorized('the token has no known role claim');
  if (typeof team !== 'string' || !TEAM.test(team)) throw unauthorized('the token has no usable team claim');
  return { id: sub, name, role, team };
}

/** The identity provider's key set could not be had (unreachable, timed out, not a key set). */
class KeySetUnavailable extends Error {}

/**
 * The remote key set (JWKS), fetched and cached by jose; a token whose `kid` is not in it is
 * refused (jose refetches at most every 30 s for an unknown kid). Only "no such key" says something
 * about the token: any other failure is the provider's, a 503 rather than a 401 that would make
 * clients throw away good tokens.
 */
function keySet(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeySetUnavailable();
    }
  };
}
