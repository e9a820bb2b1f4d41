// Tensor bytes → the flat JSON `data` array of an answer, whole or in pieces:
//
//   bytes ──typed view──▶ plain array ──JSON.stringify──▶ "[0.5,1,…]"
//
// tensorDataJsonPieces cuts the same text into pieces of about PIECE_ELEMENTS
// elements (or, for BYTES, PIECE_BYTES of strings; one long string is cut at
// UTF-8 character boundaries), so a 16 M element answer is rendered in steps
// of about a millisecond and never held as one string; the pieces joined are
// exactly tensorDataToJson's text.
//
// Values: NaN and ±Infinity are written as the strings "NaN", "Infinity",
// "-Infinity" (the request side reads them back, json-tensor.ts), -0 as 0,
// INT64/UINT64 as exact decimal digits, BYTES as strings decoded from UTF-8
// (invalid sequences become U+FFFD).

import { datatypeByKServe, elementCount } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import type { Tensor } from '../wire.ts';
import { describe } from './describe.ts';

/** Elements per piece of a numeric tensor: well under a time slice of number formatting (docs/performance.md). */
export const PIECE_ELEMENTS = 4096;
/** String bytes per piece of a BYTES tensor. */
export const PIECE_BYTES = 64 * 1024;

type NumberView = { readonly [index: number]: number; readonly length: number };
type View = NumberView | BigInt64Array | BigUint64Array | Uint8Array;

/**
 * A tensor's bytes → its `data` as one flat JSON array text, e.g. '[0.5,"NaN",1]'.
 * Throws GW_ERR_INTERNAL when the bytes do not fit the shape (a bad upstream frame).
 */
export function tensorDataToJson(tensor: Tensor): string {
  let text = '';
  for (const piece of tensorDataJsonPieces(tensor, Number.POSITIVE_INFINITY)) text += piece;
  return text;
}

/**
 * The same text in pieces of about `pieceElements` elements. BYTES tensors
 * are checked whole before their first piece (yielding '' between steps of
 * the check), so an answer never stops halfway on a bad frame.
 */
export function* tensorDataJsonPieces(tensor: Tensor, pieceElements = PIECE_ELEMENTS): Generator<string> {
  const { name, datatype, shape, data } = tensor;
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    yield* bytesPieces(name, count, data, pieceElements === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : PIECE_BYTES);
    return;
  }
  const view = numericView(tensor, count);
  if (count <= pieceElements) {
    yield rangeJson(view, datatype, 0, count);
    return;
  }
  for (let from = 0; from < count; from += pieceElements) {
    const to = Math.min(count, from + pieceElements);
    const text = rangeJson(view, datatype, from, to);
    yield `${from === 0 ? '[' : ','}${text.slice(1, -1)}${to === count ? ']' : ''}`;
  }
}

/** Throws GW_ERR_INTERNAL when a tensor's bytes do not fit its shape, yielding '' between steps of a BYTES walk. */
export function* checkTensorBytes(tensor: Tensor): Generator<string> {
  const count = elementCount(tensor.shape);
  if (tensor.datatype !== 'BYTES') numericView(tensor, count);
  else yield* bytesLayout(tensor.name, count, tensor.data, false);
}

function numericView(tensor: Tensor, count: number): View {
  const { name, datatype, shape, data } = tensor;
  const width = datatypeByKServe(datatype)?.bytesPerElement;
  if (width === undefined) throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has unknown datatype ${describe(datatype)}`);
  if (data.byteLength !== count * width) {
    throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has ${data.byteLength} bytes; ${datatype} [${shape.join(',')}] needs ${count * width}`);
  }
  // A view into a frame may sit at any offset; typed views need alignment.
  const bytes = data.byteOffset % width === 0 ? data : data.slice();
  const { buffer, byteOffset } = bytes;
  switch (datatype) {
    case 'FP32': return new Float32Array(buffer, byteOffset, count);
    case 'FP64': return new Float64Array(buffer, byteOffset, count);
    case 'FP16': return new Float16Array(buffer, byteOffset, count);
    case 'INT8': return new Int8Array(buffer, byteOffset, count);
    case 'INT16': return new Int16Array(buffer, byteOffset, count);
    case 'INT32': return new Int32Array(buffer, byteOffset, count);
    case 'UINT16': return new Uint16Array(buffer, byteOffset, count);
    case 'UINT32': return new Uint32Array(buffer, byteOffset, count);
    case 'INT64': return new BigInt64Array(buffer, byteOffset, count);
    case 'UINT64': return new BigUint64Array(buffer, byteOffset, count);
    default: return new Uint8Array(buffer, byteOffset, count); // UINT8, BOOL
  }
}

