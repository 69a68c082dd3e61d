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

/**
 * canonicalJson(JSON.parse(text)) for `text` as PostgreSQL writes jsonb (`{"k": v, "k2": [1, 2]}`:
 * keys unique, ordered by length, ", " and ": " between), without building the value. Why: whole-
 * store verification re-hashes every event, and parsing then re-serialising costs several times
 * what this one pass does. jsonb escapes strings exactly as JSON.stringify does, so strings are
 * copied as they are and only the keys are re-ordered. Anything else — an escaped key, a number
 * that JavaScript might print otherwise (fractions, exponents, 16+ digits) — takes the slow path.
 */
export function canonicalJsonOfJsonbText(text: string): string {
  return jsonbText.canonical(text) ?? canonicalJson(JSON.parse(text));
}

/**
 * canonicalContent (see hash-chain) of an event whose data and metadata are jsonb text: the
 * canonical JSON of {streamId, type, data, metadata}, whose keys sort as data, metadata, streamId,
 * type, and whose two strings are written as JSON.stringify writes them.
 */
export function canonicalContentOfJsonbText(streamId: string, type: string, data: string, metadata: string): string {
  return canonicalContentOfQuoted(JSON.stringify(streamId), type, data, metadata);
}

/** canonicalContentOfJsonbText with the stream id already written as a JSON string (once per stream, not per event). */
export function canonicalContentOfQuoted(quotedStreamId: string, type: string, data: string, metadata: string): string {
  return `{"data":${canonicalJsonOfJsonbText(data)},"metadata":${canonicalJsonOfJsonbText(metadata)},"streamId":${quotedStreamId},"type":${JSON.stringify(type)}}`;
}

/**
 * The source of the functions above, to run them in a worker thread (see ContentHasher): they
 * use nothing but each other and the language, so their text is all a worker needs.
 */
export const canonicalJsonSource = (): string =>
  [`const isSkipped = ${isSkipped.toString()};`, canonicalJson.toString(), JsonbText.toString(), 'const jsonbText = new JsonbText();', canonicalJsonOfJsonbText.toString(), canonicalContentOfJsonbText.toString(), canonicalContentOfQuoted.toString()].join('\n');

class JsonbText {
  private text = '';
  private i = 0;
  /**
   * Members (quoted key, canonical value) of the objects being read, innermost last, in key order
   * within each, up to `top`: one pair of lists for all levels and all texts makes less garbage
   * than a pair per object (and no list is cut short: an object's members are simply overwritten).
   */
  private readonly keys: string[] = [];
  private readonly values: string[] = [];
  private top = 0;

  /** The canonical JSON of this jsonb text, or undefined when it takes the slow path. */
  canonical(text: string): string | undefined {
    this.text = text;
    this.i = 0;
    this.top = 0;
    const value = this.value();
    const whole = value !== undefined && this.i === text.length;
    this.text = '';
    return whole ? value : undefined;
  }

  private value(): string | undefined {
    const text = this.text;
    const start = this.i;
    const c = text.charCodeAt(start);
    if (c === 0x22) {
      const end = this.stringEnd(start);
      if (end < 0) return undefined;
      this.i = end;
      return text.slice(start, end);
    }
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x74 || c === 0x66 || c === 0x6e) {
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      if (!text.startsWith(literal, start)) return undefined;
      this.i = start + literal.length;
      return literal;
    }
    // An integer JavaScript writes the same: -?(0|[1-9][0-9]{0,14}).
    let end = c === 0x2d ? start + 1 : start;
    const first = end;
    while (end < text.length) {
      const d = text.charCodeAt(end);
      if (d < 0x30 || d > 0x39) break;
      end++;
    }
    const digits = end - first;
    if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(first) === 0x30)) return undefined;
    this.i = end;
    return text.slice(start, end);
  }

  private object(): string | undefined {
    const text = this.text;
    const keys = this.keys;
    const values = this.values;
    this.i++;
    if (text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return '{}';
    }
    const base = this.top;
    let out: string | undefined;
    for (;;) {
      const start = this.i;
      if (text.charCodeAt(start) !== 0x22) break;
      const end = this.stringEnd(start);
      if (end < 0) break;
      // Compared with their quotes on: the same order as without them, as long as no key holds a
      // character that sorts below the quote (space, "!") or an escape.
      let plain = true;
      for (let k = start + 1; k < end - 1; k++) {
        const d = text.charCodeAt(k);
        if (d <= 0x21 || d === 0x5c) {
          plain = false;
          break;
        }
      }
      if (!plain || text.charCodeAt(end) !== 0x3a || text.charCodeAt(end + 1) !== 0x20) break;
      const quoted = text.slice(start, end);
      this.i = end + 2;
      const value = this.value();
      if (value === undefined) break;
      // Insertion into key order: objects are small.
      let at = this.top++;
      while (at > base && keys[at - 1] > quoted) {
        keys[at] = keys[at - 1];
        values[at] = values[at - 1];
        at--;
      }
      keys[at] = quoted;
      values[at] = value;
      const next = text.charCodeAt(this.i);
      if (next === 0x7d) {
        this.i++;
        out = '{' + keys[base] + ':' + values[base];
        for (let k = base + 1; k < this.top; k++) out += ',' + keys[k] + ':' + values[k];
        out += '}';
        break;
      }
      if (next !== 0x2c || text.charCodeAt(this.i + 1) !== 0x20) break;
      this.i += 2;
    }
    this.top = base;
    return out;
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
      out += first ? value : ',' + value;
      const next = text.charCodeAt(this.i);
      if (next === 0x5d) {
        this.i++;
        return out + ']';
      }
      if (next !== 0x2c || text.charCodeAt(this.i + 1) !== 0x20) return undefined;
      this.i += 2;
    }
  }

  /** Index just past the closing quote of the string opening at `start`, or -1. */
  private stringEnd(start: number): number {
    const text = this.text;
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

const jsonbText = new JsonbText();
