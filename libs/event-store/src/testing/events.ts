import { randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../port';

export const testActor = { id: 'worker-1', name: 'Test Worker', role: 'social_worker', team: 'north' };

/** An event with complete metadata, for tests: `testEvent('NoteAdded', { body: 'x' })`. */
export function testEvent<Data>(type: string, data: Data, metadata: Partial<EventMetadata> = {}): NewEvent<string, Data> {
  const eventId = metadata.eventId ?? randomUUID();
  return {
    type,
    data,
    metadata: {
      eventId,
      actor: testActor,
      correlationId: randomUUID(),
      causationId: eventId,
      recordedAt: new Date().toISOString(),
      schemaVersion: 1,
      ...metadata,
    },
  };
}

export const testStream = (category = 'case') => `${category}-${randomUUID()}`;
