import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The first read models: people, cases, follow-ups, welfare checks, referrals, timeline, projector state. */
export class ReadModels1763900000000 implements MigrationInterface {
  name = 'ReadModels1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "rm_people" ("person_id" uuid NOT NULL, "team" text NOT NULL, "given_name" jsonb, "family_name" jsonb, "erased" boolean NOT NULL DEFAULT false, "registered_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d3a8bb66d313c22f604df1ee38c" PRIMARY KEY ("person_id"))`);
    await queryRunner.query(`CREATE TABLE "rm_cases" ("case_id" uuid NOT NULL, "person_id" uuid NOT NULL, "team" text NOT NULL, "status" text NOT NULL, "reason" text NOT NULL, "risk" text NOT NULL, "assigned_worker_id" text, "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL, "closed_at" TIMESTAMP WITH TIME ZONE, "disposition" text, "last_contact_at" TIMESTAMP WITH TIME ZONE, "scheduled_follow_ups" jsonb NOT NULL DEFAULT '{}', "next_follow_up_due_at" TIMESTAMP WITH TIME ZONE, "version" integer NOT NULL, CONSTRAINT "PK_a7520f57da828934050ef48e780" PRIMARY KEY ("case_id"))`);
    await queryRunner.query(`CREATE INDEX "rm_cases_closed_idx" ON "rm_cases" ("closed_at")`);
    await queryRunner.query(`CREATE INDEX "rm_cases_due_idx" ON "rm_cases" ("team", "next_follow_up_due_at")`);
    await queryRunner.query(`CREATE INDEX "rm_cases_worker_idx" ON "rm_cases" ("assigned_worker_id", "case_id")`);
    await queryRunner.query(`CREATE INDEX "rm_cases_team_idx" ON "rm_cases" ("team", "case_id")`);
    await queryRunner.query(`CREATE TABLE "rm_follow_ups" ("follow_up_id" uuid NOT NULL, "case_id" uuid NOT NULL, "team" text NOT NULL, "assignee_id" text NOT NULL, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "scheduled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status" text NOT NULL, "completed_at" TIMESTAMP WITH TIME ZONE, "cancelled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ccfb798d9059e2b98fe0c4a293e" PRIMARY KEY ("follow_up_id"))`);
    await queryRunner.query(`CREATE INDEX "rm_follow_ups_case_idx" ON "rm_follow_ups" ("case_id")`);
    await queryRunner.query(`CREATE INDEX "rm_follow_ups_due_idx" ON "rm_follow_ups" ("due_at")`);
    await queryRunner.query(`CREATE TABLE "rm_welfare_checks" ("welfare_check_id" uuid NOT NULL, "case_id" uuid NOT NULL, "person_id" uuid NOT NULL, "team" text NOT NULL, "performed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "outcome" text NOT NULL, CONSTRAINT "PK_2478056d41e05644ffffb85cb13" PRIMARY KEY ("welfare_check_id"))`);
    await queryRunner.query(`CREATE INDEX "rm_welfare_checks_performed_idx" ON "rm_welfare_checks" ("performed_at")`);
    await queryRunner.query(`CREATE INDEX "rm_welfare_checks_person_idx" ON "rm_welfare_checks" ("person_id", "performed_at")`);
    await queryRunner.query(`CREATE TABLE "rm_referrals" ("referral_id" uuid NOT NULL, "case_id" uuid NOT NULL, "person_id" uuid NOT NULL, "team" text NOT NULL, "type" text NOT NULL, "provider" text NOT NULL, "urgency" text NOT NULL, "status" text NOT NULL, "made_at" TIMESTAMP WITH TIME ZONE NOT NULL, "first_response_at" TIMESTAMP WITH TIME ZONE, "accepted_at" TIMESTAMP WITH TIME ZONE, "declined_at" TIMESTAMP WITH TIME ZONE, "declined_by" text, "service_started_at" TIMESTAMP WITH TIME ZONE, "closed_at" TIMESTAMP WITH TIME ZONE, "outcome" text, "revoked_at" TIMESTAMP WITH TIME ZONE, "version" integer NOT NULL, CONSTRAINT "PK_56d91c1a0380324a9e4fb1f47e2" PRIMARY KEY ("referral_id"))`);
    await queryRunner.query(`CREATE INDEX "rm_referrals_team_idx" ON "rm_referrals" ("team", "made_at")`);
    await queryRunner.query(`CREATE INDEX "rm_referrals_made_idx" ON "rm_referrals" ("made_at")`);
    await queryRunner.query(`CREATE INDEX "rm_referrals_case_idx" ON "rm_referrals" ("case_id", "status")`);
    await queryRunner.query(`CREATE TABLE "rm_timeline" ("event_id" uuid NOT NULL, "case_id" uuid NOT NULL, "seq" bigint NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "type" text NOT NULL, "actor" jsonb NOT NULL, "visibility" text NOT NULL, "data" jsonb NOT NULL, CONSTRAINT "PK_595a42e0fc969a026de2b74e07d" PRIMARY KEY ("event_id"))`);
    await queryRunner.query(`CREATE INDEX "rm_timeline_case_idx" ON "rm_timeline" ("case_id", "at", "seq")`);
    await queryRunner.query(`CREATE TABLE "rm_timeline_referrals" ("referral_id" uuid NOT NULL, "case_id" uuid NOT NULL, CONSTRAINT "PK_08ffd64373f730bdc22a352a0e8" PRIMARY KEY ("referral_id"))`);
    await queryRunner.query(`CREATE TABLE "projection_checkpoints" ("name" text NOT NULL, "checkpoint" text, "fence" bigint NOT NULL DEFAULT '0', "owner" text, "lease_expires_at" TIMESTAMP WITH TIME ZONE, "events" bigint NOT NULL DEFAULT '0', "last_event_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_0f69cb98ee85030b5da44336510" PRIMARY KEY ("name"))`);
    await queryRunner.query(`CREATE TABLE "projection_dead_letters" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "projection" text NOT NULL, "checkpoint" text NOT NULL, "stream_id" text NOT NULL, "version" integer NOT NULL, "event_id" uuid NOT NULL, "event_type" text NOT NULL, "error" text NOT NULL, "attempts" integer NOT NULL, "parked_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a80b53896d11b27cf031892093b" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "projection_dead_letters_projection_idx" ON "projection_dead_letters" ("projection", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "projection_dead_letters"`);
    await queryRunner.query(`DROP TABLE "projection_checkpoints"`);
    await queryRunner.query(`DROP TABLE "rm_timeline_referrals"`);
    await queryRunner.query(`DROP TABLE "rm_timeline"`);
    await queryRunner.query(`DROP TABLE "rm_referrals"`);
    await queryRunner.query(`DROP TABLE "rm_welfare_checks"`);
    await queryRunner.query(`DROP TABLE "rm_follow_ups"`);
    await queryRunner.query(`DROP TABLE "rm_cases"`);
    await queryRunner.query(`DROP TABLE "rm_people"`);
  }
}
