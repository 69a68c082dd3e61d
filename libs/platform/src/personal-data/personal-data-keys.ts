import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { isConnectionFailure, StoreUnavailableError, type SqlDatabase } from '@caseline/event-store';

/** NOTIFY channel on which an erasure (payload: the person id) reaches every API process. */
const ERASURE_CHANNEL = 'caseline_erasures';

/**
 * Per-person data keys (AES-256), stored wrapped by the master key (AES-256-GCM). Destroying a
 * person's key is the erasure: every value sealed with it becomes unreadable wherever it was copied
 * — events, backups, read models rebuilt from them — while the ciphertext, and so every hash chain,
 * stays exactly as it was. A destroyed key leaves a tombstone row (wrapped_key NULL), so that
 * nothing new is ever sealed for that person again.
 */
export class PersonalDataKeys {
  private readonly unwrapped = new Map<string, Buffer | null>();
  /**
   * Lookups under way, by person. Why: opening a long stream asks for the same key once per sealed
   * value, all at once; without this each ask is its own query, and thousands of them wait for
   * the pool until its connection timeout turns the read into a 503.
   */
  private readonly reading = new Map<string, Promise<Buffer | null | undefined>>();
  /** Bumped whenever keys are forgotten: a key read before an erasure is not kept after it. */
  private epoch = 0;
  private readonly erasureListeners: Array<() => void> = [];
  private unlisten?: () => Promise<void>;

  private readonly db: Pick<SqlDatabase, 'query'>;

  private constructor(
    private readonly database: SqlDatabase,
    private readonly masterKey: Buffer,
  ) {
    // A database outage here is the same 503 as anywhere else, not a 500.
    this.db = {
      query: async (text, params) => {
        try {
          return await database.query(text, params);
        } catch (error) {
          if (isConnectionFailure(error)) throw new StoreUnavailableError('the key store is unavailable', error);
          throw error;
        }
      },
    } as Pick<SqlDatabase, 'query'>;
  }

  /** HMAC-SHA256 under a key derived from the master key: fingerprints that reveal nothing. */
  fingerprint(text: string): string {
    return createHmac('sha256', this.fingerprintKey).update(text).digest('hex');
  }

  private get fingerprintKey(): Buffer {
    return (this.derived ??= createHmac('sha256', this.masterKey).update('caseline request fingerprint v1').digest());
  }

  private derived?: Buffer;

  static async open(db: SqlDatabase, masterKey: Buffer): Promise<PersonalDataKeys> {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    await db.exec(`CREATE TABLE IF NOT EXISTS pii_keys (
      person_id    uuid PRIMARY KEY,
      wrapped_key  bytea,
      created_at   timestamptz NOT NULL DEFAULT now(),
      destroyed_at timestamptz
    )`);
    const keys = new PersonalDataKeys(db, masterKey);
    // Why: every API process keeps unwrapped keys and decrypted streams in memory. An erasure in
    // one process reaches the others by NOTIFY (sent on commit); a listener that had to reconnect
    // may have missed some, so it forgets every key (payload undefined).
    if (db.listen) keys.unlisten = await db.listen(ERASURE_CHANNEL, (personId) => keys.forget(personId || undefined));
    return keys;
  }

  /** Called after any erasure, in this process or another: drop every decrypted copy. */
  onErased(listener: () => void): void {
    this.erasureListeners.push(listener);
  }

  /** Stops listening for other processes' erasures (the database itself is closed by its owner). */
  async close(): Promise<void> {
    await this.unlisten?.();
  }

  /** The person's key; created on first use. null once destroyed (erased). */
  async keyFor(personId: string, create: boolean): Promise<Buffer | null | undefined> {
    if (this.unwrapped.has(personId)) return this.unwrapped.get(personId);
    // A lookup that may create the key is not shared with one that may not (nor the reverse).
    const id = `${create ? '+' : '-'}${personId}`;
    const reading = this.reading.get(id);
    if (reading) return reading;
    const read = this.readKey(personId, create).finally(() => {
      if (this.reading.get(id) === read) this.reading.delete(id);
    });
    this.reading.set(id, read);
    return read;
  }

  private async readKey(personId: string, create: boolean): Promise<Buffer | null | undefined> {
    const epoch = this.epoch;
    let { rows } = await this.db.query<{ wrapped_key: Buffer | Uint8Array | null }>(`SELECT wrapped_key FROM pii_keys WHERE person_id = $1`, [personId]);
    if (rows.length === 0) {
      if (!create) return undefined;
      // Two requests may create the first key at once: one insert wins, both read the winner.
      await this.db.query(`INSERT INTO pii_keys (person_id, wrapped_key) VALUES ($1, $2) ON CONFLICT (person_id) DO NOTHING`, [personId, this.wrap(randomBytes(32))]);
      ({ rows } = await this.db.query<{ wrapped_key: Buffer | Uint8Array | null }>(`SELECT wrapped_key FROM pii_keys WHERE person_id = $1`, [personId]));
    }
    const wrapped = rows[0].wrapped_key;
    // An erasure that finished while we read wins: a tombstone is never overwritten by a key.
    if (this.unwrapped.get(personId) === null) return null;
    // Another process erased someone while we read: read again rather than keep what we saw before.
    if (epoch !== this.epoch) return this.readKey(personId, create);
    const key = wrapped === null ? null : this.unwrap(Buffer.from(wrapped));
    this.unwrapped.set(personId, key);
    return key;
  }

  /**
   * Crypto-shredding: the wrapped key is overwritten with NULL, in memory and in the database, and
   * every process is told (PostgreSQL: NOTIFY in the same statement, so it goes out on commit).
   */
  async destroy(personId: string): Promise<void> {
    const shred = `INSERT INTO pii_keys (person_id, wrapped_key, destroyed_at) VALUES ($1, NULL, now())
       ON CONFLICT (person_id) DO UPDATE SET wrapped_key = NULL, destroyed_at = coalesce(pii_keys.destroyed_at, now())`;
    if (this.database.listen) {
      await this.db.query(`WITH shredded AS (${shred} RETURNING person_id) SELECT pg_notify($2, person_id::text) FROM shredded`, [personId, ERASURE_CHANNEL]);
    } else await this.db.query(shred, [personId]);
    this.forget(personId, true);
  }

  /**
   * Drops the person's unwrapped key (every key when undefined), then every decrypted state. Erased
   * here: a tombstone; elsewhere: the key goes and the next use reads what the database holds.
   * Tombstones stay: a destroyed key never comes back.
   */
  private forget(personId: string | undefined, erasedHere = false): void {
    this.epoch++;
    // Lookups under way finish on their own (they see the new epoch and read again); new ones start afresh.
    this.reading.clear();
    if (personId === undefined) {
      for (const [id, key] of this.unwrapped) if (key !== null) this.unwrapped.delete(id);
    } else if (erasedHere) this.unwrapped.set(personId, null);
    else if (this.unwrapped.get(personId) !== null) this.unwrapped.delete(personId);
    for (const listener of this.erasureListeners) listener();
  }

  private wrap(key: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: 16 });
    const sealed = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  private unwrap(wrapped: Buffer): Buffer {
    if (wrapped.length !== 12 + 16 + 32) throw new Error('a wrapped data key has the wrong length');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, wrapped.subarray(0, 12), { authTagLength: 16 });
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }
}
