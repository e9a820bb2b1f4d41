// Fast path of the sliced decoder's chunk parse (data-span.ts): a run of JSON
// number tokens, separated by commas, brackets and whitespace, read straight
// from the body bytes into doubles, with no copy, no string and no JS array:
// several times faster than copying, decoding and JSON.parse-ing the same
// chunks (docs/performance.md, "Number runs read from the bytes").
//
// Exact by Clinger's fast path (W. D. Clinger, "How to read floating point
// numbers accurately", 1990): a decimal w·10^q with w < 2^53 and |q| ≤ 22 is
// one correctly rounded IEEE multiplication or division of two exact doubles,
// hence the very double JSON.parse yields. Any other token (more than 15
// significant digits, a larger exponent, a string, a literal, an object)
// makes the whole run go back to JSON.parse (-1), so results never differ.

/** 10^0 … 10^22: every one exactly representable as a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_SIGNIFICANT_DIGITS = 15; // 10^15 < 2^53

/**
 * Parses the numbers in json[from, to), which is valid JSON made only of
 * numbers, ',', '[', ']' and whitespace if the fast path applies, into `out`
 * (room for (to - from + 1) / 2 values). Returns how many, or -1 when some
 * token is not a number the fast path reads exactly.
 */
export function parseSimpleNumbers(json: Uint8Array, from: number, to: number, out: Float64Array): number {
  let n = 0;
  let p = from;
  while (p < to) {
    let c = json[p]!;
    if (c === 0x2c || c === 0x5b || c === 0x5d || c <= 0x20) {
      p++;
      continue;
    }
    const negative = c === 0x2d;
    if (negative) c = json[++p]!;
    if (c < 0x30 || c > 0x39) return -1;
    let w = 0;
    let digits = 0;
    let q = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (w !== 0 || c !== 0x30) digits++;
      w = w * 10 + (c - 0x30);
      c = json[++p]!;
    }
    if (c === 0x2e) {
      c = json[++p]!;
      while (c >= 0x30 && c <= 0x39) {
        if (w !== 0 || c !== 0x30) digits++;
        w = w * 10 + (c - 0x30);
        q--;
        c = json[++p]!;
      }
    }
    if (c === 0x65 || c === 0x45) {
      c = json[++p]!;
      const negativeExponent = c === 0x2d;
      if (c === 0x2d || c === 0x2b) c = json[++p]!;
      let e = 0;
      while (c >= 0x30 && c <= 0x39) {
        if (e < 100_000) e = e * 10 + (c - 0x30);
        c = json[++p]!;
      }
      q += negativeExponent ? -e : e;
    }
    if (digits > MAX_SIGNIFICANT_DIGITS) return -1;
    let value: number;
    if (w === 0) value = 0;
    else if (q >= 0 && q <= 22) value = w * POW10[q]!;
    else if (q < 0 && q >= -22) value = w / POW10[-q]!;
    else return -1;
    out[n++] = negative ? -value : value;
  }
  return n;
}
