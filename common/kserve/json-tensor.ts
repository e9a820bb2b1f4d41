// JSON tensor values → raw little-endian tensor bytes (Tensor.data of
// common/wire.ts), for every KServe datatype: the value policy of requests.
//
//   leaves (JS values, row-major) ──sink.put(values, at)──▶ one typed array ──▶ bytes
//
// A sink is allocated once per tensor, from a shape whose element count was
// checked against the limits and the data actually sent (data-nesting.ts),
// and takes the leaves in one call (decodeInferRequest) or chunk by chunk
// with global element indexes (the sliced decoder, data-span.ts), so both
// paths share every value rule and every message.
//
// Value policy (strict: a model never sees a value the client did not write):
// - BOOL takes JSON true/false only. 0/1 are rejected, as in the protocol and
//   Triton: accepting numbers invites 2 or 0.5, whose meaning is a guess.
// - Integer types take JSON numbers that are integers within the type's range.
//   INT64/UINT64 also take decimal strings ("9007199254740993"), the only exact
//   form beyond 2^53; an unsafe integer *number* is rejected because JSON.parse
//   already rounded it (9007199254740993 arrives as …992).
// - FP16/FP32/FP64 take JSON numbers, rounded to nearest (the typed array
//   rounds), and the strings "NaN", "Infinity", "-Infinity": NaN and ±Infinity
//   are valid float values (binary tensors carry them as IEEE bits) and JSON
//   has no token for them, so they travel as these exact strings, in requests
//   and in answers (render-tensor.ts). A number *literal* that overflows the
//   type (1e39 → FP32, 70000 → FP16, 1e400 → any) is rejected rather than
//   silently turned into Infinity; null is not read as NaN.
// - BYTES takes JSON strings, stored UTF-8 as u32 LE length + bytes.

import type { KServeDatatype } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import { jsonDataLeaves } from './data-nesting.ts';
import { describe } from './describe.ts';

export { describe };

// Typed arrays use the host's byte order and the wire is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('infergate needs a little-endian host (typed arrays are read as the wire bytes)');
}

/** Receives a tensor's leaves in row-major order and owns its bytes. */
export type ElementSink = {
  /** Stores `values` as elements at, at+1, …; throws GW_ERR_INVALID_DATA naming the (global) element index. */
  put(values: ArrayLike<unknown>, at: number): void;
  /** The tensor's raw bytes, once every element was put. */
  bytes(): Uint8Array;
};

/** Flat JSON values → the raw bytes of a `datatype` tensor (GW_ERR_INVALID_DATA names input and element). */
export function jsonElementsToBytes(name: string, datatype: KServeDatatype, values: readonly unknown[]): Uint8Array {
  let capacity = 4 * values.length;
  if (datatype === 'BYTES') for (const v of values) if (typeof v === 'string') capacity += Buffer.byteLength(v, 'utf8');
  const sink = elementSink(name, datatype, values.length, capacity);
  sink.put(values, 0);
  return sink.bytes();
}

/** `data` (flat or nested exactly as `shape`) → raw bytes: the nesting rule, then the value rules. */
export function jsonToTensorData(name: string, datatype: KServeDatatype, shape: readonly number[], data: unknown): Uint8Array {
  return jsonElementsToBytes(name, datatype, jsonDataLeaves(name, shape, data));
}

/**
 * A sink for `count` elements. `bytesCapacity` bounds a BYTES tensor's size
 * (4 bytes per element plus the UTF-8 of its strings); other types ignore it.
 */
export function elementSink(name: string, datatype: KServeDatatype, count: number, bytesCapacity = 0): ElementSink {
  switch (datatype) {
    case 'FP32': return floatSink(name, datatype, new Float32Array(count));
    case 'FP64': return floatSink(name, datatype, new Float64Array(count));
    case 'FP16': return floatSink(name, datatype, new Float16Array(count));
    case 'INT8': return integerSink(name, datatype, new Int8Array(count), -0x80, 0x7f);
    case 'INT16': return integerSink(name, datatype, new Int16Array(count), -0x8000, 0x7fff);
    case 'INT32': return integerSink(name, datatype, new Int32Array(count), -0x80000000, 0x7fffffff);
    case 'UINT8': return integerSink(name, datatype, new Uint8Array(count), 0, 0xff);
    case 'UINT16': return integerSink(name, datatype, new Uint16Array(count), 0, 0xffff);
    case 'UINT32': return integerSink(name, datatype, new Uint32Array(count), 0, 0xffffffff);
    case 'INT64': return sink64(name, datatype, count, INT64_RANGE);
    case 'UINT64': return sink64(name, datatype, count, UINT64_RANGE);
    case 'BOOL': return boolSink(name, count);
    case 'BYTES': return new BytesSink(name, bytesCapacity);
  }
}

type NumberArray = { [index: number]: number; readonly length: number; readonly buffer: ArrayBufferLike; readonly byteOffset: number; readonly byteLength: number; set(values: ArrayLike<number>, at: number): void };

/** The strings that stand for the float values JSON has no token for. */
const NON_FINITE = '"NaN"/"Infinity"/"-Infinity"';

