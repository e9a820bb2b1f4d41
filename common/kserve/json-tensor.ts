// JSON tensor `data` ↔ raw little-endian tensor bytes (Tensor.data of
// common/wire.ts), for every KServe datatype.
//
//   request:  JSON.parse'd data ──flatten──▶ leaves ──count = Π shape?──▶ one typed array ──▶ bytes
//   response: bytes ──typed view──▶ one plain array ──JSON.stringify──▶ "[…]" text fragment
//
// Decoding allocates once per tensor, after the element count was checked
// against the data actually sent, so a small body with a huge `shape` cannot
// make us allocate more than its own data. Nesting is walked with an explicit
// stack (no recursion) and capped at MAX_DATA_DEPTH levels.
//
// Value policy (strict: a model never sees a value the client did not write):
// - BOOL takes JSON true/false only. 0/1 are rejected, as in the protocol and
//   Triton: accepting numbers invites 2 or 0.5, whose meaning is a guess.
// - Integer types take JSON numbers that are integers within the type's range.
//   INT64/UINT64 also take decimal strings ("9007199254740993"), the only exact
//   form beyond 2^53; an unsafe integer *number* is rejected because JSON.parse
//   already rounded it (9007199254740993 arrives as …992).
// - FP16/FP32/FP64 take finite JSON numbers, rounded to nearest (Math.fround /
//   Math.f16round). A number that overflows the type (1e39 → FP32, 70000 →
//   FP16, 1e400 → FP64) is rejected rather than turned into Infinity; null is
//   not read as NaN.
// - BYTES takes JSON strings, stored UTF-8 as u32 LE length + bytes.
// Response side: NaN and ±Infinity are written as null (JSON has no token for
// them; lossy and one-way), -0 as 0, INT64/UINT64 as exact decimal digits,
// BYTES as strings decoded from UTF-8 (invalid sequences become U+FFFD).

import { datatypeByKServe, elementCount, type KServeDatatype } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import type { Tensor } from '../wire.ts';

/** Deepest array nesting accepted in `data` (far above any tensor rank served in practice). */
export const MAX_DATA_DEPTH = 32;

// Typed arrays use the host's byte order and the wire is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('infergate needs a little-endian host (typed arrays are read as the wire bytes)');
}

/**
 * The leaves of `data` in row-major order: `data` itself when it is already
 * flat, else one new array. Throws GW_ERR_INVALID_REQUEST when `data` is not an
 * array or is nested deeper than MAX_DATA_DEPTH.
 */
export function flattenJsonData(name: string, data: unknown): readonly unknown[] {
  if (!Array.isArray(data)) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `input "${name}": "data" must be an array, not ${describe(data)}`);
  }
  let flat = true;
  for (let i = 0; i < data.length; i++) {
    if (Array.isArray(data[i])) {
      flat = false;
      break;
    }
  }
  if (flat) return data;
  const leaves = new Array<unknown>(walk(name, data, null));
  walk(name, data, leaves);
  return leaves;
}

// Iterative depth-first walk: `arrays`/`positions` are the explicit stack.
// Counts the leaves, and stores them into `out` when given.
function walk(name: string, root: readonly unknown[], out: unknown[] | null): number {
  const arrays: (readonly unknown[])[] = [root];
  const positions: number[] = [0];
  let depth = 0;
  let count = 0;
  while (depth >= 0) {
    const array = arrays[depth]!;
    let i = positions[depth]!;
    let item: unknown;
    for (; i < array.length; i++) {
      item = array[i];
      if (Array.isArray(item)) break;
      if (out) out[count] = item;
      count++;
    }
    if (i === array.length) {
      depth--;
      continue;
    }
    positions[depth] = i + 1;
    if (++depth === MAX_DATA_DEPTH) {
      throw new InfergateError('GW_ERR_INVALID_REQUEST', `input "${name}": "data" is nested deeper than ${MAX_DATA_DEPTH} levels`);
    }
    arrays[depth] = item as readonly unknown[];
    positions[depth] = 0;
  }
  return count;
}

/**
 * Flat JSON values → the raw bytes of a `datatype` tensor. Throws
 * GW_ERR_INVALID_DATA naming the input and the (row-major) element index.
 */
