import { DomainError } from './errors';

/** The aggregate a stream belongs to; a stream is named `<category>-<id>` (SPEC §1). */
export const streamCategories = ['person', 'case', 'referral'] as const;
export type StreamCategory = (typeof streamCategories)[number];

export const personStream = (personId: string): string => `person-${personId}`;
export const caseStream = (caseId: string): string => `case-${caseId}`;
export const referralStream = (referralId: string): string => `referral-${referralId}`;

/** Splits `case-6f1c…` into `{ category: 'case', id: '6f1c…' }`; ids may themselves contain dashes. */
export function parseStreamId(streamId: string): { category: StreamCategory; id: string } {
  const dash = streamId.indexOf('-');
  const category = streamId.slice(0, dash);
  const id = streamId.slice(dash + 1);
  if (dash < 0 || id === '' || !(streamCategories as readonly string[]).includes(category)) {
    throw DomainError.invalid('invalid_stream_id', `not a Caseline stream: ${streamId}`, 'streamId');
  }
  return { category: category as StreamCategory, id };
}
