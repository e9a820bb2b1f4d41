// Wire tensors (raw little-endian bytes) ↔ onnxruntime tensors.
//
// Numeric data is not copied: the ort tensor is a typed-array view over the
// request frame, and an output's typed array is viewed as bytes for the
// response frame. The one exception is alignment: a typed array of element
// size N can only start at a byte offset divisible by N, so a view at an odd
// offset (a tensor behind a header of odd length, say) is copied to a fresh,
// aligned buffer first.
//
// BYTES is onnxruntime's 'string' tensor (string[]); on the wire each element
// is a u32 LE length followed by its UTF-8 bytes. onnxruntime strings are
// text, so bytes that are not valid UTF-8 arrive as U+FFFD.
//
// Sizes are checked here (byteLength = elements × bytes per element) so a
// malformed frame never reaches onnxruntime.

import { Tensor as OrtTensor } from 'onnxruntime-node';
import { tensorDataToJson } from '../common/kserve/render-tensor.ts';
import type { ActualOutput } from '../common/onnx/compare-outputs.ts';
import { datatypeByKServe, datatypeByOrt, type OrtType } from '../common/datatypes.ts';
import { InfergateError } from '../common/errors.ts';
import type { Tensor } from '../common/wire.ts';

type NumericOrtType = Exclude<OrtType, 'string'>;

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** The typed array onnxruntime-node accepts for each numeric type (bool is bytes, float16 its raw bits). */
const ARRAY_OF: Record<NumericOrtType, TypedArrayConstructor> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
};

const BYTES_LENGTH_PREFIX = 4;

/** Number of elements of a wire shape; throws GW_ERR_BAD_FRAME for a shape that is not a list of counts. */
export function checkedElementCount(name: string, shape: unknown): number {
  if (!Array.isArray(shape)) throw badFrame(name, 'has no shape array');
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || (dim as number) < 0) throw badFrame(name, `has shape ${JSON.stringify(shape)}`);
    count *= dim as number;
  }
  if (!Number.isSafeInteger(count)) throw badFrame(name, `has shape ${JSON.stringify(shape)} with too many elements`);
  return count;
}

/** A wire tensor as an onnxruntime tensor, viewing its bytes where alignment allows. */
export function toOrtTensor(tensor: Tensor): OrtTensor {
  const info = datatypeByKServe(tensor.datatype);
  if (!info) {
    throw new InfergateError('GW_ERR_UNKNOWN_DATATYPE', `tensor ${JSON.stringify(tensor.name)} has datatype ${JSON.stringify(tensor.datatype)}`);
  }
  const count = checkedElementCount(tensor.name, tensor.shape);
  const dims = tensor.shape;
  if (info.ort === 'string') return new OrtTensor('string', decodeBytesElements(tensor.name, tensor.data, count), dims);

  const expected = count * info.bytesPerElement;
  if (tensor.data.byteLength !== expected) {
    throw badFrame(tensor.name, `is ${tensor.data.byteLength} bytes; ${info.kserve} ${JSON.stringify(dims)} needs ${expected}`);
  }
  const ArrayType = ARRAY_OF[info.ort];
  let bytes = tensor.data;
  // Copy only when the view cannot back a typed array of this element size.
  if (bytes.byteOffset % info.bytesPerElement !== 0) bytes = new Uint8Array(bytes);
  const data = new ArrayType(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  return new OrtTensor(info.ort, data as OrtTensor.DataTypeMap[typeof info.ort], dims);
}

/** An onnxruntime output as a wire tensor; numeric data is a byte view of the output (no copy). */
export function fromOrtTensor(name: string, value: OrtTensor): Tensor {
  const info = datatypeByOrt(value.type);
  if (!info) throw new InfergateError('GW_ERR_INTERNAL', `output ${JSON.stringify(name)} has onnxruntime type ${value.type}`);
  const shape = Array.from(value.dims);
  const raw: unknown = value.data;
  let data: Uint8Array;
  if (info.ort === 'string') {
    data = encodeBytesElements(raw as readonly string[]);
  } else {
    const typed = raw as ArrayBufferView;
    data = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  return { name, datatype: info.kserve, shape, data };
}

/** BYTES wire layout → strings; exactly `count` elements must fill `data`. */
export function decodeBytesElements(name: string, data: Uint8Array, count: number): string[] {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const strings: string[] = new Array(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + BYTES_LENGTH_PREFIX > bytes.byteLength) throw badFrame(name, `ends inside BYTES element ${i} of ${count}`);
    const length = bytes.readUInt32LE(offset);
    offset += BYTES_LENGTH_PREFIX;
    if (offset + length > bytes.byteLength) throw badFrame(name, `BYTES element ${i} of ${length} bytes overruns the tensor`);
    strings[i] = bytes.toString('utf8', offset, offset + length);
    offset += length;
  }
  if (offset !== bytes.byteLength) throw badFrame(name, `has ${bytes.byteLength - offset} bytes after its ${count} BYTES elements`);
  return strings;
}

/** Strings → BYTES wire layout (u32 LE length + UTF-8 bytes per element). */
export function encodeBytesElements(strings: readonly string[]): Uint8Array {
  let total = 0;
  for (const s of strings) total += BYTES_LENGTH_PREFIX + Buffer.byteLength(s, 'utf8');
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const s of strings) {
    const length = out.write(s, offset + BYTES_LENGTH_PREFIX, 'utf8');
    out.writeUInt32LE(length, offset);
    offset += BYTES_LENGTH_PREFIX + length;
  }
  return out;
}

function badFrame(name: string, detail: string): InfergateError {
  return new InfergateError('GW_ERR_BAD_FRAME', `tensor ${JSON.stringify(name)} ${detail}`);
}

/** An output as the values of a KServe v2 JSON answer (render-tensor.ts): what a client would compare. */
export function answerValues(tensor: Tensor): ActualOutput {
  return { name: tensor.name, shape: tensor.shape, data: JSON.parse(tensorDataToJson(tensor)) as unknown[] };
}