function floatSink(name: string, datatype: KServeDatatype, out: NumberArray): ElementSink {
  const overflow = (j: number, v: number): InfergateError => {
    const beyond = Number.isFinite(v) ? `${describe(v)}, beyond ${datatype} range` : describe(v);
    return new InfergateError('GW_ERR_INVALID_DATA', `input "${name}" element ${j} is ${beyond}; ${datatype} needs a finite number within ${datatype} range, or ${NON_FINITE}`);
  };
  const put = (values: ArrayLike<unknown>, at: number): void => {
    if (values instanceof Float64Array) {
      // Fast path for numbers read by json-numbers.ts: the typed array converts them natively.
      out.set(values, at);
      for (let j = at; j < at + values.length; j++) {
        const stored = out[j]!;
        if (stored - stored !== 0) throw overflow(j, values[j - at]!);
      }
      return;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const j = at + i;
      if (typeof v === 'number') {
        out[j] = v; // the typed array rounds to its precision
        const stored = out[j]!;
        if (stored - stored !== 0) throw overflow(j, v);
      } else if (v === 'NaN') out[j] = Number.NaN;
      else if (v === 'Infinity') out[j] = Number.POSITIVE_INFINITY;
      else if (v === '-Infinity') out[j] = Number.NEGATIVE_INFINITY;
      else throw invalid(name, datatype, j, v, `a JSON number, or ${NON_FINITE}`);
    }
  };
  return { put, bytes: () => bytesOf(out) };
}

function integerSink(name: string, datatype: KServeDatatype, out: NumberArray, min: number, max: number): ElementSink {
  const put = (values: ArrayLike<unknown>, at: number): void => {
    if (values instanceof Float64Array) {
      // Fast path for numbers read by json-numbers.ts: check them all, then one native copy.
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (!Number.isInteger(v) || v < min || v > max) throw invalid(name, datatype, at + i, v, `an integer in [${min}, ${max}]`);
      }
      out.set(values, at);
      return;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw invalid(name, datatype, at + i, v, `an integer in [${min}, ${max}]`);
      }
      out[at + i] = v;
    }
  };
  return { put, bytes: () => bytesOf(out) };
}

type Range64 = { min: bigint; max: bigint; signed: boolean };
const INT64_RANGE: Range64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n, signed: true };
const UINT64_RANGE: Range64 = { min: 0n, max: 2n ** 64n - 1n, signed: false };
const DECIMAL = /^-?\d{1,20}$/;
const TWO_POW_32 = 2 ** 32;

// Numbers are written as two u32 words (no BigInt per element); only decimal
// strings, already an allocation of the client's, go through BigInt.
function sink64(name: string, datatype: KServeDatatype, count: number, range: Range64): ElementSink {
  const words = new Uint32Array(count * 2);
  let wide: BigInt64Array | BigUint64Array | null = null;
  const put = (values: ArrayLike<unknown>, at: number): void => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const j = at + i;
      if (typeof v === 'number' && Number.isSafeInteger(v) && (range.signed || v >= 0)) {
        words[2 * j] = v >>> 0; // ToUint32: the low word, two's complement for negatives
        words[2 * j + 1] = Math.floor(v / TWO_POW_32); // stored through ToUint32 as well
      } else {
        const exact = typeof v === 'string' && DECIMAL.test(v) ? BigInt(v) : null;
        if (exact === null || exact < range.min || exact > range.max) {
          throw invalid(name, datatype, j, v, `an integer in [${range.min}, ${range.max}]: a JSON number up to ±(2^53-1) or a decimal string`);
        }
        wide ??= range.signed ? new BigInt64Array(words.buffer) : new BigUint64Array(words.buffer);
        wide[j] = exact;
      }
    }
  };
  return { put, bytes: () => new Uint8Array(words.buffer) };
}

function boolSink(name: string, count: number): ElementSink {
  const out = new Uint8Array(count);
  const put = (values: ArrayLike<unknown>, at: number): void => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === true) out[at + i] = 1;
      else if (v !== false) throw invalid(name, 'BOOL', at + i, v, 'true or false');
    }
  };
  return { put, bytes: () => out };
}

/**
 * BYTES elements appended in order into one buffer of a known capacity.
 * A long string can also be written by the caller straight into `buffer`
 * between beginElement() and endElement() (data-span.ts unescapes it there).
 */
export class BytesSink implements ElementSink {
  readonly #name: string;
  readonly buffer: Buffer;
  /** Bytes written so far. */
  offset = 0;
  #count = 0;
  #lengthAt = -1;

  constructor(name: string, capacity: number) {
    this.#name = name;
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  put(values: ArrayLike<unknown>, at: number): void {
    this.#expect(at);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'string') throw invalid(this.#name, 'BYTES', at + i, v, 'a JSON string');
      const room = this.buffer.byteLength - this.offset - 4;
      const length = this.buffer.write(v, this.offset + 4, 'utf8');
      if (length === room && Buffer.byteLength(v, 'utf8') > room) throw this.#overflow();
      this.buffer.writeUInt32LE(length, this.offset);
      this.offset += 4 + length;
      this.#count++;
    }
  }

  beginElement(at: number): void {
    this.#expect(at);
    if (this.offset + 4 > this.buffer.byteLength) throw this.#overflow();
    this.#lengthAt = this.offset;
    this.offset += 4;
  }

  endElement(): void {
    this.buffer.writeUInt32LE(this.offset - this.#lengthAt - 4, this.#lengthAt);
    this.#count++;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.offset);
  }

  #expect(at: number): void {
    if (at !== this.#count) throw new InfergateError('GW_ERR_INTERNAL', `BYTES input "${this.#name}" got element ${at} after ${this.#count} elements`);
  }

  #overflow(): InfergateError {
    return new InfergateError('GW_ERR_INTERNAL', `BYTES input "${this.#name}" outgrew its ${this.buffer.byteLength} bytes`);
  }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function invalid(name: string, datatype: string, index: number, value: unknown, expected: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_DATA', `input "${name}" element ${index} is ${describe(value)}; ${datatype} needs ${expected}`);
}
