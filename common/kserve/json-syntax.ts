// A resumable JSON syntax checker over UTF-8 bytes: accepts exactly the texts
// JSON.parse accepts (RFC 8259: no comments, no trailing commas, no leading
// zeros, only " \t \n \r as whitespace), without building a single value.
// step(n) reads about n more bytes and can stop anywhere, inside a string or a
// number too, so a 64 MB body is checked in slices of a few milliseconds.
//
// It is a table-free state machine: `#state` says what may come next, the
// container stack is one bit per level (container-stack.ts: a hostile "[[[[…"
// of 64 MB costs 8 MB of bits, not a call stack), and numbers follow their
// own resumable grammar (json-number-syntax.ts). Hooks report
// keys and value spans for the first `hookDepth` levels only (the request
// envelope); deeper levels (tensor data) run the bare loops, and a run of
// numbers there ("1.5,2,-3e4,…") takes a fast path that checks one number
// after another without a turn of the state machine per token (several times
// faster on a large body of floats: docs/performance.md, "Syntax check of
// number runs").
//
// Byte validity of UTF-8 inside strings is checked apart (request-envelope.ts,
// with buffer.isUtf8); here any byte ≥ 0x80 is accepted inside a string and
// refused outside one.

import { InfergateError } from '../errors.ts';
import { ContainerStack } from './container-stack.ts';
import { NumberSyntax, numberEnd } from './json-number-syntax.ts';
import { QUOTE, BACKSLASH } from './json-bytes.ts';

export type JsonSyntaxHooks = {
  /** A value begins at `pos`, `depth` containers deep (0: the root value); `byte` is its first byte. */
  valueStart(depth: number, pos: number, byte: number): void;
  /** The value that began last at this depth ends before `end`. */
  valueEnd(depth: number, end: number): void;
  /** An object key spans [start, end), quotes included; `escaped` when it holds a backslash. */
  key(depth: number, start: number, end: number, escaped: boolean): void;
};

// What may come next.
const VALUE = 0; // a value (the root, after ':' or after ',' in an array)
const VALUE_OR_CLOSE = 1; // after '['
const KEY_OR_CLOSE = 2; // after '{'
const KEY = 3; // after ',' in an object
const COLON = 4;
const AFTER_VALUE = 5; // ',' or the container's close
const STRING = 6;
const NUMBER = 7;
const DONE = 8; // the root value is complete: whitespace only

export class JsonSyntaxScanner {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  readonly #hooks: JsonSyntaxHooks;
  readonly #hookDepth: number;
  #pos: number;
  #state = VALUE;
  readonly #containers = new ContainerStack();
  readonly #number = new NumberSyntax();
  readonly #unexpectedAt = (p: number, expected: string): InfergateError => this.#unexpected(p, expected);
  #stringIsKey = false;
  #stringStart = 0;
  #stringEscaped = false;

