import { createPrivateKey } from 'node:crypto';
import { resolve } from 'node:path';

/** How many requests a caller may make: a sustained rate and a burst on top of it. */
export interface RateLimit {
  /** Tokens added per minute; 0 turns limiting off. */
  perMinute: number;
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number;
}

/** Service configuration, read once from the environment (SPEC §7). */
export interface AppConfig {
  port: number;
  /** Listen address: loopback by default in dev auth mode (the token endpoint is open), all interfaces otherwise. */
  host: string;
  /** PGlite folder, used when no DATABASE_URL is given. */
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL connections per process. */
  databasePoolSize: number;
  eventStore: 'postgres' | 'kurrentdb';
  kurrentdbConnectionString?: string;
  auth:
    | { mode: 'dev' }
    | { mode: 'jwt'; issuer: string; audience: string; publicKey?: string; jwksUrl?: string; algorithms: string[] };
  /** Base64 of 32 bytes; wraps per-person data keys. */
  masterKey?: string;
  /** Ed25519 private key (PKCS8 PEM, or base64 of its DER) that signs digests of the stream heads. */
  auditSigningKey?: string;
  /** Events over this many bytes are refused. */
  maxEventBytes: number;
  logLevel: string;
  /** How long a query waits for the read side to reach a consistency token. */
  consistencyWaitMs: number;
  /** `inline`: this process runs the projections (the default); `off`: apps/projector does. */
  projector: 'inline' | 'off';
  /** A referral unanswered this long breaches its response SLA (SPEC §6, metric 3). */
  referralResponseSlaHours: number;
  /** Requests per caller (actor id; client address for the dev token), per process. */
  rateLimit: RateLimit;
}

/** A misconfiguration: start-up stops with this one line, which names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const eventStore = (env.EVENT_STORE ?? 'postgres') as AppConfig['eventStore'];
  if (eventStore !== 'postgres' && eventStore !== 'kurrentdb') throw new ConfigError('EVENT_STORE', `must be postgres or kurrentdb, not "${eventStore}"`);
  if (eventStore === 'kurrentdb' && !env.KURRENTDB_CONNECTION_STRING) {
    throw new ConfigError('KURRENTDB_CONNECTION_STRING', 'is required when EVENT_STORE=kurrentdb');
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  const authMode = env.AUTH_MODE ?? 'dev';
  let auth: AppConfig['auth'];
  if (authMode === 'dev') auth = { mode: 'dev' };
  else if (authMode === 'jwt') {
    const issuer = required(env, 'JWT_ISSUER');
    const audience = required(env, 'JWT_AUDIENCE');
    const publicKey = env.JWT_PUBLIC_KEY || undefined;
    const jwksUrl = env.JWT_JWKS_URL || undefined;
    if (!publicKey && !jwksUrl) throw new ConfigError('JWT_PUBLIC_KEY', 'or JWT_JWKS_URL is required when AUTH_MODE=jwt');
    if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) throw new ConfigError('JWT_JWKS_URL', 'must be an http(s) URL');
    const algorithms = (env.JWT_ALGORITHMS ?? 'RS256').split(',').map((a) => a.trim()).filter(Boolean);
    const bad = algorithms.find((a) => !ASYMMETRIC.has(a));
    if (bad) throw new ConfigError('JWT_ALGORITHMS', `${bad} is not an allowed asymmetric algorithm`);
    auth = { mode: 'jwt', issuer, audience, publicKey: publicKey?.replace(/\\n/g, '\n'), jwksUrl, algorithms };
  } else throw new ConfigError('AUTH_MODE', `must be dev or jwt, not "${authMode}"`);
  const projector = (env.PROJECTOR ?? 'inline') as AppConfig['projector'];
  if (projector !== 'inline' && projector !== 'off') throw new ConfigError('PROJECTOR', `must be inline or off, not "${projector}"`);
  const masterKey = env.MASTER_KEY || undefined;
  if (masterKey && Buffer.from(masterKey, 'base64').length !== 32) throw new ConfigError('MASTER_KEY', 'must be 32 bytes, base64-encoded');
  if (!masterKey && authMode === 'jwt') throw new ConfigError('MASTER_KEY', 'is required outside dev mode');
  const auditSigningKey = env.AUDIT_SIGNING_KEY ? env.AUDIT_SIGNING_KEY.replace(/\\n/g, '\n') : undefined;
  if (auditSigningKey && !isEd25519PrivateKey(auditSigningKey)) {
    throw new ConfigError('AUDIT_SIGNING_KEY', 'must be an Ed25519 private key, PKCS8 PEM or base64 of its DER');
  }
  if (!auditSigningKey && authMode === 'jwt') throw new ConfigError('AUDIT_SIGNING_KEY', 'is required outside dev mode');
  return {
    port,
    host: env.HOST || (authMode === 'dev' ? '127.0.0.1' : '0.0.0.0'),
    dataDir: resolve(env.DATA_DIR ?? './data'),
    databaseUrl,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 32, 1, 500),
    eventStore,
    kurrentdbConnectionString: env.KURRENTDB_CONNECTION_STRING || undefined,
    auth,
    masterKey,
    auditSigningKey,
    maxEventBytes: integer(env, 'MAX_EVENT_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    logLevel: env.LOG_LEVEL ?? 'info',
    consistencyWaitMs: integer(env, 'CONSISTENCY_WAIT_MS', 2000, 0, 60_000),
    projector,
    referralResponseSlaHours: integer(env, 'REFERRAL_RESPONSE_SLA_HOURS', 72, 1, 24 * 365),
    // Generous: a person clicking through cases never meets it; a runaway script does.
    rateLimit: { perMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000), burst: integer(env, 'RATE_LIMIT_BURST', 200, 1, 1_000_000) },
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(name, 'is required');
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
  return value;
}

/** The key object of an audit signing key as configured: PKCS8 PEM text or base64 of PKCS8 DER. */
export function parseAuditSigningKey(text: string) {
  const key = text.includes('-----BEGIN')
    ? createPrivateKey({ key: text, format: 'pem' })
    : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an audit signing key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

function isEd25519PrivateKey(text: string): boolean {
  try {
    parseAuditSigningKey(text);
    return true;
  } catch {
    return false;
  }
}
