// Seeded onnxruntime feeds for a decoded model's graph inputs, and the error
// between two runs' outputs, for tests that run a model and its transformed
// copy on the same inputs.

import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../common/onnx/decode-model.ts';
import { mulberry32 } from '../../common/prng.ts';

const { DataType } = onnxProto.onnx.TensorProto;

export type FeedOptions = {
  /** Values for named (dynamic) dims. */
  dimValues: Record<string, number>;
  /** Floats are uniform in [floatMin, 1): 0 as the project's warm-up samples draw them (worker/warmup.ts), -1 centred on zero. */
  floatMin: number;
};

/** Floats as options.floatMin says; INT64 inputs are ids in [0, 1000) (the ranker's table rows). */
export function sampleFeeds(model: ModelProto, seed: number, options: FeedOptions): Record<string, ort.Tensor> {
  const random = mulberry32(seed);
  const floatSpan = 1 - options.floatMin;
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of model.graph!.input!) {
    const tensorType = input.type!.tensorType!;
    const dims = tensorType.shape!.dim!.map((d) => (d.dimParam ? options.dimValues[d.dimParam]! : Number(d.dimValue)));
    const count = dims.reduce((a, b) => a * b, 1);
    feeds[input.name!] =
      tensorType.elemType === DataType.INT64
        ? new ort.Tensor('int64', BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * 1000))), dims)
        : new ort.Tensor('float32', Float32Array.from({ length: count }, () => options.floatMin + random() * floatSpan), dims);
  }
  return feeds;
}

/** Largest |got − want| over an FP32 output, and the output's largest magnitude (`want`'s). */
export function errorOf(want: ort.Tensor, got: ort.Tensor): { maxError: number; range: number } {
  const wantData = want.data as Float32Array;
  const gotData = got.data as Float32Array;
  let maxError = 0;
  let range = 0;
  for (let i = 0; i < wantData.length; i++) {
    maxError = Math.max(maxError, Math.abs(wantData[i]! - gotData[i]!));
    range = Math.max(range, Math.abs(wantData[i]!));
  }
  return { maxError, range };
}