  constructor(bytes: Uint8Array, start: number, end: number, hooks: JsonSyntaxHooks, hookDepth: number) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    this.#hooks = hooks;
    this.#hookDepth = hookDepth;
  }

  /** Reads about `maxBytes` more; true once the whole text was read and is one valid JSON value. */
  step(maxBytes: number): boolean {
    const b = this.#bytes;
    const end = this.#end;
    const limit = Math.min(end, this.#pos + maxBytes);
    let p = this.#pos;
    scan: while (p < limit) {
      const state = this.#state;
      if (state === STRING) {
        let c = 0;
        while (p < limit) {
          c = b[p]!;
          if (c === QUOTE || c === BACKSLASH || c < 0x20) break;
          p++;
        }
        if (p === limit) break;
        if (c === QUOTE) {
          p++;
          if (this.#stringIsKey) {
            if (this.#containers.depth <= this.#hookDepth) this.#hooks.key(this.#containers.depth, this.#stringStart, p, this.#stringEscaped);
            this.#state = COLON;
          } else this.#valueEnded(p);
        } else if (c === BACKSLASH) {
          p = this.#escape(p);
          this.#stringEscaped = true;
        } else throw this.#unexpected(p, 'a control character inside a string');
        continue;
      }
      if (state === NUMBER) {
        p = this.#numberBytes(p, limit);
        continue;
      }
      const c = b[p]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        p++;
        continue;
      }
      switch (state) {
        case VALUE_OR_CLOSE:
          if (c === 0x5d) {
            p = this.#close(p, false);
            continue scan;
          }
        // falls through: any other byte starts a value
        case VALUE:
          p = this.#value(p, c);
          continue scan;
        case KEY_OR_CLOSE:
          if (c === 0x7d) {
            p = this.#close(p, true);
            continue scan;
          }
        // falls through
        case KEY:
          if (c !== QUOTE) throw this.#unexpected(p, 'a key (a string)');
          this.#string(p, true);
          p++;
          continue scan;
        case COLON:
          if (c !== 0x3a) throw this.#unexpected(p, "':' after a key");
          this.#state = VALUE;
          p++;
          continue scan;
        case AFTER_VALUE:
          if (c === 0x2c && this.#containers.inObject) {
            this.#state = KEY;
            p++;
          } else if (c === 0x2c) {
            if (this.#containers.depth > this.#hookDepth) p = this.#numberRun(p, limit);
            else {
              this.#state = VALUE;
              p++;
            }
          } else if (c === 0x5d || c === 0x7d) p = this.#close(p, c === 0x7d);
          else throw this.#unexpected(p, this.#containers.inObject ? "',' or '}'" : "',' or ']'");
          continue scan;
        default: // DONE
          throw this.#unexpected(p, 'nothing after the JSON value');
      }
    }
    this.#pos = p;
    if (p < end) return false;
    if (this.#state === NUMBER) this.#numberBytes(p, end); // a root number ends with the text
    if (this.#state !== DONE) throw malformed(`Unexpected end of JSON input (byte ${end})`);
    return true;
  }

  #value(p: number, c: number): number {
    const depth = this.#containers.depth;
    if (depth <= this.#hookDepth) this.#hooks.valueStart(depth, p, c);
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        this.#containers.push(c === 0x7b);
        this.#state = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
        return p + 1;
      case QUOTE:
        this.#string(p, false);
        return p + 1;
      case 0x74: // true
        return this.#literal(p, 'true');
      case 0x66: // false
        return this.#literal(p, 'false');
      case 0x6e: // null
        return this.#literal(p, 'null');
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.#state = NUMBER;
      this.#number.begin(c);
      return p + 1;
    }
    throw this.#unexpected(p, 'a value');
  }

  /**
   * Fast path for tensor data: from the ',' at `comma` in an array below the
   * hook depth, reads "n,n,…" while each element is a number ending before
   * `limit`. Anything else goes back to the state machine, as VALUE at its
   * first byte, which then reports the error or resumes the cut token.
   * Returns where the state machine goes on.
   */
  #numberRun(comma: number, limit: number): number {
    const b = this.#bytes;
    let p = comma + 1;
    for (;;) {
      let q = p;
      while (q < limit && (b[q] === 0x20 || b[q] === 0x0a || b[q] === 0x0d || b[q] === 0x09)) q++;
      const end = q < limit ? numberEnd(b, q, limit) : -1;
      if (end < 0) {
        this.#state = VALUE;
        return q;
      }
      if (b[end] !== 0x2c) {
        this.#state = AFTER_VALUE;
        return end;
      }
      p = end + 1;
    }
  }

  #string(p: number, isKey: boolean): void {
    this.#state = STRING;
    this.#stringIsKey = isKey;
    this.#stringStart = p;
    this.#stringEscaped = false;
  }

  /** Checks the escape at `p` (a backslash); returns the position after it. Escapes are read whole, past `limit` if need be. */
  #escape(p: number): number {
    const b = this.#bytes;
    if (p + 1 >= this.#end) throw malformed(`Unexpected end of JSON input (byte ${this.#end})`);
    const e = b[p + 1]!;
    // " \ / b f n r t
    if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) return p + 2;
    if (e !== 0x75) throw this.#unexpected(p + 1, 'an escape (one of "\\/bfnrtu)');
    for (let k = p + 2; k < p + 6; k++) {
      if (k >= this.#end) throw malformed(`Unexpected end of JSON input (byte ${this.#end})`);
      const h = b[k]! | 0x20; // lower-cases letters
      if (!((h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66))) throw this.#unexpected(k, 'a hex digit in a \\u escape');
    }
    return p + 6;
  }

  #literal(p: number, word: string): number {
    for (let k = 1; k < word.length; k++) {
      if (p + k >= this.#end) throw malformed(`Unexpected end of JSON input (byte ${this.#end})`);
      if (this.#bytes[p + k] !== word.charCodeAt(k)) throw this.#unexpected(p + k, `"${word}"`);
    }
    this.#valueEnded(p + word.length);
    return p + word.length;
  }

  /** Reads a number's bytes (json-number-syntax.ts); it ends here unless the step's limit cut it. */
  #numberBytes(p: number, limit: number): number {
    p = this.#number.advance(this.#bytes, p, limit, this.#unexpectedAt);
    if (p === limit && limit < this.#end) return p; // more digits may follow in the next step
    if (this.#number.complete) this.#valueEnded(p);
    else if (p < this.#end) throw this.#unexpected(p, 'the rest of a number');
    else throw malformed(`Unexpected end of JSON input (byte ${this.#end})`);
    return p;
  }

  #close(p: number, isObject: boolean): number {
    if (this.#containers.depth === 0 || this.#containers.inObject !== isObject) throw this.#unexpected(p, 'a value');
    this.#containers.pop();
    this.#valueEnded(p + 1);
    return p + 1;
  }

  #valueEnded(end: number): void {
    const depth = this.#containers.depth;
    if (depth <= this.#hookDepth) this.#hooks.valueEnd(depth, end);
    this.#state = depth === 0 ? DONE : AFTER_VALUE;
  }

  #unexpected(p: number, expected: string): InfergateError {
    const c = this.#bytes[p]!;
    const token = c >= 0x21 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    return malformed(`Unexpected token ${token} at byte ${p}; expected ${expected}`);
  }
}

function malformed(detail: string): InfergateError {
  return new InfergateError('GW_ERR_MALFORMED_JSON', detail);
}
