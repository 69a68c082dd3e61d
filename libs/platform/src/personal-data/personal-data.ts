import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CANCELLED_BY_CASE_CLOSURE, DomainError } from '@caseline/domain';
import type { PersonalDataKeys } from './personal-data-keys';

/** What an erased value reads as, everywhere. */
export const ERASED = '[erased]';

/** A sealed value in event data: the person whose key seals it, and AES-256-GCM output. */
interface Sealed {
  $pii: 1;
  p: string;
  /** base64 of iv (12) ‖ tag (16) ‖ ciphertext of the JSON value. */
  v: string;
}

/**
 * Which fields of which events hold personal data: names, date of birth, phone, and every free
 * text (observations, notes, summaries, reasons), since workers write about people in them.
 */
const SEALED_FIELDS: Record<string, string[]> = {
  PersonRegistered: ['givenName', 'familyName', 'dateOfBirth', 'phone'],
  PersonDetailsCorrected: ['changes.givenName', 'changes.familyName', 'changes.dateOfBirth', 'changes.phone'],
  ConsentRevoked: ['reason'],
  CaseOpened: ['summary', 'cadIncidentId'],
  RiskLevelChanged: ['reason'],
  WelfareCheckRecorded: ['location', 'observations'],
  NoteAdded: ['body'],
  FollowUpScheduled: ['purpose'],
  FollowUpCompleted: ['outcome', 'note'],
  FollowUpCancelled: ['reason'],
  CaseClosed: ['note'],
  CaseReopened: ['reason'],
  ReferralMade: ['notes', 'consentBasis.reason'],
  ReferralAccepted: ['note'],
  ReferralDeclined: ['reason'],
  ReferralServiceStarted: ['note'],
  ReferralClosed: ['note'],
  ReferralRevoked: ['reason'],
};

const SYSTEM_VALUES = new Set([`FollowUpCancelled.reason=${CANCELLED_BY_CASE_CLOSURE}`]);

/**
 * 96-bit AES-GCM nonces, drawn from the CSPRNG a block at a time. Why: `randomBytes(12)` for each
 * sealed field cost more per command than the encryption itself (a call into OpenSSL's generator
 * each). Each nonce is still fresh CSPRNG output, used once: the odds of a repeat under one key
 * are those of single draws.
 */
class Nonces {
  private block = Buffer.alloc(0);
  private at = 0;

  next(): Buffer {
    if (this.at + NONCE_BYTES > this.block.length) {
      this.block = randomBytes(NONCE_BYTES * 256);
      this.at = 0;
    }
    const nonce = this.block.subarray(this.at, this.at + NONCE_BYTES);
    this.at += NONCE_BYTES;
    return nonce;
  }
}

const NONCE_BYTES = 12;

const isSealed = (value: unknown): value is Sealed =>
  typeof value === 'object' && value !== null && (value as Sealed).$pii === 1 && typeof (value as Sealed).p === 'string';

/**
 * Seals personal data into events before they are stored and opens it when they are read. The
 * domain only ever sees plaintext (or ERASED); the store, its hash chains and any copy of the
 * events only ever hold ciphertext.
 */
export class PersonalData {
  /**
   * Values already opened, by ciphertext, with the person and origin they were opened for (a value
   * is authenticated for exactly that person and field: a copy moved elsewhere misses, and fails).
   * Why: replaying a long case answers thousands of sealed values, the same ones request after
   * request, and each AES-GCM opening costs more than all the rest of the replay. Privacy: like the
   * service's cached stream states, these plaintexts live in this process only and are dropped on
   * every erasure, here or in another process (see PersonalDataKeys.onErased).
   */
  private readonly opened = new Map<string, OpenedValue>();
  /** Bumped on each erasure: a value opened with a key fetched before it is not remembered after. */
  private epoch = 0;
  /**
   * Parts of folded states (objects and arrays, immutable) already opened by openMarked, with what
   * they opened to. Why: successive states of one case share most of their parts (evolve and its
   * folds copy only the collections events change, and each once per fold), and a long case's state holds thousands of sealed values. Held
   * weakly, by the parts themselves: gone with the states; and replaced on every erasure.
   */
  private openedParts = new WeakMap<object, unknown>();
  private readonly nonces = new Nonces();

