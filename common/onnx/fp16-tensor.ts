// A FLOAT TensorProto → the same tensor as FLOAT16 raw_data (little-endian,
// IEEE 754 binary16, round to nearest, ties to even: DataView.setFloat16
// rounds exactly so, like Math.f16round).
//
// FP16's largest finite value is 65504. A finite weight from 65520 up would
// round to ±Infinity and poison every sum it enters, so such values are clamped to
// ±65504 and counted (onnxconverter-common's float16 converter clips the same
// way). Values below FP16's smallest subnormal (2^-24 ≈ 6e-8) round to ±0:
// they are counted too, so a model that lives on tiny weights shows it.

import onnxProto from 'onnx-proto';
import { readFloats } from './tensor-floats.ts';

const { onnx } = onnxProto;

export type TensorProto = onnxProto.onnx.ITensorProto;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

const FP16_MAX = 65504;

export type HalfTensor = {
  tensor: TensorProto;
  values: number;
  /** Finite values that would round to ±Infinity, written as ±65504. */
  clamped: number;
  /** Non-zero values that became ±0. */
  flushedToZero: number;
};

/** The FLOAT16 copy of a FLOAT tensor, or why it stays FLOAT (only data this file can read is converted). */
export function toHalfTensor(tensor: TensorProto): HalfTensor | { reason: string } {
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return { reason: 'its data is in an external file' };
  if (tensor.segment) return { reason: 'it is a segment of a larger tensor' };
  const floats = readFloats(tensor);
  const rawData = new Uint8Array(floats.length * 2);
  const view = new DataView(rawData.buffer);
  let clamped = 0;
  let flushedToZero = 0;
  for (let i = 0; i < floats.length; i++) {
    let value = floats[i]!;
    if (Number.isFinite(value) && !Number.isFinite(Math.f16round(value))) {
      value = Math.sign(value) * FP16_MAX;
      clamped++;
    } else if (value !== 0 && Math.f16round(value) === 0) {
      flushedToZero++;
    }
    view.setFloat16(i * 2, value, true);
  }
  const half: TensorProto = { ...plainFields(tensor), dataType: FLOAT16, rawData };
  return { tensor: half, values: floats.length, clamped, flushedToZero };
}

/** The fields a converted tensor keeps: its name, dims and doc string (the data fields are replaced). */
function plainFields(tensor: TensorProto): TensorProto {
  const kept: TensorProto = { dims: [...(tensor.dims ?? [])] };
  if (tensor.name) kept.name = tensor.name;
  if (tensor.docString) kept.docString = tensor.docString;
  return kept;
}