export function jsonElementsToBytes(name: string, datatype: KServeDatatype, values: readonly unknown[]): Uint8Array {
  const n = values.length;
  switch (datatype) {
    case 'FP32': return bytesOf(fillFloat(name, datatype, values, new Float32Array(n)));
    case 'FP64': return bytesOf(fillFloat(name, datatype, values, new Float64Array(n)));
    case 'FP16': return bytesOf(fillFloat(name, datatype, values, new Float16Array(n)));
    case 'INT8': return bytesOf(fillInteger(name, datatype, values, new Int8Array(n), -0x80, 0x7f));
    case 'INT16': return bytesOf(fillInteger(name, datatype, values, new Int16Array(n), -0x8000, 0x7fff));
    case 'INT32': return bytesOf(fillInteger(name, datatype, values, new Int32Array(n), -0x80000000, 0x7fffffff));
    case 'UINT8': return bytesOf(fillInteger(name, datatype, values, new Uint8Array(n), 0, 0xff));
    case 'UINT16': return bytesOf(fillInteger(name, datatype, values, new Uint16Array(n), 0, 0xffff));
    case 'UINT32': return bytesOf(fillInteger(name, datatype, values, new Uint32Array(n), 0, 0xffffffff));
    case 'INT64': return fill64(name, datatype, values, INT64_RANGE);
    case 'UINT64': return fill64(name, datatype, values, UINT64_RANGE);
    case 'BOOL': return fillBool(name, values);
    case 'BYTES': return fillBytes(name, values);
  }
}

/** `data` (flat or nested) → raw bytes; GW_ERR_ELEMENT_COUNT unless it holds exactly Π shape elements. */
export function jsonToTensorData(name: string, datatype: KServeDatatype, shape: readonly number[], data: unknown): Uint8Array {
  const values = flattenJsonData(name, data);
  checkElementCount(name, shape, values.length);
  return jsonElementsToBytes(name, datatype, values);
}

/** Throws GW_ERR_ELEMENT_COUNT when `count` elements do not fill `shape`. */
export function checkElementCount(name: string, shape: readonly number[], count: number): void {
  const expected = elementCount(shape);
  if (count !== expected) {
    throw new InfergateError('GW_ERR_ELEMENT_COUNT', `input "${name}" has ${count} data elements but shape [${shape.join(',')}] holds ${expected}`);
  }
}

type NumberArray = { [index: number]: number; readonly length: number };

function fillFloat<A extends NumberArray>(name: string, datatype: KServeDatatype, values: readonly unknown[], out: A): A {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') throw invalid(name, datatype, i, v, 'a JSON number');
    out[i] = v; // the typed array rounds to its precision
    const stored = out[i]!;
    if (stored - stored !== 0) throw invalid(name, datatype, i, v, `a finite number within ${datatype} range`);
  }
  return out;
}

function fillInteger<A extends NumberArray>(name: string, datatype: KServeDatatype, values: readonly unknown[], out: A, min: number, max: number): A {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw invalid(name, datatype, i, v, `an integer in [${min}, ${max}]`);
    }
    out[i] = v;
  }
  return out;
}

type Range64 = { min: bigint; max: bigint; signed: boolean };
const INT64_RANGE: Range64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n, signed: true };
const UINT64_RANGE: Range64 = { min: 0n, max: 2n ** 64n - 1n, signed: false };
const DECIMAL = /^-?\d{1,20}$/;
const TWO_POW_32 = 2 ** 32;

// Numbers are written as two u32 words (no BigInt per element); only decimal
// strings, already an allocation of the client's, go through BigInt.
function fill64(name: string, datatype: KServeDatatype, values: readonly unknown[], range: Range64): Uint8Array {
  const words = new Uint32Array(values.length * 2);
  let wide: BigInt64Array | BigUint64Array | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isSafeInteger(v) && (range.signed || v >= 0)) {
      words[2 * i] = v >>> 0; // ToUint32: the low word, two's complement for negatives
      words[2 * i + 1] = Math.floor(v / TWO_POW_32); // stored through ToUint32 as well
    } else {
      const exact = typeof v === 'string' && DECIMAL.test(v) ? BigInt(v) : null;
      if (exact === null || exact < range.min || exact > range.max) {
        throw invalid(name, datatype, i, v, `an integer in [${range.min}, ${range.max}]: a JSON number up to ±(2^53-1) or a decimal string`);
      }
      wide ??= range.signed ? new BigInt64Array(words.buffer) : new BigUint64Array(words.buffer);
      wide[i] = exact;
    }
  }
  return new Uint8Array(words.buffer);
}

