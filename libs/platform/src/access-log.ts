import { isConnectionFailure, StoreUnavailableError, type SqlDatabase } from '@caseline/event-store';
import type { AuthenticatedActor } from './actor';

/** One read of a record: who, what, when, through which endpoint. */
export interface AccessEntry {
  recordType: 'person' | 'case' | 'referral';
  recordId: string;
  /** Team owning the record (supervisors see the reads of their team's records). */
  recordTeam: string;
  /** The case the record belongs to, when there is one (the log is searched by case). */
  caseId?: string | null;
  endpoint: string;
}

/**
 * Append-only log of every read of a person, case or referral. Why a read fails when it cannot be
 * logged: accountability for who saw a person in crisis must not depend on the database being up.
 * Append-only is enforced in the database itself (a trigger refuses UPDATE, DELETE and TRUNCATE).
 */
export class AccessLog {
  private constructor(private readonly db: SqlDatabase) {}

  static async open(db: SqlDatabase): Promise<AccessLog> {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(7358216)`);
      await tx.exec(`
CREATE TABLE IF NOT EXISTS access_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    text NOT NULL,
  actor_name  text NOT NULL,
  actor_role  text NOT NULL,
  actor_team  text NOT NULL,
  record_type text NOT NULL,
  record_id   uuid NOT NULL,
  record_team text NOT NULL,
  case_id     uuid,
  endpoint    text NOT NULL
);
CREATE INDEX IF NOT EXISTS access_log_case_idx ON access_log (case_id, id);
CREATE INDEX IF NOT EXISTS access_log_actor_idx ON access_log (actor_id, id);
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN RAISE EXCEPTION 'access_log is append-only'; END $fn$;
DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'access_log_no_change') THEN
    CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
    CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
  END IF;
END $do$;`);
    });
    return new AccessLog(db);
  }

  async record(actor: AuthenticatedActor, entry: AccessEntry): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO access_log (actor_id, actor_name, actor_role, actor_team, record_type, record_id, record_team, case_id, endpoint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [actor.id, actor.name, actor.role, actor.team, entry.recordType, entry.recordId, entry.recordTeam, entry.caseId ?? null, entry.endpoint],
        'caseline_access_log',
      );
    } catch (error) {
      if (isConnectionFailure(error)) throw new StoreUnavailableError('the access log is unavailable, so the read is refused', error);
      throw error;
    }
  }

  /** Many reads in one request (a list): one row each, written in one statement. */
  async recordMany(actor: AuthenticatedActor, entries: readonly AccessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.db.query(
        `INSERT INTO access_log (actor_id, actor_name, actor_role, actor_team, record_type, record_id, record_team, case_id, endpoint)
         SELECT $1, $2, $3, $4, e.record_type, e.record_id, e.record_team, e.case_id, e.endpoint
           FROM jsonb_to_recordset($5::jsonb) AS e(record_type text, record_id uuid, record_team text, case_id uuid, endpoint text)`,
        [
          actor.id,
          actor.name,
          actor.role,
          actor.team,
          JSON.stringify(entries.map((e) => ({ record_type: e.recordType, record_id: e.recordId, record_team: e.recordTeam, case_id: e.caseId ?? null, endpoint: e.endpoint }))),
        ],
      );
    } catch (error) {
      if (isConnectionFailure(error)) throw new StoreUnavailableError('the access log is unavailable, so the read is refused', error);
      throw error;
    }
  }

  async search(filter: { caseId?: string; actorId?: string; recordTeam?: string; limit: number; beforeId?: number }) {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT id::text AS id, at, actor_id, actor_name, actor_role, actor_team, record_type, record_id, case_id, endpoint
         FROM access_log
        WHERE ($1::uuid IS NULL OR case_id = $1::uuid) AND ($2::text IS NULL OR actor_id = $2)
          AND ($3::text IS NULL OR record_team = $3) AND ($4::bigint IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $5`,
      [filter.caseId ?? null, filter.actorId ?? null, filter.recordTeam ?? null, filter.beforeId ?? null, filter.limit],
    );
    return rows.map((row) => ({
      id: row.id,
      at: new Date(row.at as string).toISOString(),
      actor: { id: row.actor_id, name: row.actor_name, role: row.actor_role, team: row.actor_team },
      recordType: row.record_type,
      recordId: row.record_id,
      caseId: row.case_id,
      endpoint: row.endpoint,
    }));
  }
}
