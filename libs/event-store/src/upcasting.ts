import type { RecordedEvent } from './port';

/**
 * Event versioning: an upcaster turns an event of `type` at `fromVersion` into the shape of
 * `fromVersion + 1`. Chains of them bring any stored shape up to the current one on read, so the
 * domain only ever sees current shapes; the stored bytes (and their hashes) never change.
 */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: unknown, metadata: RecordedEvent['metadata']): { data: unknown; type?: string };
}

export class UpcasterRegistry {
  private readonly byKey = new Map<string, Upcaster>();

  register(...upcasters: Upcaster[]): this {
    for (const upcaster of upcasters) {
      const key = `${upcaster.type}@${upcaster.fromVersion}`;
      if (this.byKey.has(key)) throw new Error(`two upcasters for ${key}`);
      this.byKey.set(key, upcaster);
    }
    return this;
  }

  get size(): number {
    return this.byKey.size;
  }

  upcast<E extends RecordedEvent>(event: E): E {
    let current: E = event;
    for (let guard = 0; guard < 1000; guard++) {
      const upcaster = this.byKey.get(`${current.type}@${current.metadata.schemaVersion}`);
      if (!upcaster) return current;
      const next = upcaster.upcast(current.data, current.metadata);
      current = {
        ...current,
        type: next.type ?? current.type,
        data: next.data,
        metadata: { ...current.metadata, schemaVersion: current.metadata.schemaVersion + 1 },
      };
    }
    throw new Error(`upcaster cycle for ${event.type}`);
  }
}
