// Small ONNX models written by the tests themselves, for what the demo models
// cannot show: a model that needs a minimum length on a dynamic axis, one
// with an operator onnxruntime does not have, a truncated file.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel, int64Initializer, node, valueInfo } from '../../scripts/demo-models/onnx-builder.ts';
import { CLASSIFIER_WIDTHS, mlpGraph, mlpWeights } from '../../scripts/demo-models/specs.ts';

/**
 * `x` FP32 [batch, samples] → `third` FP32 [batch, 1]: the third sample of
 * each row. Slice takes samples 2..3 and Reshape insists on one per row, so
 * fewer than three samples fail at run time ("cannot reshape"): the
 * synthetic warm-up (dynamic dims set to 1) fails, a real request with
 * three or more samples works.
 */
export function thirdSampleModel(): Uint8Array {
  return encodeModel({
    name: 'third-sample',
    nodes: [
      node('Slice', ['x', 'starts', 'ends', 'axes'], ['sliced']),
      node('Reshape', ['sliced', 'rowOfOne'], ['third']),
    ],
    initializers: [int64Initializer('starts', [1], [2]), int64Initializer('ends', [1], [3]), int64Initializer('axes', [1], [1]), int64Initializer('rowOfOne', [2], [0, 1])],
    inputs: [valueInfo('x', 'float32', ['batch', 'samples'])],
    outputs: [valueInfo('third', 'float32', ['batch', 1])],
  });
}

/** A graph with an operator no onnxruntime implements: the session cannot be created. */
export function unsupportedOperatorModel(): Uint8Array {
  return encodeModel({
    name: 'no-such-op',
    nodes: [node('NoSuchOp', ['x'], ['y'])],
    initializers: [],
    inputs: [valueInfo('x', 'float32', ['batch', 4])],
    outputs: [valueInfo('y', 'float32', ['batch', 4])],
  });
}

/** The demo classifier's graph with the weights drawn from `seed`: the demo's version 1 with 101, other answers (same signature) with another seed. */
export function classifierModel(seed: number): Uint8Array {
  return encodeModel(mlpGraph('classifier', mlpWeights(seed, CLASSIFIER_WIDTHS), 'probabilities', true));
}

/**
 * The classifier's signature (`input` FP32 [batch, 64] → `probabilities` FP32 [batch, 10]), but every run fails:
 * Reshape to 63 columns cannot take 64. Its synthetic warm-up fails too, which is only a warning, so the version
 * loads and then answers nothing but errors (a candidate the error gate must roll back).
 */
export function failingClassifierModel(): Uint8Array {
  return encodeModel({
    name: 'classifier-broken',
    nodes: [
      node('Reshape', ['input', 'sixtyThree'], ['reshaped']),
      node('Slice', ['reshaped', 'starts', 'ends', 'axes'], ['probabilities']),
    ],
    initializers: [int64Initializer('sixtyThree', [2], [0, 63]), int64Initializer('starts', [1], [0]), int64Initializer('ends', [1], [10]), int64Initializer('axes', [1], [1])],
    inputs: [valueInfo('input', 'float32', ['batch', 64])],
    outputs: [valueInfo('probabilities', 'float32', ['batch', 10])],
  });
}

/** Writes <repository>/<name>/<version>/model.onnx (and config.yaml when given). */
export function writeModel(repository: string, name: string, version: string, bytes: Uint8Array, configYaml?: string): string {
  const dir = join(repository, name, version);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.onnx');
  writeFileSync(file, bytes);
  if (configYaml !== undefined) writeFileSync(join(repository, name, 'config.yaml'), configYaml);
  return file;
}
