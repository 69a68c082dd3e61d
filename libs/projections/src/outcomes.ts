import type { DataSource } from 'typeorm';

// Outcome metrics (SPEC §6), computed from the read models for any period and grouping.
// Definitions, where the SPEC leaves a choice:
// - A referral belongs to the period of its ReferralMade; revoked referrals are left out entirely.
// - Response = the first acceptance or decline. SLA breach: no response within `slaHours` of
//   being made (one still waiting counts once the SLA has passed).
// - Follow-ups "due in the period": follow-ups whose dueAt lies in it and has passed (`now`), except
//   those cancelled before it came (no longer due); kept = completed at or before dueAt. One
//   cancelled after its due date counts as not kept, so cancelling cannot hide a missed follow-up.
// - Repeat welfare checks: per person, an index check in the period followed by another check of
//   that person within 30 days after it (the later one may fall after the period).
// - Cases closed in the period: cases whose current closure lies in it (a reopened case is open).
// Periods are half-open: from ≤ t < to. Months are calendar months in UTC.
// "Within 30 days" is 30 × 24 h (`interval '720 hours'`): an interval in days is added in the
// session's TimeZone, so across a daylight-saving change it would be 719 or 721 h, and the figures
// would depend on the server's TimeZone setting (PGlite runs in UTC, PostgreSQL in whatever initdb set).

export type OutcomeGrouping = 'month' | 'type' | 'provider' | 'team';

export interface Ratio {
  numerator: number;
  denominator: number;
  /** numerator ÷ denominator, null when the denominator is 0. */
  rate: number | null;
}

export interface Hours {
  median: number | null;
  p90?: number | null;
  /** How many referrals the figures are taken over. */
  count: number;
}

export interface OutcomeGroup {
  key: string;
  referralAcceptanceRate: Ratio;
  providerResponseHours: Hours;
  responseSlaBreachRate: Ratio;
  loopClosureRate30d: Ratio;
  successfulReferralRate30d: Ratio;
  shelterPlacementRate: Ratio;
  shelterPlacementHours: Hours;
  /** null under groupings that do not apply to follow-ups, welfare checks or cases (type, provider). */
  followUpCompliance: Ratio | null;
  repeatWelfareCheckRate30d: Ratio | null;
  caseDispositionMix: { total: number; counts: Record<string, number> } | null;
  medianCaseDurationDays: { median: number | null; count: number } | null;
}

export interface OutcomeQuery {
  from: string;
  to: string;
  groupBy: OutcomeGrouping;
  /** Team scope decided by the access policy (undefined: every team). */
  team?: string;
  slaHours: number;
  now: string;
}

const ratio = (numerator: number, denominator: number): Ratio => ({ numerator, denominator, rate: denominator ? numerator / denominator : null });
const num = (value: unknown): number => Number(value ?? 0);
const maybe = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function keyOf(groupBy: OutcomeGrouping, timeColumn: string): string | null {
  switch (groupBy) {
    case 'month':
      return `to_char(${timeColumn} AT TIME ZONE 'UTC', 'YYYY-MM')`;
    case 'team':
      return 'team';
    case 'type':
      return null;
    case 'provider':
      return null;
  }
}

