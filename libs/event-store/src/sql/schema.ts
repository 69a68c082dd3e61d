import type { SqlDatabase } from './sql-database';

/**
 * Schema migrations of the event store, in order, applied once each under an advisory lock so that
 * two processes starting together do not race. Shared by PostgreSQL and PGlite: one SQL.
 */
const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'events, streams and the append function',
    sql: `
CREATE TABLE es_streams (
  stream_id   text PRIMARY KEY,
  category    text NOT NULL,
  version     bigint NOT NULL,
  -- Hash chain link before the last append and after it: the head, for truncation checks.
  previous_head bytea NOT NULL,
  last_hash   bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 50); -- room on each page so that moving a head is a HOT update

-- position: store-wide insertion order. transaction_id: the writer's transaction; delivery
-- follows (transaction_id, position) and stops below the oldest running transaction, so an
-- event that commits late is never skipped (see readAll).
CREATE TABLE es_events (
  position        bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text NOT NULL,
  version         bigint NOT NULL,
  event_id        uuid NOT NULL,
  type            text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  recorded_at     timestamptz NOT NULL,
  previous_hash   bytea NOT NULL,
  hash            bytea NOT NULL,
  CONSTRAINT es_events_event_id_key UNIQUE (event_id),
  CONSTRAINT es_events_pkey PRIMARY KEY (stream_id, version)
);
-- Delivery order; position is unique through it too (identity values are never reused).
CREATE UNIQUE INDEX es_events_delivery_idx ON es_events (transaction_id, position);

-- Finds a batch that is already stored: every event id present, in this stream, with the same
-- content (its link recomputes). Answers the original result of that append; NULL outcome when
-- none of the ids is stored; 'duplicate' when some are but not as this very batch.
CREATE FUNCTION es_find_appended(p_stream text, p_events jsonb)
RETURNS TABLE (outcome text, stream_version bigint, last_position bigint, last_transaction xid8)
LANGUAGE sql STABLE AS $fn$
  WITH wanted AS (
    SELECT (x->>'eventId')::uuid AS event_id, x->>'contentHash' AS content_hash FROM jsonb_array_elements(p_events) x
  ), found AS (
    SELECT e.*, w.content_hash FROM wanted w JOIN es_events e ON e.event_id = w.event_id
  )
  SELECT CASE
           WHEN count(*) = 0 THEN NULL
           WHEN count(*) = (SELECT count(*) FROM wanted)
                AND bool_and(stream_id = p_stream AND hash = sha256(previous_hash || decode(content_hash, 'hex'))) THEN 'replayed'
           ELSE 'duplicate' END,
         max(version), max(position), max(transaction_id)
    FROM found
$fn$;

-- The chain over a batch: link(n) = sha256(link(n-1) || content(n)), starting from p_from.
CREATE FUNCTION es_chain(p_from bytea, p_contents bytea[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
DECLARE v_hash bytea := p_from; v_content bytea;
BEGIN
  FOREACH v_content IN ARRAY p_contents LOOP v_hash := sha256(v_hash || v_content); END LOOP;
  RETURN v_hash;
END
$fn$;

-- Appends a batch to one stream in one statement (one round trip, autocommit).
-- p_expected: 'any' | 'no_stream' | 'stream_exists' | a whole number.
-- p_events: [{eventId, type, data, metadata, recordedAt, contentHash}], contentHash in hex.
-- Outcomes: 'appended'; 'replayed' (a retry of a stored batch: its original result);
-- 'conflict' (expected version did not hold; nothing written); 'duplicate' (an id reused).
-- A retry whose expected version still holds (e.g. 'any') hits the unique event id instead; the
-- caller then asks es_find_appended. Why not look first: that would cost every append a lookup.
CREATE FUNCTION es_append(p_stream text, p_category text, p_expected text, p_events jsonb)
RETURNS TABLE (outcome text, stream_version bigint, last_position bigint, last_transaction xid8)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_contents bytea[] := ARRAY(SELECT decode(x->>'contentHash', 'hex') FROM jsonb_array_elements(p_events) x);
  v_count    int := cardinality(v_contents);
  v_exact    bigint := CASE WHEN p_expected ~ '^[0-9]+$' THEN p_expected::bigint END;
  v_version  bigint;
  v_hash     bytea;
  v_event    jsonb;
  v_position bigint;
BEGIN
  -- Moving the head is the per-stream lock: concurrent appenders to one stream queue on this row,
  -- so exactly one wins each version. Appenders to different streams never wait for each other.
  -- One UPDATE both locks and advances the head (previous_head keeps where the batch starts).
  IF p_expected <> 'no_stream' AND v_exact IS DISTINCT FROM 0 THEN
    UPDATE es_streams s
       SET version = s.version + v_count, previous_head = s.last_hash,
           last_hash = es_chain(s.last_hash, v_contents)
     WHERE s.stream_id = p_stream AND (v_exact IS NULL OR s.version = v_exact)
    RETURNING s.version - v_count, s.previous_head INTO v_version, v_hash;
  END IF;
  IF v_version IS NULL AND (p_expected IN ('any', 'no_stream') OR v_exact = 0) THEN
    INSERT INTO es_streams AS s (stream_id, category, version, previous_head, last_hash)
    VALUES (p_stream, p_category, v_count, decode(repeat('00', 32), 'hex'), es_chain(decode(repeat('00', 32), 'hex'), v_contents))
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING 0, s.previous_head INTO v_version, v_hash;
    IF v_version IS NULL AND p_expected = 'any' THEN
      -- Another appender created the stream between our two statements; it exists now.
      UPDATE es_streams s
         SET version = s.version + v_count, previous_head = s.last_hash,
             last_hash = es_chain(s.last_hash, v_contents)
       WHERE s.stream_id = p_stream
      RETURNING s.version - v_count, s.previous_head INTO v_version, v_hash;
    END IF;
  END IF;

  IF v_version IS NULL THEN
    -- A retry of a batch that did commit arrives with an expected version that no longer holds.
    RETURN QUERY SELECT * FROM es_find_appended(p_stream, p_events) f WHERE f.outcome IS NOT NULL;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'conflict'::text, coalesce((SELECT s.version FROM es_streams s WHERE s.stream_id = p_stream), 0), NULL::bigint, NULL::xid8;
    END IF;
    RETURN;
  END IF;

  FOR v_event IN SELECT x FROM jsonb_array_elements(p_events) x LOOP
    v_version := v_version + 1;
    INSERT INTO es_events (stream_id, version, event_id, type, data, metadata, recorded_at, previous_hash, hash)
    VALUES (p_stream, v_version, (v_event->>'eventId')::uuid, v_event->>'type', v_event->'data',
            v_event->'metadata', (v_event->>'recordedAt')::timestamptz, v_hash,
            sha256(v_hash || decode(v_event->>'contentHash', 'hex')))
    RETURNING hash, position INTO v_hash, v_position;
  END LOOP;
  RETURN QUERY SELECT 'appended'::text, v_version, v_position, pg_current_xact_id();
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'single-event append fast path',
    sql: `
