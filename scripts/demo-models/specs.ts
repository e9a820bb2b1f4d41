// The demo models: their weights (from fixed seeds) and their graphs.
// Weights are exported separately so tests can redo the same math in plain
// TypeScript and compare with onnxruntime.
//
//   classifier  input [batch,64] ─Gemm─Relu─Gemm─Relu─Gemm─Softmax─▶ probabilities [batch,10]
//   heavy       input [batch,512] ─Gemm(2048)─Relu─Gemm(512)─Relu─Gemm─▶ logits [batch,10]
//   pooler      tokens [batch,sequence,8] ─ReduceMean(sequence)─Gemm─▶ pooled [batch,4]
//   ranker      item_ids [batch,4] ─Gather(table)─ReduceMean─▶ embedding [batch,16]
//               Concat(features [batch,16], embedding) ─Gemm─Sigmoid─▶ score [batch,1]

import { floatInitializer, node, valueInfo, type GraphParts } from './onnx-builder.ts';
import { glorotLimit, mulberry32, uniformFloats } from './prng.ts';

/** A fully connected layer: y = x·weight + bias, weight stored [inputs][outputs] row-major. */
export type DenseLayer = { inputs: number; outputs: number; weight: Float32Array; bias: Float32Array };

function dense(random: () => number, inputs: number, outputs: number): DenseLayer {
  return {
    inputs,
    outputs,
    weight: uniformFloats(random, inputs * outputs, glorotLimit(inputs, outputs)),
    bias: uniformFloats(random, outputs, 0.1),
  };
}

export type MlpWeights = { layers: DenseLayer[] };
export type RankerWeights = { table: Float32Array; tableRows: number; width: number; head: DenseLayer };

export const RANKER_TABLE_ROWS = 1000;
export const RANKER_WIDTH = 16;
export const RANKER_IDS_PER_ROW = 4;

export function mlpWeights(seed: number, widths: readonly number[]): MlpWeights {
  const random = mulberry32(seed);
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < widths.length; i++) layers.push(dense(random, widths[i]!, widths[i + 1]!));
  return { layers };
}

export function rankerWeights(seed: number): RankerWeights {
  const random = mulberry32(seed);
  return {
    table: uniformFloats(random, RANKER_TABLE_ROWS * RANKER_WIDTH, 1),
    tableRows: RANKER_TABLE_ROWS,
    width: RANKER_WIDTH,
    head: dense(random, 2 * RANKER_WIDTH, 1),
  };
}

/** Gemm layers with Relu between them, optionally Softmax at the end. */
export function mlpGraph(name: string, weights: MlpWeights, outputName: string, softmax: boolean): GraphParts {
  const nodes = [];
  const initializers = [];
  let current = 'input';
  for (const [i, layer] of weights.layers.entries()) {
    const last = i === weights.layers.length - 1;
    initializers.push(floatInitializer(`W${i}`, [layer.inputs, layer.outputs], layer.weight));
    initializers.push(floatInitializer(`B${i}`, [layer.outputs], layer.bias));
    const gemmOut = last && !softmax ? outputName : `gemm${i}`;
    nodes.push(node('Gemm', [current, `W${i}`, `B${i}`], [gemmOut]));
    current = gemmOut;
    if (!last) {
      nodes.push(node('Relu', [current], [`relu${i}`]));
      current = `relu${i}`;
    }
  }
  if (softmax) nodes.push(node('Softmax', [current], [outputName], { axis: -1 }));
  const first = weights.layers[0]!;
  const final = weights.layers[weights.layers.length - 1]!;
  return {
    name,
    nodes,
    initializers,
    inputs: [valueInfo('input', 'float32', ['batch', first.inputs])],
    outputs: [valueInfo(outputName, 'float32', ['batch', final.outputs])],
  };
}

function rankerGraph(weights: RankerWeights): GraphParts {
  const { head } = weights;
  return {
    name: 'ranker',
    nodes: [
      // Gather fails at run time for an id outside [-rows, rows-1]: ids >= 1000
      // are the "poison" input of the tests. Negative ids count from the end
      // (numpy style), so -1 is a valid id, not poison.
      node('Gather', ['table', 'item_ids'], ['gathered'], { axis: 0 }),
      // Opset 17: ReduceMean takes its axes as an attribute (an input from opset 18).
      node('ReduceMean', ['gathered'], ['embedding'], { axes: [1], keepdims: 0 }),
      node('Concat', ['features', 'embedding'], ['joined'], { axis: 1 }),
      node('Gemm', ['joined', 'W', 'B'], ['logit']),
      node('Sigmoid', ['logit'], ['score']),
    ],
    initializers: [
      floatInitializer('table', [weights.tableRows, weights.width], weights.table),
      floatInitializer('W', [head.inputs, head.outputs], head.weight),
      floatInitializer('B', [head.outputs], head.bias),
    ],
    inputs: [valueInfo('features', 'float32', ['batch', weights.width]), valueInfo('item_ids', 'int64', ['batch', RANKER_IDS_PER_ROW])],
    outputs: [valueInfo('embedding', 'float32', ['batch', weights.width]), valueInfo('score', 'float32', ['batch', 1])],
  };
}

/** A sequence pooler: a variable-length sequence dim, so batches must group requests by length. */
export type PoolerWeights = { width: number; head: DenseLayer };
export const POOLER_WIDTH = 8;

export function poolerWeights(seed: number): PoolerWeights {
  return { width: POOLER_WIDTH, head: dense(mulberry32(seed), POOLER_WIDTH, 4) };
}

function poolerGraph(weights: PoolerWeights): GraphParts {
  const { head } = weights;
  return {
    name: 'pooler',
    nodes: [
      node('ReduceMean', ['tokens'], ['mean'], { axes: [1], keepdims: 0 }),
      node('Gemm', ['mean', 'W', 'B'], ['pooled']),
    ],
    initializers: [floatInitializer('W', [head.inputs, head.outputs], head.weight), floatInitializer('B', [head.outputs], head.bias)],
    inputs: [valueInfo('tokens', 'float32', ['batch', 'sequence', weights.width])],
    outputs: [valueInfo('pooled', 'float32', ['batch', head.outputs])],
  };
}

export const CLASSIFIER_WIDTHS = [64, 128, 64, 10] as const;
export const HEAVY_WIDTHS = [512, 2048, 512, 10] as const;

/** One entry of the demo repository; `graph` derives everything from `seed`. */
export type DemoModel = { name: string; version: string; seed: number; graph: () => GraphParts };

function classifier(version: string, seed: number): DemoModel {
  return { name: 'classifier', version, seed, graph: () => mlpGraph('classifier', mlpWeights(seed, CLASSIFIER_WIDTHS), 'probabilities', true) };
}

function heavy(version: string, seed: number): DemoModel {
  return { name: 'heavy', version, seed, graph: () => mlpGraph('heavy', mlpWeights(seed, HEAVY_WIDTHS), 'logits', false) };
}

function ranker(version: string, seed: number): DemoModel {
  return { name: 'ranker', version, seed, graph: () => rankerGraph(rankerWeights(seed)) };
}

function pooler(version: string, seed: number): DemoModel {
  return { name: 'pooler', version, seed, graph: () => poolerGraph(poolerWeights(seed)) };
}

// Classifier versions share the architecture and differ only in seed, so a
// version switch is visible in the answers without changing the signature.
export const DEMO_MODELS: readonly DemoModel[] = [classifier('1', 101), classifier('2', 102), heavy('1', 201), ranker('1', 301), pooler('1', 401)];
