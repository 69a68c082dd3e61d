import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARKED_UNTIL, parkedBy } from '../../lease-parking';

/**
 * Timeline entries point at their event in the log (stream and version) instead of copying its
 * type, actor and data. Entries projected before cannot say where their event is, so the timeline
 * projection starts again from the first event: its tables are emptied and its checkpoint cleared,
 * with the fence raised so that a writer still holding the old lease cannot commit over it, and the
 * lease parked (see lease-parking) so that a projector of the build before, still running during a
 * rolling upgrade, does not take it back. A projector of this build (or `npm run rebuild --
 * timeline`) then fills it again; until it has caught up, reads that carry a consistency token
 * wait for it as for any lag.
 */
export class TimelinePointsIntoTheLog1764800000000 implements MigrationInterface {
  name = 'TimelinePointsIntoTheLog1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await restartTimeline(queryRunner, parkedBy(this.name));
    await queryRunner.query(`ALTER TABLE "rm_timeline" DROP COLUMN "type", DROP COLUMN "actor", DROP COLUMN "data"`);
    await queryRunner.query(`ALTER TABLE "rm_timeline" ADD "stream_id" text NOT NULL, ADD "version" integer NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Back to the first schema, whose projector knows no parked leases: the lease is left free.
    await restartTimeline(queryRunner, null);
    await queryRunner.query(`ALTER TABLE "rm_timeline" DROP COLUMN "stream_id", DROP COLUMN "version"`);
    await queryRunner.query(`ALTER TABLE "rm_timeline" ADD "type" text NOT NULL, ADD "actor" jsonb NOT NULL, ADD "data" jsonb NOT NULL`);
  }
}

async function restartTimeline(queryRunner: QueryRunner, parkedOwner: string | null): Promise<void> {
  await queryRunner.query(`TRUNCATE "rm_timeline", "rm_timeline_referrals"`);
  // A rebuild of the timeline under way filled shadow tables of the old shape: it starts over too.
  await queryRunner.query(`DROP TABLE IF EXISTS "rm_timeline__next", "rm_timeline_referrals__next"`);
  await queryRunner.query(`DELETE FROM "projection_checkpoints" WHERE "name" = 'timeline~rebuild'`);
  await queryRunner.query(`DELETE FROM "projection_dead_letters" WHERE "projection" IN ('timeline', 'timeline~rebuild')`);
  await queryRunner.query(
    `UPDATE "projection_checkpoints" SET "checkpoint" = NULL, "events" = 0, "last_event_at" = NULL, "fence" = "fence" + 1, "owner" = $1, "lease_expires_at" = $2, "updated_at" = now() WHERE "name" = 'timeline'`,
    [parkedOwner, parkedOwner === null ? null : PARKED_UNTIL],
  );
}
