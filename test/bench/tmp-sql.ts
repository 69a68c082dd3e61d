import { randomUUID } from 'node:crypto';
import { PostgresDatabase, SqlEventStore } from '@caseline/event-store';
async function main() {
  const db = new PostgresDatabase({ connectionString: 'postgres://postgres@127.0.0.1:5432/bench_probe' });
  await SqlEventStore.open(db);
  await db.exec(`create table if not exists raw_events (position bigserial primary key, stream_id text, version int, type text, data jsonb, metadata jsonb)`);
  const sql = (label: string, body: string) => db.query(`DO $$ DECLARE t timestamptz := clock_timestamp(); BEGIN ${body} RAISE NOTICE '%', '${label} ' || (extract(epoch from clock_timestamp() - t) * 1e6 / 3000)::int || ' µs/op'; END $$`);
  const pg = db.pool; const client = await pg.connect(); client.on('notice', (n) => console.log(n.message));
  const payload = (i: string) => `jsonb_build_array(jsonb_build_object('eventId', gen_random_uuid(), 'type', 'WelfareCheckRecorded', 'data', '{"caseId":"a1b2c3d4-0000-4000-8000-000000000001","welfareCheckId":"a1b2c3d4-0000-4000-8000-000000000001","performedAt":"2026-01-01T00:00:00Z","location":{"kind":"text","value":"enc:v1:3f9a…(ciphertext of an address, about 80 bytes of base64)…=="},"outcome":"assistance_provided","observations":"enc:v1:9b1c…(ciphertext of the observations, about 160 bytes of base64 as notes tend to be)…=="}'::jsonb, 'metadata', '{"actor":{"id":"a1","name":"Officer Bench","role":"officer","team":"north"},"correlationId":"x","causationId":"y","recordedAt":"2026-01-01T00:00:00Z","schemaVersion":1}'::jsonb, 'recordedAt', '2026-01-01T00:00:00Z', 'contentHash', encode(sha256(${i}::text::bytea), 'hex')))`;
  for (let r = 0; r < 2; r++) {
    await client.query(`DO $$ DECLARE t timestamptz := clock_timestamp(); BEGIN FOR i IN 1..3000 LOOP INSERT INTO raw_events (stream_id, version, type, data, metadata) VALUES ('case-x', i, 'W', '{"caseId":"a1b2c3d4-0000-4000-8000-000000000001","welfareCheckId":"a1b2c3d4-0000-4000-8000-000000000001","performedAt":"2026-01-01T00:00:00Z","location":{"kind":"text","value":"enc:v1:3f9a…(ciphertext of an address, about 80 bytes of base64)…=="},"outcome":"assistance_provided","observations":"enc:v1:9b1c…(ciphertext of the observations, about 160 bytes of base64 as notes tend to be)…=="}'::jsonb, '{"actor":{"id":"a1","name":"Officer Bench","role":"officer","team":"north"},"correlationId":"x","causationId":"y","recordedAt":"2026-01-01T00:00:00Z","schemaVersion":1}'::jsonb); END LOOP; RAISE NOTICE 'raw %', (extract(epoch from clock_timestamp() - t) * 1e6 / 3000)::int; END $$`);
    const s = `case-${randomUUID()}`;
    await client.query(`DO $$ DECLARE t timestamptz := clock_timestamp(); BEGIN FOR i IN 1..3000 LOOP PERFORM es_append('${s}', 'case', 'any', ${payload('i')}); END LOOP; RAISE NOTICE 'es_append %', (extract(epoch from clock_timestamp() - t) * 1e6 / 3000)::int; END $$`);
  }
  client.release(); await db.close();
  void sql;
}
main();
