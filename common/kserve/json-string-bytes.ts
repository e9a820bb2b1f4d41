// A JSON string's content (the bytes between its quotes, escapes and all)
// → the UTF-8 bytes Buffer.write(JSON.parse(string), 'utf8') would store,
// written in steps straight into a tensor buffer. Used for BYTES elements too
// long to JSON.parse in one slice (data-span.ts); short ones take that path.
//
// Equivalence with JSON.parse + Buffer.write, case by case:
//   raw bytes       valid UTF-8 (checked beforehand) → decoded and re-encoded unchanged: copied
//   \" \\ \/ \b \f \n \r \t                         → one byte
//   \uXXXX          → UTF-8 of U+XXXX (1–3 bytes)
//   \uD8xx\uDCxx    → a surrogate pair: UTF-8 of the astral code point (4 bytes)
//   lone surrogate  → Buffer.write stores U+FFFD (EF BF BD)

import { BACKSLASH } from './json-bytes.ts';

const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

export class JsonStringWriter {
  readonly #json: Uint8Array;
  readonly #end: number;
  readonly #out: Uint8Array;
  #pos: number;
  /** Next byte of `out` to write. */
  offset: number;

  /** Content json[start, end) (quotes excluded), written to out from `offset` on. */
  constructor(json: Uint8Array, start: number, end: number, out: Uint8Array, offset: number) {
    this.#json = json;
    this.#pos = start;
    this.#end = end;
    this.#out = out;
    this.offset = offset;
  }

  /** Writes about `maxBytes` more of the content; true when all of it is written. */
  step(maxBytes: number): boolean {
    const json = this.#json;
    const out = this.#out;
    const limit = Math.min(this.#end, this.#pos + maxBytes);
    let p = this.#pos;
    let o = this.offset;
    while (p < limit) {
      const run = json.subarray(p, limit).indexOf(BACKSLASH);
      const stop = run === -1 ? limit : p + run;
      out.set(json.subarray(p, stop), o);
      o += stop - p;
      p = stop;
      if (p === limit) break;
      // An escape is read whole even when it straddles `limit`.
      const e = json[p + 1]!;
      if (e !== 0x75) {
        out[o++] = SIMPLE_ESCAPES[e]!;
        p += 2;
        continue;
      }
      let unit = hex4(json, p + 2);
      p += 6;
      if (unit >= 0xd800 && unit <= 0xdbff && p + 6 <= this.#end && json[p] === BACKSLASH && json[p + 1] === 0x75) {
        const low = hex4(json, p + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
          out[o++] = 0xf0 | (codePoint >> 18);
          out[o++] = 0x80 | ((codePoint >> 12) & 0x3f);
          out[o++] = 0x80 | ((codePoint >> 6) & 0x3f);
          out[o++] = 0x80 | (codePoint & 0x3f);
          p += 6;
          continue;
        }
      }
      if (unit >= 0xd800 && unit <= 0xdfff) unit = 0xfffd;
      if (unit < 0x80) out[o++] = unit;
      else if (unit < 0x800) {
        out[o++] = 0xc0 | (unit >> 6);
        out[o++] = 0x80 | (unit & 0x3f);
      } else {
        out[o++] = 0xe0 | (unit >> 12);
        out[o++] = 0x80 | ((unit >> 6) & 0x3f);
        out[o++] = 0x80 | (unit & 0x3f);
      }
    }
    this.#pos = p;
    this.offset = o;
    return p >= this.#end;
  }
}

/** Four hex digits at json[at…] (already checked by the syntax pass). */
function hex4(json: Uint8Array, at: number): number {
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const h = json[k]! | 0x20; // lower-cases letters
    value = (value << 4) | (h <= 0x39 ? h - 0x30 : h - 0x57);
  }
  return value;
}
