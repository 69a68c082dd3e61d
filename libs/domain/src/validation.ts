import { DomainError } from './errors';

export const MINUTE_MS = 60_000;

/** Tolerance for client clocks running ahead of the server's when reporting past activity. */
export const CLOCK_SKEW_MS = 5 * MINUTE_MS;

// ISO-8601 date-time with an explicit offset; a local time without zone is ambiguous.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds since the epoch of a trusted ISO-8601 instant (command `now`, stored events). */
export function millis(instant: string): number {
  return Date.parse(instant);
}

/** Non-empty text, trimmed. */
export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw DomainError.invalid('required', `${field} is required`, field);
  }
  return value.trim();
}

/** Optional text, trimmed; absent or blank becomes null. */
export function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw DomainError.invalid('invalid_value', `${field} must be text`, field);
  return value.trim() === '' ? null : value.trim();
}

export function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw DomainError.invalid('invalid_value', `${field} must be one of ${allowed.join(', ')}`, field);
  }
  return value as T;
}

/** An ISO-8601 instant with offset, normalised to UTC (`…Z`) so stored instants compare as text. */
export function requireInstant(value: unknown, field: string): string {
  const ms = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw DomainError.invalid('invalid_timestamp', `${field} must be an ISO-8601 date-time with offset`, field);
  }
  return new Date(ms).toISOString();
}

export function optionalInstant(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : requireInstant(value, field);
}

/** A calendar date `YYYY-MM-DD` that exists. */
export function requireDate(value: unknown, field: string): string {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (!match || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw DomainError.invalid('invalid_date', `${field} must be a calendar date YYYY-MM-DD`, field);
  }
  return value as string;
}