-- The common case — one event — without the batch machinery: scalar parameters (no JSON array to
-- unpack), the chain link computed inline. Same locking, same outcomes as es_append.
CREATE FUNCTION es_append_one(p_stream text, p_category text, p_expected text, p_event_id uuid, p_type text,
                              p_data jsonb, p_metadata jsonb, p_recorded_at timestamptz, p_content bytea)
RETURNS TABLE (outcome text, stream_version bigint, last_position bigint, last_transaction xid8)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_exact    bigint := CASE WHEN p_expected ~ '^[0-9]+$' THEN p_expected::bigint END;
  v_version  bigint;
  v_previous bytea;
  v_hash     bytea;
  v_position bigint;
BEGIN
  IF p_expected <> 'no_stream' AND v_exact IS DISTINCT FROM 0 THEN
    UPDATE es_streams s
       SET version = s.version + 1, previous_head = s.last_hash, last_hash = sha256(s.last_hash || p_content)
     WHERE s.stream_id = p_stream AND (v_exact IS NULL OR s.version = v_exact)
    RETURNING s.version, s.previous_head, s.last_hash INTO v_version, v_previous, v_hash;
  END IF;
  IF v_version IS NULL AND (p_expected IN ('any', 'no_stream') OR v_exact = 0) THEN
    INSERT INTO es_streams AS s (stream_id, category, version, previous_head, last_hash)
    VALUES (p_stream, p_category, 1, decode(repeat('00', 32), 'hex'), sha256(decode(repeat('00', 32), 'hex') || p_content))
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING s.version, s.previous_head, s.last_hash INTO v_version, v_previous, v_hash;
    IF v_version IS NULL AND p_expected = 'any' THEN
      UPDATE es_streams s
         SET version = s.version + 1, previous_head = s.last_hash, last_hash = sha256(s.last_hash || p_content)
       WHERE s.stream_id = p_stream
      RETURNING s.version, s.previous_head, s.last_hash INTO v_version, v_previous, v_hash;
    END IF;
  END IF;
  IF v_version IS NULL THEN
    RETURN QUERY SELECT * FROM es_find_appended(p_stream, jsonb_build_array(jsonb_build_object(
      'eventId', p_event_id, 'contentHash', encode(p_content, 'hex')))) f WHERE f.outcome IS NOT NULL;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'conflict'::text, coalesce((SELECT s.version FROM es_streams s WHERE s.stream_id = p_stream), 0), NULL::bigint, NULL::xid8;
    END IF;
    RETURN;
  END IF;
  INSERT INTO es_events (stream_id, version, event_id, type, data, metadata, recorded_at, previous_hash, hash)
  VALUES (p_stream, v_version, p_event_id, p_type, p_data, p_metadata, p_recorded_at, v_previous, v_hash)
  RETURNING position INTO v_position;
  RETURN QUERY SELECT 'appended'::text, v_version, v_position, pg_current_xact_id();
END
$fn$;
`,
  },
  {
    version: 3,
    name: 'stream heads in byte order',
    sql: `
-- listStreams pages through the heads in byte order (COLLATE "C", the same on every server); an
-- index in the database's own collation cannot serve that order, and each page was a full sort.
CREATE UNIQUE INDEX es_streams_byte_order_idx ON es_streams (stream_id COLLATE "C");
`,
  },
];

export async function migrateEventStore(db: SqlDatabase): Promise<void> {
  await db.transaction(async (tx) => {
    // Why a lock: two service instances starting at once must not both apply a migration.
    await tx.query(`SELECT pg_advisory_xact_lock(7358215)`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS es_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM es_migrations`);
    const applied = new Set(rows.map((row) => Number(row.version)));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query(`INSERT INTO es_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
    }
  });
}
