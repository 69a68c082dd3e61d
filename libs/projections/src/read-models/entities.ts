import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

// The read models (projections of the event log). Personal data is copied here only as the sealed
// envelopes the events carry (AES-GCM with the person's key): destroying the key on erasure makes
// every copy unreadable, and the erasure's own projection deletes the envelopes as well.
// Timestamps are timestamptz; ids are the domain's uuids.

/** A registered person: the name the caseload shows, sealed. */
@Entity('rm_people')
export class PersonRow {
  @PrimaryColumn('uuid') person_id!: string;
  /** Team of whoever registered the person (their records' scope). */
  @Column('text') team!: string;
  @Column('jsonb', { nullable: true }) given_name!: unknown;
  @Column('jsonb', { nullable: true }) family_name!: unknown;
  @Column('boolean', { default: false }) erased!: boolean;
  @Column('timestamptz') registered_at!: Date;
}

/** Case summary: one row per case, what the caseload lists. */
@Entity('rm_cases')
@Index('rm_cases_team_idx', ['team', 'case_id'])
@Index('rm_cases_worker_idx', ['assigned_worker_id', 'case_id'])
@Index('rm_cases_due_idx', ['team', 'next_follow_up_due_at'])
@Index('rm_cases_closed_idx', ['closed_at'])
export class CaseRow {
  @PrimaryColumn('uuid') case_id!: string;
  @Column('uuid') person_id!: string;
  @Column('text') team!: string;
  @Column('text') status!: string;
  @Column('text') reason!: string;
  @Column('text') risk!: string;
  @Column('text', { nullable: true }) assigned_worker_id!: string | null;
  @Column('timestamptz') opened_at!: Date;
  @Column('timestamptz', { nullable: true }) closed_at!: Date | null;
  @Column('text', { nullable: true }) disposition!: string | null;
  /** Latest welfare check or completed follow-up. */
  @Column('timestamptz', { nullable: true }) last_contact_at!: Date | null;
  /** Follow-ups still scheduled: followUpId → dueAt. Overdue is derived at read time (dueAt < now). */
  @Column('jsonb', { default: {} }) scheduled_follow_ups!: Record<string, string>;
  @Column('timestamptz', { nullable: true }) next_follow_up_due_at!: Date | null;
  /** Stream version of the case this row reflects. */
  @Column('integer') version!: number;
}

/** Every follow-up ever scheduled (follow-up compliance). */
@Entity('rm_follow_ups')
@Index('rm_follow_ups_due_idx', ['due_at'])
@Index('rm_follow_ups_case_idx', ['case_id'])
export class FollowUpRow {
  @PrimaryColumn('uuid') follow_up_id!: string;
  @Column('uuid') case_id!: string;
  @Column('text') team!: string;
  @Column('text') assignee_id!: string;
  @Column('timestamptz') due_at!: Date;
  @Column('timestamptz') scheduled_at!: Date;
  /** scheduled | completed | cancelled */
  @Column('text') status!: string;
  @Column('timestamptz', { nullable: true }) completed_at!: Date | null;
  @Column('timestamptz', { nullable: true }) cancelled_at!: Date | null;
}

/** Every welfare check (repeat welfare check rate). */
@Entity('rm_welfare_checks')
@Index('rm_welfare_checks_person_idx', ['person_id', 'performed_at'])
@Index('rm_welfare_checks_performed_idx', ['performed_at'])
export class WelfareCheckRow {
  @PrimaryColumn('uuid') welfare_check_id!: string;
  @Column('uuid') case_id!: string;
  @Column('uuid') person_id!: string;
  @Column('text') team!: string;
  @Column('timestamptz') performed_at!: Date;
  @Column('text') outcome!: string;
}

