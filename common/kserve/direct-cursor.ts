// The byte reader of the direct JSON decoder (direct-json.ts): a cursor over
// the body that reads JSON's tokens strictly, for a subset of JSON only. It
// never throws and never guesses: whatever it does not read with certainty
// (an escape or a non-ASCII byte in a string, a number no fast method reads
// exactly, nesting deeper than DIRECT_MAX_DEPTH, a `__proto__` or duplicate
// key) is a refusal (FAIL / false / -1), and the caller hands the body to
// JSON.parse, which then judges it — so every error comes from one place.
//
// Numbers (see number()): Clinger's fast path (W. D. Clinger, "How to read
// floating point numbers accurately", 1990), as in json-numbers.ts: w·10^q
// with w < 2^53 and |q| ≤ 22 is one correctly rounded operation on two exact
// doubles, hence the very double JSON.parse yields (`exact`). Up to 19
// significant digits the same operations give an approximation within
// 10·2^-53 relative (at most 4 roundings while w grows past 2^53, one for the
// scale): not the double JSON.parse yields, but enough to round it to a
// narrower type with certainty (direct-tensor.ts).

/** A value the cursor could not read with certainty (the caller falls back). */
export const FAIL: unique symbol = Symbol('direct-json: not handled');

/** Deepest nesting read in a value other than `data` (ids, shapes, parameters, outputs). */
export const DIRECT_MAX_DEPTH = 16;

