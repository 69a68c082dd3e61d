import type { RateLimit } from '@caseline/platform';
import { ApiError } from './errors';


interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 50_000;

/**
 * Token buckets keyed by caller (the actor id; the client address on the public dev-token route,
 * which behind a reverse proxy is the proxy's).
 * The limit is per process: N API processes behind a balancer let a caller make up to N times as
 * many requests. That is the point of it here — to stop one runaway client or script from starving
 * everyone else — not an exact quota.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = limit.perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.limit.perMinute > 0;
  }

  /** Takes one token for `key`, or throws 429 with Retry-After (whole seconds until one is back). */
  take(key: string): void {
    if (!this.enabled) return;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.keep(key, bucket);
      const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
      throw new ApiError(429, 'rate_limited', `too many requests; retry in ${seconds} s`, { 'Retry-After': String(seconds) });
    }
    bucket.tokens -= 1;
    this.keep(key, bucket);
  }

  private keep(key: string, bucket: Bucket): void {
    // Most recently used last (Map order), so that when too many callers are tracked the ones
    // quiet longest go first; a forgotten bucket only comes back full, so memory stays bounded.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value as string);
  }
}
