/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no insignificant whitespace, and
 * otherwise exactly what `JSON.stringify` would keep (`toJSON` honoured, `undefined`, functions and
 * symbols dropped from objects and written as null in arrays), numbers and strings as it writes them.
 * The hash chain is computed over this form, so the same event hashes the same in every adapter
 * and after a round trip through PostgreSQL `jsonb` (which reorders keys but keeps values).
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in event');
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`${typeof value} is not JSON`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => (isSkipped(item) ? 'null' : canonicalJson(item))).join(',')}]`;
  const keys = Object.keys(value).sort();
  const members: string[] = [];
  for (const key of keys) {
    const member = (value as Record<string, unknown>)[key];
    if (isSkipped(member)) continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

const isSkipped = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol';

const SAFE_INTEGER = /^-?(0|[1-9][0-9]{0,14})$/;
const PLAIN_KEY = /^"[^\x00-\x21\\\\]*"$/;

/**
 * canonicalJson(JSON.parse(text)) for `text` as PostgreSQL writes jsonb (`{"k": v, "k2": [1, 2]}`:
 * keys unique, ordered by length, ", " and ": " between), without building the value. Why: whole-
 * store verification re-hashes every event, and parsing then re-serialising costs several times
 * what this one pass does. jsonb escapes strings exactly as JSON.stringify does, so strings are
 * copied as they are and only the keys are re-ordered. Anything else — an escaped key, a number
 * that JavaScript might print otherwise (fractions, exponents, 16+ digits) — takes the slow path.
 */
export function canonicalJsonOfJsonbText(text: string): string {
  return new JsonbText(text).canonical() ?? canonicalJson(JSON.parse(text));
}

/**
 * The source of the functions above, to run them in a worker thread (see ContentHasher): they
 * use nothing but each other and the language, so their text is all a worker needs.
 */
export const canonicalJsonSource = (): string =>
  [`const isSkipped = ${isSkipped.toString()};`, `const SAFE_INTEGER = ${SAFE_INTEGER.toString()};`, `const PLAIN_KEY = ${PLAIN_KEY.toString()};`, canonicalJson.toString(), JsonbText.toString(), canonicalJsonOfJsonbText.toString()].join('\n');

class JsonbText {
  private i = 0;

  constructor(private readonly text: string) {}

  canonical(): string | undefined {
    const value = this.value();
    return value !== undefined && this.i === this.text.length ? value : undefined;
  }

  private value(): string | undefined {
    const text = this.text;
    const c = text.charCodeAt(this.i);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) {
      const end = this.stringEnd(this.i);
      if (end < 0) return undefined;
      const string = text.slice(this.i, end);
      this.i = end;
      return string;
    }
    let end = this.i;
    while (end < text.length) {
      const d = text.charCodeAt(end);
      if (d === 0x2c || d === 0x5d || d === 0x7d) break;
      end++;
    }
    const token = text.slice(this.i, end);
    this.i = end;
    if (token === 'true' || token === 'false' || token === 'null') return token;
    return SAFE_INTEGER.test(token) ? token : undefined;
  }

  private object(): string | undefined {
    const text = this.text;
    this.i++;
    if (text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return '{}';
    }
    // Keys (quoted) and values in two lists, put in order by insertion: objects are small, and
    // this makes less garbage than an array per member and a sort callback.
    const keys: string[] = [];
    const values: string[] = [];
    for (;;) {
      if (text.charCodeAt(this.i) !== 0x22) return undefined;
      const end = this.stringEnd(this.i);
      if (end < 0) return undefined;
      const quoted = text.slice(this.i, end);
      // Compared with their quotes on: the same order as without them, as long as no key holds a
      // character that sorts below the quote (space, "!") or an escape.
      if (!PLAIN_KEY.test(quoted)) return undefined;
      this.i = end;
      if (text.charCodeAt(this.i) !== 0x3a || text.charCodeAt(this.i + 1) !== 0x20) return undefined;
      this.i += 2;
      const value = this.value();
      if (value === undefined) return undefined;
      let at = keys.length;
      while (at > 0 && keys[at - 1] > quoted) at--;
      keys.splice(at, 0, quoted);
      values.splice(at, 0, value);
      const next = text.charCodeAt(this.i);
      if (next === 0x7d) {
        this.i++;
        break;
      }
      if (next !== 0x2c || text.charCodeAt(this.i + 1) !== 0x20) return undefined;
      this.i += 2;
    }
    let out = '{';
    for (let k = 0; k < keys.length; k++) out += `${k ? ',' : ''}${keys[k]}:${values[k]}`;
    return `${out}}`;
  }

  private array(): string | undefined {
    const text = this.text;
    this.i++;
    if (text.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return '[]';
    }
    let out = '[';
    for (let first = true; ; first = false) {
      const value = this.value();
      if (value === undefined) return undefined;
      out += first ? value : `,${value}`;
      const next = text.charCodeAt(this.i);
      if (next === 0x5d) {
        this.i++;
        return `${out}]`;
      }
      if (next !== 0x2c || text.charCodeAt(this.i + 1) !== 0x20) return undefined;
      this.i += 2;
    }
  }

  /** Index just past the closing quote of the string opening at `start`, or -1. */
  private stringEnd(start: number): number {
    const text = this.text;
    // indexOf runs natively over the long runs (sealed values are long base64 strings).
    for (let from = start + 1; ; ) {
      const quote = text.indexOf('"', from);
      if (quote < 0) return -1;
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }
}
