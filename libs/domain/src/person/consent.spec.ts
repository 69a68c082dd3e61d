import { replay } from '../decider';
import { consentCovers, findCoveringConsent } from './consent';
import type { PersonEvent } from './events';
import { personDecider } from './index';
import type { Consent } from './state';

const personId = '8a0c2f3e-1111-4aaa-8bbb-000000000001';
const now = '2025-03-01T10:00:00.000Z';

const consent = (overrides: Partial<Consent> = {}): Consent => ({
  consentId: 'c-1',
  scope: 'referral-sharing',
  recipients: ['Harbor Shelter'],
  expiresAt: null,
  grantedAt: '2025-02-01T10:00:00.000Z',
  revokedAt: null,
  revokeReason: null,
  ...overrides,
});

describe('consentCovers', () => {
  it('covers a named provider, ignoring case and surrounding blanks', () =>
    expect(consentCovers(consent(), '  harbor SHELTER ', now)).toBe(true));

  it('covers every provider when the recipients include any', () =>
    expect(consentCovers(consent({ recipients: ['Any'] }), 'Food Bank', now)).toBe(true));

  it('does not cover a provider it does not name', () =>
    expect(consentCovers(consent(), 'Food Bank', now)).toBe(false));

  it('does not cover once revoked', () =>
    expect(consentCovers(consent({ revokedAt: '2025-02-15T00:00:00.000Z' }), 'Harbor Shelter', now)).toBe(false));

  it('does not cover once expired', () =>
    expect(consentCovers(consent({ expiresAt: now }), 'Harbor Shelter', now)).toBe(false));

  it('covers until it expires', () =>
    expect(consentCovers(consent({ expiresAt: '2025-03-01T10:00:01.000Z' }), 'Harbor Shelter', now)).toBe(true));
});

describe('findCoveringConsent', () => {
  const registered: PersonEvent = {
    type: 'PersonRegistered',
    data: { personId, givenName: 'Ada', familyName: 'Moss', dateOfBirth: null, phone: null, registeredAt: now },
  };
  const granted = (consentId: string, recipients: string[], grantedAt: string): PersonEvent => ({
    type: 'ConsentGranted',
    data: { personId, consentId, scope: 'referral-sharing', recipients, expiresAt: null, grantedAt },
  });
  const person = replay(personDecider, [
    registered,
    granted('c-old', ['any'], '2025-01-01T00:00:00.000Z'),
    granted('c-new', ['Harbor Shelter'], '2025-02-01T00:00:00.000Z'),
    granted('c-food', ['Food Bank'], '2025-02-10T00:00:00.000Z'),
  ]);

  it('prefers the most recently granted covering consent', () =>
    expect(findCoveringConsent(person, 'Harbor Shelter', now)?.consentId).toBe('c-new'));

  it('returns the named consent when it covers the provider', () =>
    expect(findCoveringConsent(person, 'Harbor Shelter', now, 'c-old')?.consentId).toBe('c-old'));

  it('returns nothing when the named consent does not cover the provider', () =>
    expect(findCoveringConsent(person, 'Harbor Shelter', now, 'c-food')).toBeUndefined());

  it('returns nothing for an unknown consent id', () =>
    expect(findCoveringConsent(person, 'Harbor Shelter', now, 'c-none')).toBeUndefined());

  it('returns nothing for an erased person', () => {
    const erased = personDecider.evolve(person, {
      type: 'PersonErased',
      data: { personId, reason: 'request', erasedAt: now },
    });
    expect(findCoveringConsent(erased, 'Harbor Shelter', now)).toBeUndefined();
  });

  it('returns nothing for a person who is not registered', () =>
    expect(findCoveringConsent(personDecider.initialState(), 'Harbor Shelter', now)).toBeUndefined());
});