/** 10^0 … 10^22: every one exactly representable as a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const EXACT_DIGITS = 15; // 10^15 < 2^53: w accumulates exactly
const APPROX_DIGITS = 19;
const CHUNK_DIGITS = 8;

export class JsonCursor {
  readonly bytes: Uint8Array;
  /** The same bytes as a Buffer, for latin1 slices (strings are ASCII-only here). */
  readonly #text: Buffer;
  /** The same bytes, for reading four digits at once. */
  readonly #view: DataView;
  pos = 0;
  /** The last number read: its value, and whether it is the double JSON.parse gives (else within 10·2^-53 relative). */
  value = 0;
  exact = true;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#text = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Skips JSON whitespace; returns the next byte (undefined at the end). */
  ws(): number | undefined {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
    this.pos = p;
    return c;
  }

  /**
   * Reads a number token at pos into value/exact; false when the token is not
   * a JSON number or has more than 19 significant digits or |q| > 22 (a zero
   * is exact whatever its exponent). What follows the token is the caller's to check.
   */
  number(): boolean {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p];
    const negative = c === 0x2d;
    if (negative) c = b[++p];
    // Digits gather in `chunk` (an int32: at most 8 digits, integer arithmetic) and join `w` eight
    // at a time: a chain of double multiply-adds per digit is several times slower.
    let w = 0;
    let chunk = 0;
    let inChunk = 0;
    let digits = 0;
    let q = 0;
    if (c === 0x30) c = b[++p];
    else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      do {
        chunk = chunk * 10 + (c - 0x30);
        if (++inChunk === CHUNK_DIGITS) {
          w = w * 1e8 + chunk;
          chunk = inChunk = 0;
        }
        digits++;
        c = b[++p];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
    } else return false;
    if (c === 0x2e) {
      c = b[++p];
      if (c === undefined || c < 0x30 || c > 0x39) return false;
      const fraction = p;
      if (digits === 0) while (c === 0x30) c = b[++p]; // "0.00012": zeros before the first significant digit only scale
      const significant = p;
      // Four digits per step (SWAR: one load, one check, three multiplies) while they fit the
      // chunk, the bulk of a float's digits; about 1.6 times faster than a digit at a time.
      const last = b.byteLength - 4;
      for (;;) {
        if (inChunk <= 4 && p <= last) {
          const word = this.#view.getUint32(p, true);
          if ((word & 0xf0f0f0f0) === 0x30303030 && ((word + 0x06060606) & 0xf0f0f0f0) === 0x30303030) {
            const d = word - 0x30303030; // bytes d0..d3, the first digit lowest
            const pairs = d * 10 + (d >>> 8); // byte 0: 10·d0 + d1, byte 2: 10·d2 + d3
            chunk = chunk * 10000 + (pairs & 0xff) * 100 + ((pairs >>> 16) & 0xff);
            p += 4;
            inChunk += 4;
            if (inChunk === CHUNK_DIGITS) {
              w = w * 1e8 + chunk;
              chunk = inChunk = 0;
            }
            continue;
          }
        }
        c = b[p];
        if (c === undefined || c < 0x30 || c > 0x39) break;
        chunk = chunk * 10 + (c - 0x30);
        p++;
        if (++inChunk === CHUNK_DIGITS) {
          w = w * 1e8 + chunk;
          chunk = inChunk = 0;
        }
      }
      digits += p - significant;
      q -= p - fraction;
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++p];
      const negativeExponent = c === 0x2d;
      if (c === 0x2d || c === 0x2b) c = b[++p];
      if (c === undefined || c < 0x30 || c > 0x39) return false;
      let e = 0;
      do {
        if (e < 100_000) e = e * 10 + (c - 0x30);
        c = b[++p];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
      q += negativeExponent ? -e : e;
    }
    this.pos = p;
    // Exact while w < 10^15 < 2^53; past that, at most 4 roundings (2 per join) before the scale's one.
    w = w * POW10[inChunk]! + chunk;
    let value: number;
    if (w === 0) value = 0;
    else if (digits > APPROX_DIGITS || q > 22 || q < -22) return false;
    else value = q >= 0 ? w * POW10[q]! : w / POW10[-q]!;
    this.value = negative ? -value : value;
    this.exact = digits <= EXACT_DIGITS;
    return true;
  }

  /** Reads a string of printable ASCII without escapes at pos ('"'); undefined for any other. */
  string(): string | undefined {
    const b = this.bytes;
    const start = this.pos + 1;
    let p = start;
    let c = b[p];
    while (c !== undefined && c !== 0x22 && c !== 0x5c && c >= 0x20 && c < 0x7f) c = b[++p];
    if (c !== 0x22) return undefined;
    this.pos = p + 1;
    return internedText(b, start, p) ?? this.#text.toString('latin1', start, p);
  }

  /** Reads `true`, `false` or `null` at pos; FAIL for anything else. */
  literal(): boolean | null | typeof FAIL {
    const b = this.bytes;
    const p = this.pos;
    const c = b[p];
    if (c === 0x74 && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) return this.#took(4, true);
    if (c === 0x66 && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) return this.#took(5, false);
    if (c === 0x6e && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) return this.#took(4, null);
    return FAIL;
  }

  #took<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  /** Any JSON value at pos (after whitespace), as JSON.parse would build it, when every part of it reads exactly. */
  any(depth = 0): unknown {
    const c = this.ws();
    if (c === 0x22) return this.string() ?? FAIL;
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number() && this.exact ? this.value : FAIL;
    if (depth >= DIRECT_MAX_DEPTH) return FAIL;
    if (c === 0x7b) {
      const object: Record<string, unknown> = {};
      const ok = this.object((key) => {
        if (key === '__proto__' || Object.hasOwn(object, key)) return false;
        const v = this.any(depth + 1);
        object[key] = v;
        return v !== FAIL;
      });
      return ok ? object : FAIL;
    }
    if (c === 0x5b) {
      const array: unknown[] = [];
      const ok = this.array(() => {
        const v = this.any(depth + 1);
        array.push(v);
        return v !== FAIL;
      });
      return ok ? array : FAIL;
    }
    return this.literal();
  }

  /**
   * Reads an object at pos ('{', after whitespace): for each member, reads its
   * key and calls field(key) with the cursor before its value, which field
   * reads (false: give up). False when the object is not read to its '}'.
   */
  object(field: (key: string) => boolean): boolean {
    if (this.ws() !== 0x7b) return false;
    this.pos++;
    if (this.ws() === 0x7d) return this.#took(1, true);
    for (;;) {
      if (this.ws() !== 0x22) return false;
      const key = this.string();
      if (key === undefined || this.ws() !== 0x3a) return false;
      this.pos++;
      if (!field(key)) return false;
      const c = this.ws();
      this.pos++;
      if (c === 0x7d) return true;
      if (c !== 0x2c) return false;
    }
  }

  /** Reads an array at pos ('[', after whitespace), calling item() with the cursor before each item, which item reads. */
  array(item: () => boolean): boolean {
    if (this.ws() !== 0x5b) return false;
    this.pos++;
    if (this.ws() === 0x5d) return this.#took(1, true);
    for (;;) {
      if (!item()) return false;
      const c = this.ws();
      this.pos++;
      if (c === 0x5d) return true;
      if (c !== 0x2c) return false;
    }
  }
}

/**
 * The protocol's keys and datatype names, which nearly every request repeats: found by their bytes and handed out
 * as the same strings, rather than a new string from the body each time.
 */
const INTERNED: ReadonlyArray<{ text: string; bytes: Uint8Array }> = [
  ...['id', 'inputs', 'outputs', 'name', 'datatype', 'shape', 'data', 'parameters', 'binary_data', 'binary_data_output'],
  ...['FP32', 'FP16', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL', 'BYTES'],
].map((text) => ({ text, bytes: Buffer.from(text, 'latin1') }));
const LONGEST_INTERNED = Math.max(...INTERNED.map((i) => i.bytes.byteLength));

function internedText(b: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length > LONGEST_INTERNED) return undefined;
  for (const { text, bytes } of INTERNED) {
    if (bytes.byteLength !== length || bytes[0] !== b[start]) continue;
    let i = 1;
    while (i < length && bytes[i] === b[start + i]) i++;
    if (i === length) return text;
  }
  return undefined;
}
