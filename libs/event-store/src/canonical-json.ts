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
  [
    `const isSkipped = ${isSkipped.toString()};`,
    canonicalJson.toString(),
    JsonbText.toString(),
    'const jsonbText = new JsonbText();',
    canonicalJsonOfJsonbText.toString(),
    canonicalContentOfJsonbText.toString(),
    canonicalContentOfQuoted.toString(),
    `const CONTENT_PARTS = ${JSON.stringify(CONTENT_PARTS)};`,
    ContentBytes.toString(),
  ].join('\n');

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

/**
 * canonicalContentOfQuoted over bytes: the canonical content of an event whose data and metadata
 * are jsonb text in UTF-8 (as COPY … (FORMAT binary) hands them over), written into one buffer
 * that is reused from event to event. Why: whole-store verification turns every stored event into
 * this form to hash it, and doing it in bytes makes no string per event (no UTF-8 decoding of the
 * row, no pieces to join, no encoding for the hash, and far less for the collector). The same
 * rules as JsonbText: strings copied as they are, keys put in order, and anything JavaScript
 * might write otherwise (an escaped or non-ASCII key, a fraction, an exponent, 16+ digits) goes
 * the slow way, through canonicalJson of the parsed value. Uses only the language and Buffer, so
 * that its source runs in a worker thread.
 */
class ContentBytes {
  private out = Buffer.allocUnsafe(64 * 1024);
  private n = 0;
  private src: Buffer = Buffer.alloc(0);
  private i = 0;
  /** Where the value being read ends in src (what follows is another field). */
  private limit = 0;
  /** Members of the objects being read, innermost last: key start and end (in src), value start and end (in out). */
  private keyStart: number[] = [];
  private keyEnd: number[] = [];
  private valueStart: number[] = [];
  private valueEnd: number[] = [];
  private top = 0;

