import { millis } from '../validation';
import type { Consent, PersonState } from './state';

/** Provider names compare case-insensitively, ignoring surrounding blanks. */
const normalise = (name: string): string => name.trim().toLowerCase();

/** Whether `consent` lets us share the person's data with `providerName` at `now`. */
export function consentCovers(consent: Consent, providerName: string, now: string): boolean {
  if (consent.scope !== 'referral-sharing' || consent.revokedAt !== null) return false;
  if (consent.expiresAt !== null && millis(consent.expiresAt) <= millis(now)) return false;
  const provider = normalise(providerName);
  return consent.recipients.some((recipient) => {
    const name = normalise(recipient);
    return name === 'any' || name === provider;
  });
}

/**
 * The consent that covers sharing with `providerName` at `now`: the one named by `consentId` if
 * given (undefined unless it covers), otherwise the most recently granted covering consent.
 * An erased person has none.
 */
export function findCoveringConsent(
  person: PersonState,
  providerName: string,
  now: string,
  consentId?: string,
): Consent | undefined {
  if (!person.registered || person.erased) return undefined;
  if (consentId !== undefined) {
    const consent = person.consents[consentId];
    return consent && consentCovers(consent, providerName, now) ? consent : undefined;
  }
  return Object.values(person.consents)
    .filter((consent) => consentCovers(consent, providerName, now))
    .sort((a, b) => millis(b.grantedAt) - millis(a.grantedAt))[0];
}
