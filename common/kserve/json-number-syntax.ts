// JSON's number grammar over bytes, for the resumable syntax checker
// (json-syntax.ts):
//
//   -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
//
// NumberSyntax walks it one byte class at a time and can stop anywhere (a
// slice may end inside a number); numberEnd reads a whole number at once,
// the fast path for runs of numbers in tensor data.

import type { InfergateError } from '../errors.ts';

const N_MINUS = 0;
const N_ZERO = 1; // accepting
const N_INT = 2; // accepting
const N_POINT = 3;
const N_FRACTION = 4; // accepting
const N_E = 5;
const N_E_SIGN = 6;
const N_EXPONENT = 7; // accepting

/** Where a number is in its grammar, resumable across slices. */
export class NumberSyntax {
  #state = N_MINUS;

  /** A number begins with `first` (a '-' or a digit, already consumed). */
  begin(first: number): void {
    this.#state = first === 0x2d ? N_MINUS : first === 0x30 ? N_ZERO : N_INT;
  }

  /** Whether the bytes read so far are a whole number. */
  get complete(): boolean {
    const s = this.#state;
    return s === N_ZERO || s === N_INT || s === N_FRACTION || s === N_EXPONENT;
  }

  /**
   * Reads from `p` while the bytes continue the number, up to `limit`; returns
   * where it stopped (the first byte that is not part of it, or `limit`).
   * Throws `unexpected(p, what was expected)` at a byte that breaks the grammar.
   */
  advance(b: Uint8Array, p: number, limit: number, unexpected: (p: number, expected: string) => InfergateError): number {
    let s = this.#state;
    while (p < limit) {
      const c = b[p]!;
      const digit = c >= 0x30 && c <= 0x39;
      if (s === N_INT || s === N_FRACTION || s === N_EXPONENT) {
        if (digit) {
          p++;
          continue;
        }
        if (s === N_EXPONENT) break;
        if (c === 0x2e && s === N_INT) s = N_POINT;
        else if (c === 0x65 || c === 0x45) s = N_E;
        else break;
      } else if (s === N_ZERO) {
        if (c === 0x2e) s = N_POINT;
        else if (c === 0x65 || c === 0x45) s = N_E;
        else break;
      } else if (s === N_MINUS) {
        if (!digit) throw unexpected(p, 'a digit after "-"');
        s = c === 0x30 ? N_ZERO : N_INT;
      } else if (s === N_POINT) {
        if (!digit) throw unexpected(p, "a digit after '.'");
        s = N_FRACTION;
      } else if (s === N_E) {
        if (c === 0x2b || c === 0x2d) s = N_E_SIGN;
        else if (digit) s = N_EXPONENT;
        else throw unexpected(p, 'an exponent');
      } else {
        // N_E_SIGN
        if (!digit) throw unexpected(p, 'a digit in the exponent');
        s = N_EXPONENT;
      }
      p++;
    }
    this.#state = s;
    return p;
  }
}

/**
 * The end of the well-formed number starting at p (a '-' or a digit), when
 * it ends before `limit`; -1 when it is malformed or may go on past `limit`.
 */
export function numberEnd(b: Uint8Array, p: number, limit: number): number {
  if (b[p] === 0x2d) p++;
  if (p >= limit) return -1;
  let c = b[p]!;
  if (c === 0x30) p++;
  else if (c >= 0x31 && c <= 0x39) while (++p < limit && b[p]! >= 0x30 && b[p]! <= 0x39);
  else return -1;
  if (p >= limit) return -1;
  c = b[p]!;
  if (c === 0x2e) {
    const digits = ++p;
    while (p < limit && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    if (p === digits || p >= limit) return -1;
    c = b[p]!;
  }
  if (c === 0x65 || c === 0x45) {
    if (++p < limit && (b[p] === 0x2b || b[p] === 0x2d)) p++;
    const digits = p;
    while (p < limit && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    if (p === digits || p >= limit) return -1;
  }
  return p;
}
