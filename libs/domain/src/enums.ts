// Enumerations of SPEC §3. Each is a runtime list (for validation) and its union type.

/** Why the case was opened. */
export const caseReasons = [
  'mental_health',
  'homelessness',
  'substance_use',
  'welfare_concern',
  'domestic_violence',
  'elder_welfare',
  'other',
] as const;
export type CaseReason = (typeof caseReasons)[number];

/** The team's current judgement of danger to the person or others. */
export const riskLevels = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof riskLevels)[number];

/** What came of a welfare check (an in-person visit to see whether someone is safe). */
export const welfareCheckOutcomes = [
  'safe',
  'assistance_provided',
  'transported',
  'referred',
  'no_contact',
  'emergency',
] as const;
export type WelfareCheckOutcome = (typeof welfareCheckOutcomes)[number];

/** How a case ended. */
export const caseDispositions = [
  'resolved',
  'linked_to_services',
  'moved_away',
  'declined_services',
  'unable_to_contact',
  'deceased',
  'other',
] as const;
export type CaseDisposition = (typeof caseDispositions)[number];

/** The kind of service a referral asks a provider for. */
export const referralTypes = [
  'shelter',
  'mental_health',
  'substance_use',
  'medical',
  'housing',
  'food',
  'income',
  'legal',
  'other',
] as const;
export type ReferralType = (typeof referralTypes)[number];

export const referralUrgencies = ['routine', 'urgent', 'emergency'] as const;
export type ReferralUrgency = (typeof referralUrgencies)[number];

/** How a closed-loop referral ended once the provider had accepted it. */
export const referralOutcomes = [
  'service_received',
  'could_not_contact',
  'not_eligible',
  'no_capacity',
  'referred_elsewhere',
  'no_longer_interested',
  'failed',
] as const;
export type ReferralOutcome = (typeof referralOutcomes)[number];

/** `team`: readable by the case's team; `confidential`: social workers, supervisors and (logged) auditors only. */
export const noteVisibilities = ['team', 'confidential'] as const;
export type NoteVisibility = (typeof noteVisibilities)[number];

/** Who turned a referral down: the provider, or the client (the person referred). */
export const declinedByValues = ['provider', 'client'] as const;
export type DeclinedBy = (typeof declinedByValues)[number];

/** What a consent permits; `referral-sharing`: sharing the person's details with referral providers. */
export const consentScopes = ['referral-sharing'] as const;
export type ConsentScope = (typeof consentScopes)[number];