export async function outcomes(dataSource: DataSource, query: OutcomeQuery): Promise<OutcomeGroup[]> {
  const { from, to, groupBy, slaHours, now } = query;
  const team = query.team ?? null;
  const referralKey = groupBy === 'type' ? 'type' : groupBy === 'provider' ? 'provider' : (keyOf(groupBy, 'made_at') as string);
  const referrals = await dataSource.query(
    `SELECT ${referralKey} AS key,
            count(*) AS made,
            count(accepted_at) AS accepted,
            count(declined_at) AS declined,
            count(first_response_at) AS responded,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - made_at) / 3600) AS response_median,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - made_at) / 3600) AS response_p90,
            count(*) FILTER (WHERE coalesce(first_response_at, $4::timestamptz) - made_at > make_interval(hours => $5)) AS breached,
            count(*) FILTER (WHERE closed_at <= made_at + interval '720 hours' OR declined_at <= made_at + interval '720 hours') AS loop_closed,
            count(*) FILTER (WHERE service_started_at <= made_at + interval '720 hours'
                              OR (outcome = 'service_received' AND closed_at <= made_at + interval '720 hours')) AS successful,
            count(*) FILTER (WHERE type = 'shelter') AS shelter_made,
            count(*) FILTER (WHERE type = 'shelter' AND service_started_at IS NOT NULL) AS shelter_placed,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM service_started_at - made_at) / 3600)
              FILTER (WHERE type = 'shelter') AS shelter_hours
       FROM rm_referrals
      WHERE made_at >= $1 AND made_at < $2 AND revoked_at IS NULL AND ($3::text IS NULL OR team = $3)
      GROUP BY 1`,
    [from, to, team, now, slaHours],
  );
  const groups = new Map<string, OutcomeGroup>();
  const group = (key: string): OutcomeGroup => {
    let found = groups.get(key);
    if (!found) {
      const applies = groupBy === 'month' || groupBy === 'team';
      found = {
        key,
        referralAcceptanceRate: ratio(0, 0),
        providerResponseHours: { median: null, p90: null, count: 0 },
        responseSlaBreachRate: ratio(0, 0),
        loopClosureRate30d: ratio(0, 0),
        successfulReferralRate30d: ratio(0, 0),
        shelterPlacementRate: ratio(0, 0),
        shelterPlacementHours: { median: null, count: 0 },
        followUpCompliance: applies ? ratio(0, 0) : null,
        repeatWelfareCheckRate30d: applies ? ratio(0, 0) : null,
        caseDispositionMix: applies ? { total: 0, counts: {} } : null,
        medianCaseDurationDays: applies ? { median: null, count: 0 } : null,
      };
      groups.set(key, found);
    }
    return found;
  };
  for (const row of referrals as Record<string, unknown>[]) {
    const g = group(String(row.key));
    const made = num(row.made);
    g.referralAcceptanceRate = ratio(num(row.accepted), num(row.accepted) + num(row.declined));
    g.providerResponseHours = { median: maybe(row.response_median), p90: maybe(row.response_p90), count: num(row.responded) };
    g.responseSlaBreachRate = ratio(num(row.breached), made);
    g.loopClosureRate30d = ratio(num(row.loop_closed), made);
    g.successfulReferralRate30d = ratio(num(row.successful), made);
    g.shelterPlacementRate = ratio(num(row.shelter_placed), num(row.shelter_made));
    g.shelterPlacementHours = { median: maybe(row.shelter_hours), count: num(row.shelter_placed) };
  }
  if (groupBy === 'month' || groupBy === 'team') {
    const followUps = await dataSource.query(
      `SELECT ${keyOf(groupBy, 'due_at')} AS key, count(*) AS due, count(*) FILTER (WHERE completed_at <= due_at) AS kept
         FROM rm_follow_ups
        WHERE due_at >= $1 AND due_at < $2 AND due_at <= $4::timestamptz AND ($3::text IS NULL OR team = $3)
          AND (status <> 'cancelled' OR cancelled_at > due_at)
        GROUP BY 1`,
      [from, to, team, now],
    );
    for (const row of followUps as Record<string, unknown>[]) group(String(row.key)).followUpCompliance = ratio(num(row.kept), num(row.due));
    const repeats = await dataSource.query(
      `SELECT key, count(DISTINCT person_id) AS people, count(DISTINCT person_id) FILTER (WHERE repeated) AS repeated
         FROM (SELECT ${(keyOf(groupBy, 'w.performed_at') as string).replace(/\bteam\b/, 'w.team')} AS key, w.person_id,
                      EXISTS (SELECT 1 FROM rm_welfare_checks n
                               WHERE n.person_id = w.person_id AND n.performed_at > w.performed_at
                                 AND n.performed_at <= w.performed_at + interval '720 hours') AS repeated
                 FROM rm_welfare_checks w
                WHERE w.performed_at >= $1 AND w.performed_at < $2 AND ($3::text IS NULL OR w.team = $3)) AS checks
        GROUP BY key`,
      [from, to, team],
    );
    for (const row of repeats as Record<string, unknown>[]) group(String(row.key)).repeatWelfareCheckRate30d = ratio(num(row.repeated), num(row.people));
    const closedKey = keyOf(groupBy, 'closed_at') as string;
    const closures = await dataSource.query(
      `SELECT ${closedKey} AS key, disposition, GROUPING(disposition) AS all_dispositions, count(*) AS cases,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - opened_at) / 86400) AS median_days
         FROM rm_cases
        WHERE status = 'closed' AND closed_at >= $1 AND closed_at < $2 AND ($3::text IS NULL OR team = $3)
        GROUP BY GROUPING SETS ((${closedKey}, disposition), (${closedKey}))`,
      [from, to, team],
    );
    for (const row of closures as Record<string, unknown>[]) {
      const g = group(String(row.key));
      if (num(row.all_dispositions) === 1) g.medianCaseDurationDays = { median: maybe(row.median_days), count: num(row.cases) };
      else {
        const mix = g.caseDispositionMix as { total: number; counts: Record<string, number> };
        mix.counts[row.disposition as string] = num(row.cases);
        mix.total += num(row.cases);
      }
    }
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
