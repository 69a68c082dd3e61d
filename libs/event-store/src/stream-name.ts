import { InvalidStreamNameError } from './errors';

/** A stream name is `<category>-<uuid>`, e.g. `case-6f1c…`; the category names the aggregate. */
const STREAM_NAME = /^([a-z][a-z0-9_]{0,39})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export interface StreamName {
  category: string;
  id: string;
}

export function parseStreamName(streamId: string, categories?: ReadonlySet<string>): StreamName {
  const match = typeof streamId === 'string' ? STREAM_NAME.exec(streamId) : null;
  if (!match || (categories && !categories.has(match[1]))) throw new InvalidStreamNameError(String(streamId));
  return { category: match[1], id: match[2] };
}
