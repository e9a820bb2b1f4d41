// The demo models' math in plain TypeScript (float64 accumulation), to check
// onnxruntime's answers against an independent implementation.

import type { DenseLayer, MlpWeights, RankerWeights } from '../../scripts/demo-models/specs.ts';

export function denseForward(x: Float64Array, rows: number, layer: DenseLayer): Float64Array {
  const y = new Float64Array(rows * layer.outputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < layer.outputs; o++) {
      let sum = layer.bias[o]!;
      for (let i = 0; i < layer.inputs; i++) sum += x[r * layer.inputs + i]! * layer.weight[i * layer.outputs + o]!;
      y[r * layer.outputs + o] = sum;
    }
  }
  return y;
}

const relu = (v: Float64Array) => v.map((x) => (x > 0 ? x : 0));

function softmaxRows(v: Float64Array, width: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / width; r++) {
    const row = v.subarray(r * width, (r + 1) * width);
    const max = Math.max(...row);
    let sum = 0;
    for (let i = 0; i < width; i++) sum += Math.exp(row[i]! - max);
    for (let i = 0; i < width; i++) out[r * width + i] = Math.exp(row[i]! - max) / sum;
  }
  return out;
}

export function mlpForward(weights: MlpWeights, input: Float32Array, rows: number, softmax: boolean): Float64Array {
  let x: Float64Array = Float64Array.from(input);
  for (const [i, layer] of weights.layers.entries()) {
    x = denseForward(x, rows, layer);
    if (i < weights.layers.length - 1) x = relu(x);
  }
  const width = weights.layers[weights.layers.length - 1]!.outputs;
  return softmax ? softmaxRows(x, width) : x;
}

export function rankerForward(
  weights: RankerWeights,
  features: Float32Array,
  ids: BigInt64Array,
  rows: number,
): { embedding: Float64Array; score: Float64Array } {
  const { width } = weights;
  const perRow = ids.length / rows;
  const embedding = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < perRow; k++) {
      const id = Number(ids[r * perRow + k]!);
      for (let d = 0; d < width; d++) embedding[r * width + d]! += weights.table[id * width + d]! / perRow;
    }
  }
  const joined = new Float64Array(rows * 2 * width);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < width; d++) {
      joined[r * 2 * width + d] = features[r * width + d]!;
      joined[r * 2 * width + width + d] = embedding[r * width + d]!;
    }
  }
  const score = denseForward(joined, rows, weights.head).map((z) => 1 / (1 + Math.exp(-z)));
  return { embedding, score };
}
