// One input's `data`, read from the body bytes straight into its tensor
// (direct-json.ts): no JS array, no JS value per element. The nesting rule is
// data-nesting.ts's own DataNesting, fed the same events as jsonDataLeaves
// feeds it (open at '[', a run of leaves, close at ']'), so the same data is
// accepted; it throws on data that breaks the rule, which the caller takes
// as "not handled".
//
// Values follow json-tensor.ts's policy, but only where the result is
// certain; anything else is refused (false) and the slow path decides:
//
//   FP32/FP16   a number read exactly, stored by the typed array (which rounds), finite;
//               or, with 16–19 significant digits, an approximation a whose
//               narrow rounding is certified: if round(a − m) = round(a + m) for
//               a margin m far above a's error, then the exact double lies in
//               [a − m, a + m] and rounds the same (rounding is monotone).
//               Floats printed from float32 (17 digits) are always certified:
//               they sit half a float32 step from any rounding boundary.
//   FP64        a number read exactly (≤ 15 significant digits), finite
//   INT*/UINT*  a number read exactly that is an integer within range (INT64/UINT64: a safe integer)
//   BOOL        true / false
//   anything else (strings, null, objects, BYTES)  refused

import type { KServeDatatype } from '../datatypes.ts';
import { DataNesting } from './data-nesting.ts';
import type { JsonCursor } from './direct-cursor.ts';
import { readFloat32Run, type RunCursor } from './direct-float32.ts';

/** The tensor being filled: stores element j from a number leaf or a boolean leaf; false when not certain. */
export type TensorTarget = {
  /** Set for FP32: runs of numbers are read into it by readFloat32Run, with no call per element. */
  float32?: Float32Array;
  number(value: number, exact: boolean, j: number): boolean;
  bool(value: boolean, j: number): boolean;
  bytes(): Uint8Array;
};

/** Relative margin of the certified rounding: 2^-46, 2^7 times the approximation's error bound (2^-49.7). */
const MARGIN = 2 ** -46;
const TWO_POW_32 = 2 ** 32;
const never = (): boolean => false;

/** A target for `count` elements of `datatype`; undefined for BYTES (never read directly). */
export function tensorTarget(datatype: KServeDatatype, count: number): TensorTarget | undefined {
  switch (datatype) {
    case 'FP32': return floatTarget(new Float32Array(count), Math.fround);
    case 'FP16': return floatTarget(new Float16Array(count), Math.f16round);
    case 'FP64': return floatTarget(new Float64Array(count), undefined);
    case 'INT8': return integerTarget(new Int8Array(count), -0x80, 0x7f);
    case 'INT16': return integerTarget(new Int16Array(count), -0x8000, 0x7fff);
    case 'INT32': return integerTarget(new Int32Array(count), -0x80000000, 0x7fffffff);
    case 'UINT8': return integerTarget(new Uint8Array(count), 0, 0xff);
    case 'UINT16': return integerTarget(new Uint16Array(count), 0, 0xffff);
    case 'UINT32': return integerTarget(new Uint32Array(count), 0, 0xffffffff);
    case 'INT64': return target64(count, true);
    case 'UINT64': return target64(count, false);
    case 'BOOL': return boolTarget(count);
    case 'BYTES': return undefined;
  }
}

type FloatArray = Float16Array | Float32Array | Float64Array;

function floatTarget(out: FloatArray, round: ((x: number) => number) | undefined): TensorTarget {
  const number = (value: number, exact: boolean, j: number): boolean => {
    if (!exact) {
      if (!round) return false;
      const margin = Math.abs(value) * MARGIN;
      const rounded = round(value);
      if (round(value - margin) !== rounded || round(value + margin) !== rounded) return false;
      value = rounded;
    }
    out[j] = value;
    const stored = out[j]!;
    return stored - stored === 0; // an overflow to ±Infinity is the slow path's error
  };
  const bytes = (): Uint8Array => new Uint8Array(out.buffer, 0, out.byteLength);
  return out instanceof Float32Array ? { float32: out, number, bool: never, bytes } : { number, bool: never, bytes };
}

type IntegerArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

function integerTarget(out: IntegerArray, min: number, max: number): TensorTarget {
  const number = (value: number, exact: boolean, j: number): boolean => {
    if (!exact || !Number.isInteger(value) || value < min || value > max) return false;
    out[j] = value;
    return true;
  };
  return { number, bool: never, bytes: () => new Uint8Array(out.buffer, 0, out.byteLength) };
}

// As json-tensor.ts's sink64 stores a number: two u32 words, no BigInt.
function target64(count: number, signed: boolean): TensorTarget {
  const words = new Uint32Array(count * 2);
  const number = (value: number, exact: boolean, j: number): boolean => {
    if (!exact || !Number.isSafeInteger(value) || (!signed && value < 0)) return false;
    words[2 * j] = value >>> 0;
    words[2 * j + 1] = Math.floor(value / TWO_POW_32);
    return true;
  };
  return { number, bool: never, bytes: () => new Uint8Array(words.buffer) };
}

function boolTarget(count: number): TensorTarget {
  const out = new Uint8Array(count);
  const bool = (value: boolean, j: number): boolean => {
    out[j] = value ? 1 : 0;
    return true;
  };
  return { number: never, bool, bytes: () => out };
}

/**
 * Reads the `data` array at the cursor into `target` (exactly `count`
 * leaves, nested as `shape` allows) and moves the cursor past it. False, or
 * a throw from DataNesting, when the fast path does not handle it.
 */
export function readTensorData(cursor: JsonCursor, name: string, shape: readonly number[], count: number, target: TensorTarget): boolean {
  const b = cursor.bytes;
  let p = cursor.pos;
  if (b[p] !== 0x5b) return false;
  const nesting = new DataNesting(name, shape);
  nesting.open();
  p++;
  let depth = 0;
  let j = 0;
  let run = 0; // leaves since the last bracket, reported to the nesting rule as one run
  let expectValue = true;
  let opened = true; // right after '[': ']' may close an empty array
  const float32 = target.float32;
  const at: RunCursor = { p: 0, j: 0 };
  for (;;) {
    let c = b[p];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
    if (expectValue && !(c === 0x5d && opened)) {
      if (c === 0x5b) {
        if (run > 0) nesting.leaves(run);
        run = 0;
        nesting.open();
        depth++;
        p++;
        opened = true;
        continue;
      }
      if (float32 && (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39))) {
        at.p = p;
        at.j = j;
        if (!readFloat32Run(b, at, float32)) return false;
        run += at.j - j;
        j = at.j;
        p = at.p;
        expectValue = false;
        opened = false;
        continue;
      }
      if (j >= count) return false;
      cursor.pos = p;
      if (c === 0x74 || c === 0x66) {
        const value = cursor.literal();
        if (typeof value !== 'boolean' || !target.bool(value, j)) return false;
      } else if (!cursor.number() || !target.number(cursor.value, cursor.exact, j)) return false;
      p = cursor.pos;
      j++;
      run++;
      expectValue = false;
      opened = false;
      continue;
    }
    if (!expectValue && c === 0x2c) {
      p++;
      expectValue = true;
      continue;
    }
    if (c !== 0x5d) return false;
    if (run > 0) nesting.leaves(run);
    run = 0;
    nesting.close();
    p++;
    if (depth-- === 0) break;
    expectValue = false;
    opened = false;
  }
  nesting.finish();
  cursor.pos = p;
  return j === count;
}
