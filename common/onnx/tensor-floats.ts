// A FLOAT TensorProto's elements, wherever the file keeps them: raw_data
// (little-endian whatever the host, so read through a DataView) or float_data.
// External data and segments are the caller's to refuse first.

import onnxProto from 'onnx-proto';

export function readFloats(tensor: onnxProto.onnx.ITensorProto): Float32Array {
  const raw = tensor.rawData;
  if (raw && raw.byteLength > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const floats = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(i * 4, true);
    return floats;
  }
  return Float32Array.from(tensor.floatData ?? []);
}
