import { caseEventTypes, type CaseEvent } from './case/events';
import { personEventTypes, type PersonEvent } from './person/events';
import { referralEventTypes, type ReferralEvent } from './referral/events';
import type { StreamCategory } from './streams';

/** Every event Caseline records (SPEC §2). */
export type CaselineEvent = PersonEvent | CaseEvent | ReferralEvent;
export type CaselineEventType = CaselineEvent['type'];

/** The stream category each event type is appended to. */
export const eventCategories: Readonly<Record<CaselineEventType, StreamCategory>> = Object.fromEntries([
  ...personEventTypes.map((type) => [type, 'person']),
  ...caseEventTypes.map((type) => [type, 'case']),
  ...referralEventTypes.map((type) => [type, 'referral']),
]) as Record<CaselineEventType, StreamCategory>;

export const caselineEventTypes: readonly CaselineEventType[] = [
  ...personEventTypes,
  ...caseEventTypes,
  ...referralEventTypes,
];

export function isCaselineEventType(type: string): type is CaselineEventType {
  return Object.prototype.hasOwnProperty.call(eventCategories, type);
}