function fillBool(name: string, values: readonly unknown[]): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === true) out[i] = 1;
    else if (v !== false) throw invalid(name, 'BOOL', i, v, 'true or false');
  }
  return out;
}

function fillBytes(name: string, values: readonly unknown[]): Uint8Array {
  let total = 4 * values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'string') throw invalid(name, 'BYTES', i, v, 'a JSON string');
    total += Buffer.byteLength(v, 'utf8');
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < values.length; i++) {
    const length = out.write(values[i] as string, offset + 4, 'utf8');
    out.writeUInt32LE(length, offset);
    offset += 4 + length;
  }
  return out;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function invalid(name: string, datatype: string, index: number, value: unknown, expected: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_DATA', `input "${name}" element ${index} is ${describe(value)}; ${datatype} needs ${expected}`);
}

/** A short, safe rendering of a client's value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * A tensor's bytes → its `data` as a flat JSON array text, e.g. "[0.5,null,1]".
 * Throws GW_ERR_INTERNAL when the bytes do not fit the shape (a bad upstream frame).
 */
export function tensorDataToJson(tensor: Tensor): string {
  const { name, datatype, shape, data } = tensor;
  const count = elementCount(shape);
  if (datatype === 'BYTES') return bytesToJson(name, count, data);
  const width = datatypeByKServe(datatype)?.bytesPerElement;
  if (width === undefined) throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has unknown datatype ${describe(datatype)}`);
  if (data.byteLength !== count * width) {
    throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has ${data.byteLength} bytes; ${datatype} [${shape.join(',')}] needs ${count * width}`);
  }
  // A view into a frame may sit at any offset; typed views need alignment.
  const bytes = data.byteOffset % width === 0 ? data : data.slice();
  const { buffer, byteOffset } = bytes;
  switch (datatype) {
    case 'FP32': return numbersToJson(new Float32Array(buffer, byteOffset, count));
    case 'FP64': return numbersToJson(new Float64Array(buffer, byteOffset, count));
    case 'FP16': return numbersToJson(new Float16Array(buffer, byteOffset, count));
    case 'INT8': return numbersToJson(new Int8Array(buffer, byteOffset, count));
    case 'INT16': return numbersToJson(new Int16Array(buffer, byteOffset, count));
    case 'INT32': return numbersToJson(new Int32Array(buffer, byteOffset, count));
    case 'UINT8': return numbersToJson(new Uint8Array(buffer, byteOffset, count));
    case 'UINT16': return numbersToJson(new Uint16Array(buffer, byteOffset, count));
    case 'UINT32': return numbersToJson(new Uint32Array(buffer, byteOffset, count));
    // BigInt's decimal digits are exact; a JSON reader may round them, which is the reader's choice.
    case 'INT64': return `[${new BigInt64Array(buffer, byteOffset, count).join(',')}]`;
    case 'UINT64': return `[${new BigUint64Array(buffer, byteOffset, count).join(',')}]`;
    case 'BOOL': {
      const flags = new Array<boolean>(count);
      for (let i = 0; i < count; i++) flags[i] = bytes[i] !== 0;
      return JSON.stringify(flags);
    }
  }
}

// Fast path (measured in test/gateway/kserve/json-tensor.bench.ts): V8's
// JSON.stringify formats a packed double array in C++ with no string per
// element and writes null for NaN/±Infinity; filling `new Array(n)` in a loop
// skips Array.from's iterator protocol (≈20% faster than stringify(Array.from)).
function numbersToJson(view: NumberArray): string {
  const plain = new Array<number>(view.length);
  for (let i = 0; i < view.length; i++) plain[i] = view[i]!;
  return JSON.stringify(plain);
}

function bytesToJson(name: string, count: number, data: Uint8Array): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const strings = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = offset + 4 <= buf.length ? buf.readUInt32LE(offset) : -1;
    if (length < 0 || offset + 4 + length > buf.length) {
      throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" BYTES element ${i} overruns its ${buf.length} bytes`);
    }
    offset += 4;
    strings[i] = buf.toString('utf8', offset, offset + length);
    offset += length;
  }
  if (offset !== buf.length) {
    throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has ${buf.length - offset} bytes after its ${count} BYTES elements`);
  }
  return JSON.stringify(strings);
}