  /**
   * The canonical content `{"data":…,"metadata":…,"streamId":…,"type":…}` of an event, as a view
   * of this object's buffer, valid until the next call. `quotedStreamId` is the stream id written
   * as a JSON string, `type` the type's bytes; data and metadata are byte ranges of `src`.
   */
  content(quotedStreamId: Buffer, type: Buffer, src: Buffer, dataStart: number, dataEnd: number, metadataStart: number, metadataEnd: number): Buffer {
    this.n = 0;
    this.top = 0;
    this.constant(CONTENT_PARTS[0]);
    this.json(src, dataStart, dataEnd);
    this.constant(CONTENT_PARTS[1]);
    this.json(src, metadataStart, metadataEnd);
    this.constant(CONTENT_PARTS[2]);
    this.bytes(quotedStreamId, 0, quotedStreamId.length);
    this.constant(CONTENT_PARTS[3]);
    // A type that needs no escape is quoted as it is (event types are names); else as JSON writes it.
    let plain = true;
    for (let k = 0; k < type.length; k++) {
      const c = type[k];
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        plain = false;
        break;
      }
    }
    if (plain) {
      this.room(type.length + 3);
      this.byte(0x22);
      this.bytes(type, 0, type.length);
      this.byte(0x22);
    } else this.literal(JSON.stringify(type.toString('utf8')));
    this.room(1);
    this.byte(0x7d);
    return this.out.subarray(0, this.n);
  }

  /** Appends the canonical JSON of the jsonb text in src[start, end). */
  private json(src: Buffer, start: number, end: number): void {
    const at = this.n;
    this.src = src;
    this.i = start;
    this.limit = end;
    if (this.value() && this.i === end) return;
    // The slow way: parsed, then written by canonicalJson.
    this.n = at;
    this.top = 0;
    this.literal(canonicalJson(JSON.parse(src.toString('utf8', start, end))));
  }

  private room(extra: number): void {
    if (this.n + extra <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.n + extra));
    this.out.copy(bigger, 0, 0, this.n);
    this.out = bigger;
  }

  /** Appends a constant's bytes. */
  private constant(bytes: number[]): void {
    this.room(bytes.length);
    for (let k = 0; k < bytes.length; k++) this.out[this.n++] = bytes[k];
  }

  private literal(text: string): void {
    this.room(text.length * 3);
    this.n += this.out.write(text, this.n);
  }

  private bytes(from: Buffer, start: number, end: number): void {
    this.room(end - start);
    // Byte by byte up to a few hundred: Buffer#copy and views cost more than they save on short runs.
    const out = this.out;
    if (end - start < 256) for (let k = start; k < end; k++) out[this.n++] = from[k];
    else {
      out.set(from.subarray(start, end), this.n);
      this.n += end - start;
    }
  }

  /** Appends one byte (room already made). */
  private byte(c: number): void {
    this.out[this.n++] = c;
  }

  /** Writes the value at this.i; false when it takes the slow way. */
  private value(): boolean {
    const src = this.src;
    const start = this.i;
    const c = src[start];
    if (c === 0x22) {
      const end = this.stringEnd(start);
      if (end < 0) return false;
      this.i = end;
      this.bytes(src, start, end);
      return true;
    }
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x74 || c === 0x66 || c === 0x6e) {
      // true, false, null: compared byte by byte.
      const length = c === 0x66 ? 5 : 4;
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      if (start + length > this.limit) return false;
      for (let k = 1; k < length; k++) if (src[start + k] !== literal.charCodeAt(k)) return false;
      this.i = start + length;
      this.bytes(src, start, this.i);
      return true;
    }
    // An integer JavaScript writes the same: -?(0|[1-9][0-9]{0,14}).
    let end = c === 0x2d ? start + 1 : start;
    const first = end;
    while (end < this.limit) {
      const d = src[end];
      if (d < 0x30 || d > 0x39) break;
      end++;
    }
    const digits = end - first;
    if (digits === 0 || digits > 15 || (digits > 1 && src[first] === 0x30)) return false;
    this.i = end;
    this.bytes(src, start, end);
    return true;
  }

  private object(): boolean {
    const src = this.src;
    this.i++;
    if (src[this.i] === 0x7d) {
      this.i++;
      this.room(2);
      this.byte(0x7b);
      this.byte(0x7d);
      return true;
    }
    const base = this.top;
    const objectAt = this.n;
    const { keyStart, keyEnd, valueStart, valueEnd } = this;
    for (;;) {
      const start = this.i;
      if (src[start] !== 0x22) return this.fail(base);
      const end = this.stringEnd(start);
      if (end < 0) return this.fail(base);
      // Compared with their quotes on, byte by byte: the order of UTF-16 code units as long as each
      // key is ASCII with nothing below the quote (space, "!") and no escape.
      for (let k = start + 1; k < end - 1; k++) {
        const d = src[k];
        if (d <= 0x21 || d === 0x5c || d >= 0x80) return this.fail(base);
      }
      if (src[end] !== 0x3a || src[end + 1] !== 0x20) return this.fail(base);
      this.i = end + 2;
      const valueAt = this.n;
      if (!this.value()) return this.fail(base);
      // Insertion into key order: objects are small.
      let at = this.top++;
      while (at > base && this.keyAfter(keyStart[at - 1], keyEnd[at - 1], start, end)) {
        keyStart[at] = keyStart[at - 1];
        keyEnd[at] = keyEnd[at - 1];
        valueStart[at] = valueStart[at - 1];
        valueEnd[at] = valueEnd[at - 1];
        at--;
      }
      keyStart[at] = start;
      keyEnd[at] = end;
      valueStart[at] = valueAt;
      valueEnd[at] = this.n;
      const next = src[this.i];
      if (next === 0x7d) {
        this.i++;
        break;
      }
      if (next !== 0x2c || src[this.i + 1] !== 0x20) return this.fail(base);
      this.i += 2;
    }
    // The values were written in the order read; the object is written after them in key order,
    // then moved down over them.
    const assembledAt = this.n;
    let size = 1;
    for (let k = base; k < this.top; k++) size += keyEnd[k] - keyStart[k] + 2 + valueEnd[k] - valueStart[k];
    this.room(size);
    const out = this.out;
    out[this.n++] = 0x7b;
    for (let k = base; k < this.top; k++) {
      if (k > base) out[this.n++] = 0x2c;
      this.bytes(src, keyStart[k], keyEnd[k]);
      out[this.n++] = 0x3a;
      if (valueEnd[k] - valueStart[k] < 64) for (let b = valueStart[k]; b < valueEnd[k]; b++) out[this.n++] = out[b];
      else {
        out.copyWithin(this.n, valueStart[k], valueEnd[k]);
        this.n += valueEnd[k] - valueStart[k];
      }
    }
    out[this.n++] = 0x7d;
    out.copyWithin(objectAt, assembledAt, this.n);
    this.n = objectAt + (this.n - assembledAt);
    this.top = base;
    return true;
  }

  private fail(base: number): boolean {
    this.top = base;
    return false;
  }

  /** Whether the key src[aStart, aEnd) sorts after src[bStart, bEnd) (both quoted, plain ASCII). */
  private keyAfter(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    const src = this.src;
    const length = Math.min(aEnd - aStart, bEnd - bStart);
    for (let k = 0; k < length; k++) {
      const a = src[aStart + k];
      const b = src[bStart + k];
      if (a !== b) return a > b;
    }
    return aEnd - aStart > bEnd - bStart;
  }

  private array(): boolean {
    const src = this.src;
    this.i++;
    this.room(2);
    this.byte(0x5b);
    if (src[this.i] === 0x5d) {
      this.i++;
      this.byte(0x5d);
      return true;
    }
    for (let first = true; ; first = false) {
      if (!first) {
        this.room(1);
        this.byte(0x2c);
      }
      if (!this.value()) return false;
      const next = src[this.i];
      if (next === 0x5d) {
        this.i++;
        this.room(1);
        this.byte(0x5d);
        return true;
      }
      if (next !== 0x2c || src[this.i + 1] !== 0x20) return false;
      this.i += 2;
    }
  }

  /** Index just past the closing quote of the string opening at `start`, or -1. */
  private stringEnd(start: number): number {
    const src = this.src;
    for (let from = start + 1; ; ) {
      const quote = src.indexOf(0x22, from);
      if (quote < 0 || quote >= this.limit) return -1;
      let backslashes = 0;
      while (src[quote - 1 - backslashes] === 0x5c) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }
}

/** The fixed parts of canonical content, as bytes: before data, metadata, stream id and type. */
const CONTENT_PARTS = ['{"data":', ',"metadata":', ',"streamId":', ',"type":'].map((part) => [...part].map((c) => c.charCodeAt(0)));

/** The canonical content of events given as bytes (see ContentBytes). */
export const contentBytes = (): Pick<ContentBytes, 'content'> => new ContentBytes();
