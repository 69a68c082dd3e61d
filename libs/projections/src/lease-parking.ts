/**
 * A parked lease: a read-model migration that changes what a projection writes hands that
 * projection's lease to a marker owner, with an expiry far off, in the same transaction as the
 * schema change.
 *
 * Why: during a rolling upgrade a projector of the build before may still run. It takes any lease
 * that has no owner or has run out, and would replay into tables it no longer understands —
 * parking every event as poison and moving its checkpoint past them. Only code that knows the
 * migration (that build, or any later one) takes a lease parked by it (see acquireLease).
 */
export function parkedBy(migration: string): string {
  return `migration:${migration}`;
}

/** Far enough that no projector of an earlier build sees the parked lease run out. */
export const PARKED_UNTIL = '9999-12-31T00:00:00Z';