/** A referral and its closed loop: when it was made, answered, started and closed. */
@Entity('rm_referrals')
@Index('rm_referrals_case_idx', ['case_id', 'status'])
@Index('rm_referrals_made_idx', ['made_at'])
@Index('rm_referrals_team_idx', ['team', 'made_at'])
export class ReferralRow {
  @PrimaryColumn('uuid') referral_id!: string;
  @Column('uuid') case_id!: string;
  @Column('uuid') person_id!: string;
  @Column('text') team!: string;
  @Column('text') type!: string;
  /** Provider name (an organisation, not personal data). */
  @Column('text') provider!: string;
  @Column('text') urgency!: string;
  /** made | accepted | declined | service_started | closed | revoked */
  @Column('text') status!: string;
  @Column('timestamptz') made_at!: Date;
  /** First acceptance or decline: the provider's (or client's) response. */
  @Column('timestamptz', { nullable: true }) first_response_at!: Date | null;
  @Column('timestamptz', { nullable: true }) accepted_at!: Date | null;
  @Column('timestamptz', { nullable: true }) declined_at!: Date | null;
  @Column('text', { nullable: true }) declined_by!: string | null;
  @Column('timestamptz', { nullable: true }) service_started_at!: Date | null;
  @Column('timestamptz', { nullable: true }) closed_at!: Date | null;
  @Column('text', { nullable: true }) outcome!: string | null;
  @Column('timestamptz', { nullable: true }) revoked_at!: Date | null;
  @Column('integer') version!: number;
}

/**
 * One entry per event of a case (and of its referrals), oldest first: where the event stands in
 * the case's story and who may read it, pointing at the event in the log (stream and version).
 * Why no copy of the event's data or actor: the log holds both, immutable, and the timeline reads
 * them from there for the page it serves. A copy was half of what a rebuild wrote, and one more
 * place where personal data (sealed or not) would live.
 */
@Entity('rm_timeline')
@Index('rm_timeline_case_idx', ['case_id', 'at', 'seq'])
export class TimelineEntryRow {
  @PrimaryColumn('uuid') event_id!: string;
  @Column('uuid') case_id!: string;
  /** Store-wide position: orders entries recorded in the same instant. */
  @Column('bigint') seq!: string;
  @Column('timestamptz') at!: Date;
  /** team | confidential (a confidential note) | referral (referral details) — who may read it. */
  @Column('text') visibility!: string;
  /** The event in the log: its stream and its version there. */
  @Column('text') stream_id!: string;
  @Column('integer') version!: number;
}

/** Which case a referral belongs to (its later events name only the referral). */
@Entity('rm_timeline_referrals')
export class TimelineReferralRow {
  @PrimaryColumn('uuid') referral_id!: string;
  @Column('uuid') case_id!: string;
}

/** Where each projection stands, and who holds it (a fenced lease). */
@Entity('projection_checkpoints')
export class ProjectionCheckpointRow {
  @PrimaryColumn('text') name!: string;
  /** Store checkpoint of the last event projected; null before the first. */
  @Column('text', { nullable: true }) checkpoint!: string | null;
  /** Fencing token: raised on every takeover; a batch commits only under the fence it was read with. */
  @Column('bigint', { default: 0 }) fence!: string;
  @Column('text', { nullable: true }) owner!: string | null;
  @Column('timestamptz', { nullable: true }) lease_expires_at!: Date | null;
  @Column('bigint', { default: 0 }) events!: string;
  /** recordedAt of the last event projected (seconds behind = now − this, when events wait). */
  @Column('timestamptz', { nullable: true }) last_event_at!: Date | null;
  @Column('timestamptz', { default: () => 'now()' }) updated_at!: Date;
}

/** Poison events: what a projection could not handle after its retries, with the error. */
@Entity('projection_dead_letters')
@Index('projection_dead_letters_projection_idx', ['projection', 'id'])
export class DeadLetterRow {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id!: string;
  @Column('text') projection!: string;
  @Column('text') checkpoint!: string;
  @Column('text') stream_id!: string;
  @Column('integer') version!: number;
  @Column('uuid') event_id!: string;
  @Column('text') event_type!: string;
  @Column('text') error!: string;
  @Column('integer') attempts!: number;
  @Column('timestamptz', { default: () => 'now()' }) parked_at!: Date;
}

export const readModelEntities = [
  PersonRow,
  CaseRow,
  FollowUpRow,
  WelfareCheckRow,
  ReferralRow,
  TimelineEntryRow,
  TimelineReferralRow,
  ProjectionCheckpointRow,
  DeadLetterRow,
];
