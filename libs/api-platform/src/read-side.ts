import { InvalidCheckpointError, type EventStore } from '@caseline/event-store';
import { type Projector, type ReadModels } from '@caseline/projections';
import { ApiError } from './errors';
import { checkpointOfToken } from './consistency';

/**
 * The read side as queries see it: the read models, and read-your-writes. A query carrying an
 * X-Consistency-Token answers only once every projection it reads has reached the token's
 * checkpoint; it waits at most `waitMs`, then answers 503 with Retry-After.
 */
export class ReadSide {
  constructor(
    readonly readModels: ReadModels,
    private readonly store: EventStore,
    private readonly waitMs: number,
    /** The projector running in this process, if any: its progress wakes waiting queries at once. */
    private readonly projector?: Projector,
  ) {}

  get dataSource() {
    return this.readModels.dataSource;
  }

  async consistentWith(token: string | undefined, projections: readonly string[]): Promise<void> {
    if (token === undefined || token === '') return;
    const target = checkpointOfToken(token);
    if (target === undefined) throw new ApiError(400, 'invalid_consistency_token', 'X-Consistency-Token is not a token this service gave out');
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      if (await this.reached(target, projections)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ApiError(503, 'read_side_behind', 'the read models have not yet caught up with your last change; retry shortly', { 'Retry-After': '1' });
      }
      await this.progress(Math.min(left, 50));
    }
  }

  private async reached(target: string, projections: readonly string[]): Promise<boolean> {
    const { rows } = await this.readModels.db.query<{ name: string; checkpoint: string | null }>(
      `SELECT name, checkpoint FROM projection_checkpoints WHERE name = ANY($1::text[])`,
      [projections],
    );
    if (rows.length < projections.length) return false;
    try {
      return rows.every((row) => row.checkpoint !== null && this.store.compareCheckpoints(row.checkpoint, target) >= 0);
    } catch (error) {
      if (error instanceof InvalidCheckpointError) throw new ApiError(400, 'invalid_consistency_token', 'X-Consistency-Token is not a token this service gave out');
      throw error;
    }
  }

  /** Resolves on the next batch this process projects, or after `ms` (another process may project). */
  private progress(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.projector?.events.off('progress', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.projector?.events.on('progress', done);
    });
  }
}
