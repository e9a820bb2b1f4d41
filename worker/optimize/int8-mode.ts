// `--to int8`: dynamic quantization of the MatMul and Gemm weights, by the
// pure transform common/onnx/to-int8.ts, run over the bytes by
// proto-transform.ts (decode, toInt8, encode, notes one line each):
//
//   MatMul/Gemm(A, W const 2-D, bias) ─▶ DynamicQuantizeLinear(A) ─▶ MatMulInteger(·, W_int8) ─▶ Cast ─▶ Mul scales ─▶ Add bias
//
// which onnxruntime's CPU provider fuses into one DynamicQuantizeMatMul. The
// weights are INT8 symmetric, one scale per output channel (the transform's
// default) or, with --per-tensor, one per weight; activations are quantized
// per run from their own range. Every other node is kept and listed in the
// notes. The inputs and outputs keep their datatypes, so clients need no change.
//
// Tolerance: 2e-2 of each output's range. Each weight is rounded to 1/254 of
// its column's range and each activation to 1/255 of its own: a few 1e-3 per
// layer. The transform's test (test/common/onnx/to-int8.test.ts) holds every
// demo model to 2e-2 and measures at most 8.1e-3 of the output's largest
// magnitude (heavy, three layers); optimize's own samples (batch up to 32)
// reach 1.02e-2 on heavy and 2.7–6.0e-3 on the others. 2e-2 leaves about 2×
// on heavy, and a lost bias, a wrong scale or a transposed weight still fails
// (errors the size of the output). Tighter (1e-2, fp16's) would refuse heavy.

import { toInt8 } from '../../common/onnx/to-int8.ts';
import type { OptimizeMode } from './optimize-mode.ts';
import { runProtoTransform } from './proto-transform.ts';

export type Int8Settings = {
  /** One scale per output channel (true, the default), or one per weight (--per-tensor): coarser, for runtimes without per-column zero points. */
  perChannel: boolean;
};

export const TOLERANCE_OF_OUTPUT_RANGE = 2e-2;

export function int8Mode(settings: Int8Settings): OptimizeMode {
  return {
    summary: 'MatMul/Gemm weights in INT8 (per channel), activations quantized per run, inputs and outputs kept FP32',
    tolerance: { ofOutputRange: TOLERANCE_OF_OUTPUT_RANGE },
    options: { weightType: 'int8', perChannel: settings.perChannel, activations: 'uint8, dynamic (DynamicQuantizeLinear per run)' },
    transform: async (source) => runProtoTransform(source, (model) => toInt8(model, { weightType: 'int8', perChannel: settings.perChannel })),
  };
}
