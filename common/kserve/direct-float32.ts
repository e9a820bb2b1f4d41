// The inner loop of the direct JSON decoder (direct-tensor.ts) for FP32
// inputs, the common case: a run of comma-separated numbers read from the
// body bytes straight into a Float32Array, with no call and no object per
// element: a 512-float body decodes in about 0.7× the time of the
// JSON.parse path (docs/performance.md, "Direct JSON decode").
//
// Every value stored is the one today's path stores: the typed array's
// rounding of the double JSON.parse gives. Two ways to be sure of it:
//
//   exact      ≤ 15 significant digits, |q| ≤ 22: w and 10^|q| are exact
//              doubles and one IEEE operation is correctly rounded (Clinger),
//              so the value is JSON.parse's double itself.
//   certified  16–19 digits: w is accumulated with at most a few roundings,
//              so the value a is within 2^-50 of the decimal (relative). If
//              a − m and a + m (m = |a|·2^-46) round to the same float32 as
//              a, so does every double in between, JSON.parse's included
//              (rounding is monotone). A decimal printed from a float32 (what
//              clients send, 17 digits) is never near a float32 boundary.
//
// Anything else (more digits, |q| > 22, an overflow to ±Infinity, a token
// that is not a JSON number) returns false and the request falls back.

const POW10 = Float64Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const EXACT_DIGITS = 15;
const MAX_DIGITS = 19;
const MARGIN = 2 ** -46;

/** Where a run starts and where it stopped: a byte offset and an element index. */
export type RunCursor = { p: number; j: number };

/**
 * Reads numbers at `at.p` (a number's first byte) into `out` from `at.j`, as
 * long as each is followed by ',' and another number. Stops at the first
 * byte after the last number that is neither (whitespace skipped: ']', or
 * the ',' before a '['), with `at` moved there. False when a number is not
 * one read with certainty, or `out` is full.
 */
export function readFloat32Run(b: Uint8Array, at: RunCursor, out: Float32Array): boolean {
  const end = b.byteLength;
  const count = out.length;
  let p = at.p;
  let j = at.j;
  for (;;) {
    let c = b[p]!;
    let negative = false;
    if (c === 0x2d) {
      negative = true;
      c = b[++p]!;
    }
    let w = 0;
    let digits = 0;
    let q = 0;
    if (c === 0x30) c = b[++p]!;
    else if (c >= 0x31 && c <= 0x39) {
      do {
        w = w * 10 + (c - 0x30);
        digits++;
        c = b[++p]!;
      } while (c >= 0x30 && c <= 0x39);
    } else return false;
    if (c === 0x2e) {
      c = b[++p]!;
      if (!(c >= 0x30 && c <= 0x39)) return false;
      if (digits === 0) {
        // "0.000123": zeros before the first significant digit only scale.
        while (c === 0x30) {
          q--;
          c = b[++p]!;
        }
      }
      // Four digits per step (one check of four bytes, three multiplies): the bulk of a float's digits.
      while (p + 4 <= end) {
        const word = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
        if ((word & 0xf0f0f0f0) >>> 0 !== 0x30303030 || ((word + 0x06060606) & 0xf0f0f0f0) >>> 0 !== 0x30303030) break;
        const d = word - 0x30303030; // byte k holds digit k
        const pairs = d * 10 + (d >>> 8); // byte 0: 10·d0 + d1; byte 2: 10·d2 + d3
        w = w * 10000 + ((pairs & 0xff) * 100 + ((pairs >>> 16) & 0xff));
        digits += 4;
        q -= 4;
        p += 4;
      }
      c = b[p]!;
      while (c >= 0x30 && c <= 0x39) {
        w = w * 10 + (c - 0x30);
        digits++;
        q--;
        c = b[++p]!;
      }
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++p]!;
      const negativeExponent = c === 0x2d;
      if (c === 0x2d || c === 0x2b) c = b[++p]!;
      if (!(c >= 0x30 && c <= 0x39)) return false;
      let e = 0;
      do {
        if (e < 100_000) e = e * 10 + (c - 0x30);
        c = b[++p]!;
      } while (c >= 0x30 && c <= 0x39);
      q += negativeExponent ? -e : e;
    }
    if (j >= count) return false;
    let value: number;
    if (w === 0) value = 0;
    else if (digits > MAX_DIGITS || q > 22 || q < -22) return false;
    else value = q >= 0 ? w * POW10[q]! : w / POW10[-q]!;
    if (negative) value = -value;
    if (digits > EXACT_DIGITS) {
      const rounded = Math.fround(value);
      const margin = Math.abs(value) * MARGIN;
      if (Math.fround(value - margin) !== rounded || Math.fround(value + margin) !== rounded) return false;
    }
    out[j] = value;
    const stored = out[j++]!;
    if (stored - stored !== 0) return false; // beyond FP32: the slow path words the error
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
    if (c !== 0x2c) break;
    let next = p + 1;
    let n = b[next]!;
    while (n === 0x20 || n === 0x0a || n === 0x0d || n === 0x09) n = b[++next]!;
    if (!(n === 0x2d || (n >= 0x30 && n <= 0x39))) break;
    p = next;
  }
  at.p = p;
  at.j = j;
  return true;
}
