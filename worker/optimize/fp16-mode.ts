// `--to fp16`: FLOAT weights stored as FLOAT16, with the model's inputs and
// outputs kept FLOAT (Casts at the edges), by the pure transform
// common/onnx/to-fp16.ts, run over the bytes by proto-transform.ts
// (decode, toFp16(keepIo, fp32OpTypes), encode, notes one line each).
//
// keepIo is always on: onnxruntime-node 1.30 on Node 24 cannot feed a float16
// tensor from JavaScript, so a model with FLOAT16 inputs could not be served.
//
// Activations: on (the default) is the transform's default block list, the
// operators onnxruntime's x86-64 CPU provider has no FP16 kernel for
// (fp16-cpu-ops.ts): every arithmetic operator stays FP32 and only data
// movement (Gather, Concat…) and Max/Min/Round may read FP16 values. Off
// blocks every operator of the model as well, so nothing computes in FP16 and
// only the stored weights shrink. On the demo models the two differ only in
// the ranker's Gather, which reads its FP16 table directly when on.
//
// Tolerance: 1e-2 of each output's range. FP16 keeps 11 significant bits, so
// each weight moves by up to 2^-11 ≈ 4.9e-4 of itself; the demo models stay
// below 6e-4 of their output's largest magnitude (test/common/onnx/to-fp16.test.ts),
// and 1e-2 still catches a wrong Cast or a lost bias (errors the size of the output).

import { DEFAULT_FP32_OP_TYPES } from '../../common/onnx/fp16-cpu-ops.ts';
import { toFp16 } from '../../common/onnx/to-fp16.ts';
import type { ModeResult, OptimizeMode, SourceModel } from './optimize-mode.ts';
import { runProtoTransform } from './proto-transform.ts';

export type Fp16Settings = {
  /** FP16 compute where the CPU provider has kernels (true), or every operator in FP32 with only weights stored FP16 (false). */
  activations: boolean;
};

export const TOLERANCE_OF_OUTPUT_RANGE = 1e-2;

export function fp16Mode(settings: Fp16Settings): OptimizeMode {
  return {
    summary: 'FP32 weights stored as FP16, inputs and outputs kept FP32 (Casts at the edges)',
    tolerance: { ofOutputRange: TOLERANCE_OF_OUTPUT_RANGE },
    options: {
      keepIo: true,
      fp16Activations: settings.activations,
      fp32Operators: settings.activations ? 'no FP16 kernel in onnxruntime CPU x86-64 (fp16-cpu-ops.ts)' : 'all',
    },
    transform: async (source) => transform(source, settings),
  };
}

async function transform(source: SourceModel, settings: Fp16Settings): Promise<ModeResult> {
  return runProtoTransform(source, (model) => {
    const opTypes = model.graph?.node?.map((node) => node.opType ?? '') ?? [];
    // Sorted and deduplicated, so the list (and thus the bytes) does not depend on node order.
    const fp32OpTypes = settings.activations ? DEFAULT_FP32_OP_TYPES : [...new Set([...DEFAULT_FP32_OP_TYPES, ...opTypes])].sort();
    return toFp16(model, { keepIo: true, fp32OpTypes });
  });
}
