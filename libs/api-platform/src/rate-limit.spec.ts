import { ApiError } from './errors';
import { RateLimiter } from './rate-limit';

/** A limiter on a clock the test moves by hand. */
function limiter(perMinute: number, burst: number) {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new RateLimiter({ perMinute, burst }, () => clock.now) };
}

function refusal(take: () => void): ApiError | undefined {
  try {
    take();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  return undefined;
}

describe('rate limiter (token bucket)', () => {
  it('lets a burst through, then refuses with 429 and the seconds until a token is back', () => {
    const { limiter: bucket } = limiter(60, 3);
    for (let i = 0; i < 3; i++) bucket.take('actor:a');
    const refused = refusal(() => bucket.take('actor:a'));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited', headers: { 'Retry-After': '1' } });
  });

  it('keeps callers apart', () => {
    const { limiter: bucket } = limiter(60, 1);
    bucket.take('actor:a');
    expect(refusal(() => bucket.take('actor:a'))).toBeDefined();
    expect(refusal(() => bucket.take('actor:b'))).toBeUndefined();
  });

  it('refills at the sustained rate and never beyond the burst', () => {
    const { clock, limiter: bucket } = limiter(6, 2); // one token every 10 s
    bucket.take('k');
    bucket.take('k');
    expect(refusal(() => bucket.take('k'))?.headers['Retry-After']).toBe('10');
    clock.now += 4_000;
    expect(refusal(() => bucket.take('k'))?.headers['Retry-After']).toBe('6');
    clock.now += 6_000;
    expect(refusal(() => bucket.take('k'))).toBeUndefined();
    clock.now += 3_600_000; // an hour of quiet still only buys the burst
    bucket.take('k');
    bucket.take('k');
    expect(refusal(() => bucket.take('k'))).toBeDefined();
  });

  it('refused requests do not dig the hole deeper', () => {
    const { clock, limiter: bucket } = limiter(6, 1);
    bucket.take('k');
    for (let i = 0; i < 5; i++) expect(refusal(() => bucket.take('k'))).toBeDefined();
    clock.now += 10_000;
    expect(refusal(() => bucket.take('k'))).toBeUndefined();
  });

  it('is off at 0 per minute', () => {
    const { limiter: bucket } = limiter(0, 1);
    expect(bucket.enabled).toBe(false);
    for (let i = 0; i < 1000; i++) bucket.take('k');
  });
});