/** Elements [from, to) as a JSON array text. */
function rangeJson(view: View, datatype: string, from: number, to: number): string {
  // BigInt's decimal digits are exact; a JSON reader may round them, which is the reader's choice.
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) return `[${view.subarray(from, to).join(',')}]`;
  if (datatype === 'BOOL') {
    const flags = new Array<boolean>(to - from);
    for (let i = from; i < to; i++) flags[i - from] = view[i] !== 0;
    return JSON.stringify(flags);
  }
  // Fast path (benchmarks/micro/json-tensor.ts; docs/performance.md): V8's
  // JSON.stringify formats a packed double array in C++ with no string per
  // element; filling `new Array(n)` in a loop skips Array.from's iterator protocol.
  // It writes null for NaN/±Infinity only, so a float text without "null" is
  // final, and one with it is patched null by null, in order.
  const numbers = view as NumberView;
  const plain = new Array<number>(to - from);
  for (let i = from; i < to; i++) plain[i - from] = numbers[i]!;
  const text = JSON.stringify(plain);
  if (!datatype.startsWith('FP') || !text.includes('null')) return text;
  let k = from;
  return text.replace(/null/g, () => {
    while (Number.isFinite(numbers[k])) k++;
    const v = numbers[k++]!;
    return v !== v ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
  });
}

function* bytesPieces(name: string, count: number, data: Uint8Array, pieceBytes: number): Generator<string> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const whole = pieceBytes === Number.POSITIVE_INFINITY;
  yield* bytesLayout(name, count, data, whole);
  let offset = 0;
  let open = '[';
  let batch: string[] = [];
  let batchBytes = 0;
  for (let i = 0; i < count; i++) {
    const length = buf.readUInt32LE(offset);
    offset += 4;
    if (length > pieceBytes) {
      if (batch.length > 0) yield `${open}${JSON.stringify(batch).slice(1, -1)}`;
      yield* longString(buf, offset, offset + length, batch.length > 0 ? ',' : open, pieceBytes);
      open = ',';
      batch = [];
      batchBytes = 0;
    } else {
      batch.push(buf.toString('utf8', offset, offset + length));
      batchBytes += 4 + length;
      if (batchBytes >= pieceBytes && i < count - 1) {
        yield `${open}${JSON.stringify(batch).slice(1, -1)}`;
        open = ',';
        batch = [];
        batchBytes = 0;
      }
    }
    offset += length;
  }
  yield whole || open === '[' ? `${JSON.stringify(batch)}` : `${batch.length > 0 ? `,${JSON.stringify(batch).slice(1, -1)}` : ''}]`;
}

/** Walks the BYTES layout (u32 length + bytes per element), yielding '' every PIECE_ELEMENTS elements unless `whole`. */
function* bytesLayout(name: string, count: number, data: Uint8Array, whole: boolean): Generator<string> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = offset + 4 <= buf.length ? buf.readUInt32LE(offset) : -1;
    if (length < 0 || offset + 4 + length > buf.length) {
      throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" BYTES element ${i} overruns its ${buf.length} bytes`);
    }
    offset += 4 + length;
    if (!whole && i % PIECE_ELEMENTS === PIECE_ELEMENTS - 1) yield '';
  }
  if (offset !== buf.length) {
    throw new InfergateError('GW_ERR_INTERNAL', `output "${name}" has ${buf.length - offset} bytes after its ${count} BYTES elements`);
  }
}

/** One long string in pieces cut where no UTF-8 sequence is split, so each piece decodes as the whole would. */
function* longString(buf: Buffer, start: number, end: number, before: string, pieceBytes: number): Generator<string> {
  let from = start;
  let prefix = `${before}"`;
  while (from < end) {
    let to = Math.min(end, from + pieceBytes);
    // A continuation byte (10xxxxxx) belongs to the sequence before it; three in a row end any sequence.
    for (let k = 0; k < 3 && to < end && (buf[to]! & 0xc0) === 0x80; k++) to++;
    const text = JSON.stringify(buf.toString('utf8', from, to)).slice(1, -1);
    yield `${prefix}${text}${to === end ? '"' : ''}`;
    prefix = '';
    from = to;
  }
  if (start === end) yield `${prefix}"`;
}