  constructor(
    private readonly keys: PersonalDataKeys,
    /** How many opened values are remembered (the oldest go first); 0: none. */
    private readonly maxOpened = 100_000,
  ) {
    keys.onErased(() => {
      this.epoch++;
      this.opened.clear();
      this.openedParts = new WeakMap();
    });
  }

  async seal<E extends { type: string; data: unknown }>(event: E, personId: string | undefined): Promise<E> {
    const fields = SEALED_FIELDS[event.type];
    if (!fields || personId === undefined) return event;
    const data = structuredClone(event.data) as Record<string, unknown>;
    let key: Buffer | null | undefined;
    for (const path of fields) {
      const [parent, name] = locate(data, path);
      const value = parent?.[name];
      if (parent === undefined || value === undefined || value === null) continue;
      // Fixed values the system writes itself (e.g. follow-ups cancelled by a closure) hold nothing
      // personal, and must not block the lifecycle of an erased person's case.
      if (SYSTEM_VALUES.has(`${event.type}.${path}=${String(value)}`)) continue;
      key ??= await this.keys.keyFor(personId, true);
      if (key === null) throw DomainError.conflict('person_erased', 'this person was erased; nothing more may be recorded about them');
      const iv = this.nonces.next();
      const cipher = createCipheriv('aes-256-gcm', key as Buffer, iv, { authTagLength: 16 });
      cipher.setAAD(Buffer.from(`${personId}\n${event.type}.${path}`));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()]);
      parent[name] = { $pii: 1, p: personId, v: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64') } satisfies Sealed;
    }
    return { ...event, data };
  }

  /** Keyed fingerprint (HMAC) of a request, for idempotency checks stored with events. */
  fingerprint(text: string): string {
    return this.keys.fingerprint(text);
  }

  /** Crypto-shredding: destroys the person's key; every process then drops its decrypted copies. */
  erase(personId: string): Promise<void> {
    return this.keys.destroy(personId);
  }

  /** Called after any erasure, in this process or another (see PersonalDataKeys). */
  onErased(listener: () => void): void {
    this.keys.onErased(listener);
  }

  close(): Promise<void> {
    return this.keys.close();
  }

  /**
   * Marks each sealed value in `data` with where it was sealed (`<type>.<path>`, the authenticated
   * data of its seal), so that it can still be opened after evolve has moved it into a state.
   * The mark names a field, nothing personal: states folded from marked events (snapshots) hold
   * only the same ciphertext as the events, and erasing the person shreds them too.
   */
  markOrigins<T>(type: string, data: T): T {
    return markOrigins(type, data);
  }

  /**
   * Opens every marked sealed value in `value` (see markOrigins); erased people read as ERASED.
   * The answer shares every part that holds no sealed value with `value`, and parts opened before
   * with earlier answers: like the folded states it comes from, it must not be changed in place.
   */
  async openMarked<T>(value: T): Promise<T> {
    // One walk finds the people, each key is fetched once, then one synchronous walk opens the
    // values: a case state holds thousands of them, and a promise each costs more than the AES.
    // The walks loop over arrays rather than listing them: a long case holds thousands of ids.
    // Parts opened before (see openedParts) are neither searched nor opened again.
    const openedParts = this.openedParts;
    const people = new Set<string>();
    const find = (item: unknown): void => {
      if (typeof item !== 'object' || item === null || openedParts.has(item)) return;
      if (isSealed(item)) people.add(item.p);
      else if (Array.isArray(item)) for (let i = 0; i < item.length; i++) find(item[i]);
      else for (const name in item) find((item as Record<string, unknown>)[name]);
    };
    find(value);
    const epoch = this.epoch;
    const keys = new Map(await Promise.all([...people].map(async (person) => [person, await this.keys.keyFor(person, false)] as const)));
    // An erasure while the keys were fetched: the parts found opened may hold the erased person's
    // values, and their keys were not asked for. Start again with what is known now.
    if (epoch !== this.epoch) return this.openMarked(value);
    const remember = this.maxOpened > 0;
    // Copies only what holds a sealed value; the rest of the answer is shared with `value`, which
    // is as immutable as every folded state.
    const open = (item: unknown): unknown => {
      if (typeof item !== 'object' || item === null) return item;
      if (isSealed(item)) {
        const at = (item as Sealed & { at?: unknown }).at;
        if (typeof at !== 'string' || !at.includes('.')) throw new Error('a sealed value without its origin cannot be opened');
        const key = keys.get(item.p);
        return key ? this.openSealed(key, item, at, epoch) : ERASED;
      }
      const before = openedParts.get(item);
      if (before !== undefined) return before;
      let answer: unknown = item;
      if (Array.isArray(item)) {
        let copy: unknown[] | undefined;
        for (let i = 0; i < item.length; i++) {
          const opened = open(item[i]);
          if (opened !== item[i]) (copy ??= item.slice())[i] = opened;
        }
        answer = copy ?? item;
      } else {
        let copy: Record<string, unknown> | undefined;
        for (const name in item) {
          const child = (item as Record<string, unknown>)[name];
          const opened = open(child);
          if (opened !== child) (copy ??= { ...item })[name] = opened;
        }
        answer = copy ?? item;
      }
      if (remember) openedParts.set(item, answer);
      return answer;
    };
    return open(value) as T;
  }

  /** Opens every sealed value in `data` (any depth); values of erased people read as ERASED. */
  async open<T>(type: string, data: T): Promise<T> {
    if (!containsSealed(data)) return data;
    return (await this.openValue(type, data, '')) as T;
  }

  private async openValue(type: string, value: unknown, path: string): Promise<unknown> {
    if (isSealed(value)) {
      const epoch = this.epoch;
      const key = await this.keys.keyFor(value.p, false);
      return key ? this.openSealed(key, value, `${type}.${path}`, epoch) : ERASED;
    }
    const child = (name: string | number) => (path ? `${path}.${name}` : String(name));
    if (Array.isArray(value)) return Promise.all(value.map((item, index) => this.openValue(type, item, child(index))));
    if (typeof value === 'object' && value !== null) {
      const entries = await Promise.all(Object.entries(value).map(async ([name, item]) => [name, await this.openValue(type, item, child(name))] as const));
      return Object.fromEntries(entries);
    }
    return value;
  }

  /** decrypt, remembered; `epoch` is this.epoch from before `key` was fetched. */
  private openSealed(key: Buffer, value: Sealed, origin: string, epoch: number): unknown {
    // By ciphertext (its random IV makes it unique), then the person and field it was opened for.
    const remembered = this.opened.get(value.v);
    if (remembered && remembered.person === value.p && remembered.origin === origin) return remembered.value;
    const opened = decrypt(key, value, origin);
    // An object is not shared between answers (a caller might change it); text is immutable.
    if (this.maxOpened > 0 && epoch === this.epoch && (opened === null || typeof opened !== 'object')) {
      if (this.opened.size >= this.maxOpened) this.opened.delete(this.opened.keys().next().value as string);
      this.opened.set(value.v, { person: value.p, origin, value: opened as OpenedValue['value'] });
    }
    return opened;
  }
}

