// The part every mode built on a pure ModelProto transform shares (fp16,
// int8): decode the source bytes, run the transform, encode the result, and
// turn its notes into the one-line strings optimization.json records.
//
//   bytes ─decode-model─▶ ModelProto ─transform─▶ ModelProto ─onnx-proto encode─▶ bytes
//                                              └─ notes ─noteLine─▶ "node Gemm_h1 kept: …"
//
// Here once so the mode files hold only their policy (options, tolerance).

import onnxProto from 'onnx-proto';
import { decodeModel, type ModelProto } from '../../common/onnx/decode-model.ts';
import type { ModeResult, SourceModel } from './optimize-mode.ts';

const { onnx } = onnxProto;

/** The note shape both transforms (to-fp16.ts, to-int8.ts) return. */
export type TransformNote = { subject: string; name: string; action: string; reason: string };

export type ProtoTransform = (model: ModelProto) => { model: ModelProto; notes: readonly TransformNote[] };

/** Runs a pure transform over the source's bytes; a source that does not decode throws its one-line reason. */
export function runProtoTransform(source: SourceModel, transform: ProtoTransform): ModeResult {
  const decoded = decodeModel(source.bytes);
  if ('reason' in decoded) throw new Error(decoded.reason);
  const { model, notes } = transform(decoded.model);
  return { bytes: onnx.ModelProto.encode(model).finish(), notes: notes.map(noteLine) };
}

/** "initializer W1 converted: FLOAT → FLOAT16, 262144 values", "node Gemm_h1 kept: onnxruntime … has no float16 kernel for it". */
export function noteLine(note: TransformNote): string {
  return `${note.subject} ${note.name} ${note.action}: ${note.reason}`;
}
