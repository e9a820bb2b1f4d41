// An ONNX file's bytes → its ModelProto (onnx-proto, the ONNX protobuf schema
// compiled for protobufjs), or the one-line reason it is not a model.
//
// protobufjs reads until the bytes end: a file cut short throws a RangeError
// ("index out of range") unless the cut falls between two top-level fields,
// and bytes that are not protobuf at all usually throw "invalid wire type".
// Whatever does decode must still look like a model: an IR version, a graph
// and an opset import (a cut after the graph would lose the opset imports,
// which ModelProto writes after it).

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ModelProto = onnxProto.onnx.ModelProto;

export type DecodedModel = { model: ModelProto } | { reason: string };

/** A protobuf int64 as protobufjs gives it: a number, or a Long when the long package is installed. */
export type Int64 = number | { toNumber(): number };

export function int64(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Decodes a model; never throws. The reason starts with "not an ONNX model: ". */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  if (bytes.byteLength === 0) return notAModel('the file is empty');
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof RangeError) return notAModel(`the file ends early (truncated at ${bytes.byteLength} bytes?): protobuf ${message}`);
    return notAModel(`protobuf decoding failed: ${message}`);
  }
  if (int64(model.irVersion) <= 0) return notAModel('it has no IR version');
  if (!model.graph) return notAModel('it has no graph');
  if (model.opsetImport.length === 0) return notAModel('it imports no opset (truncated?)');
  return { model };
}

function notAModel(detail: string): DecodedModel {
  return { reason: `not an ONNX model: ${detail}` };
}