/** A sealed value opened: personal data is text (names, dates, phone, free text). */
interface OpenedValue {
  person: string;
  origin: string;
  value: string | number | boolean | null;
}

/** See PersonalData.markOrigins: needs no key, so a reader without the master key can fold sealed events too. */
export function markOrigins<T>(type: string, data: T): T {
  if (!containsSealed(data)) return data;
  const mark = (value: unknown, path: string): unknown => {
    if (isSealed(value)) return { ...value, at: `${type}.${path}` };
    const child = (name: string | number) => (path ? `${path}.${name}` : String(name));
    if (Array.isArray(value)) return value.map((item, index) => mark(item, child(index)));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, mark(item, child(name))]));
    return value;
  };
  return mark(data, '') as T;
}

/** Opens one sealed value; `origin` is `<event type>.<field path>` where it was sealed. */
function decrypt(key: Buffer, value: Sealed, origin: string): unknown {
  const raw = Buffer.from(value.v, 'base64');
  if (raw.length < 12 + 16) throw new Error('a sealed value is truncated');
  // The tag length is pinned and the person and field are authenticated: a value cannot be
  // shortened, nor moved to another person or field, without failing here.
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(`${value.p}\n${origin}`));
  decipher.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString());
}

function locate(data: Record<string, unknown>, path: string): [Record<string, unknown> | undefined, string] {
  const parts = path.split('.');
  let parent: unknown = data;
  for (const part of parts.slice(0, -1)) parent = (parent as Record<string, unknown> | undefined)?.[part];
  return [typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>) : undefined, parts[parts.length - 1]];
}

function containsSealed(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isSealed(value)) return true;
  return Object.values(value).some(containsSealed);
}
