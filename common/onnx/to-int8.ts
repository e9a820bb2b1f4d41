// ModelProto (FP32) → the same model with its MatMul and Gemm weights in 8
// bits and integer matrix products (dynamic quantization), plus notes of
// what was quantized and what was kept, and why.
//
//   A (FLOAT) ─DynamicQuantizeLinear─▶ A_q (UINT8), a_scale, a_zp        (once per activation, shared by its readers)
//   MatMulInteger(A_q, B_q, a_zp, b_zp) ─▶ INT32 ─Cast→FLOAT─┐
//                             Mul(a_scale, b_scale) ─────────┴─▶ Mul ─▶ Add(·, bias) ─▶ Y (FLOAT, the node's output name)
//
// B_q, b_scale and b_zp are initializers made offline (int8-weights.ts); the
// activation's scale and zero point are computed per run from its range.
// The node order and input order are the ones onnxruntime's own quantizer
// writes, which its CPU provider fuses into one DynamicQuantizeMatMul (or
// MatMulIntegerToFloat when A_q has several readers), bias included: its
// fusion wants Mul(a_scale, b_scale) in that order and the bias as Add's
// second input. Graph inputs and outputs keep their FLOAT type; a FLOAT
// weight nothing reads any more is dropped, which is where the file shrinks.
//
// Deterministic: the model is cloned through onnx-proto's encoder, nodes are
// visited in graph order, and new names derive from existing ones
// (fresh-names.ts), so the same input gives the same bytes.

import onnxProto from 'onnx-proto';
import type { ModelProto } from './decode-model.ts';
import { FreshNames } from './fresh-names.ts';
import { planNode, type NodeProto, type QuantizablePlan, type TensorProto } from './int8-plan.ts';
import { quantizeWeight, type WeightType } from './int8-weights.ts';
import { readFloats } from './tensor-floats.ts';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

export type Int8Options = {
  /** INT8 symmetric (zero point 0, default) or UINT8 asymmetric weights. */
  weightType?: WeightType;
  /** One scale per output channel (column of B, default) or one per weight. */
  perChannel?: boolean;
  /** Node names to leave in FLOAT whatever they are (onnxruntime's quantizer calls it nodes_to_exclude). */
  excludeNodes?: readonly string[];
};

export type Int8Note = {
  subject: 'node' | 'initializer' | 'activation' | 'model';
  name: string;
  action: 'quantized' | 'kept' | 'inserted' | 'removed';
  reason: string;
};

export type Int8Result = { model: ModelProto; notes: Int8Note[] };

/** DynamicQuantizeLinear arrived in opset 11 (MatMulInteger in 10). */
const MIN_OPSET = 11;

export function toInt8(source: ModelProto, options: Int8Options = {}): Int8Result {
  const weightType = options.weightType ?? 'int8';
  const perChannel = options.perChannel ?? true;
  const exclude = new Set(options.excludeNodes ?? []);
  const model = onnx.ModelProto.decode(onnx.ModelProto.encode(source).finish());
  // A decoded message: every repeated field is an array, whatever the I-types allow.
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const notes: Int8Note[] = [];
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < MIN_OPSET) {
    notes.push({ subject: 'model', name: graph.name ?? '', action: 'kept', reason: `opset ${opset} < ${MIN_OPSET}: no DynamicQuantizeLinear, nothing quantized` });
    return { model, notes };
  }
  const graphInputs = new Set(graph.input.map(nameOf));
  const constants = new Map(graph.initializer.filter((i) => !graphInputs.has(nameOf(i))).map((i) => [nameOf(i), i]));
  const readsBefore = readCounts(graph);
  const rewriter = new Rewriter(new FreshNames(allNames(graph)), { weightType, perChannel }, notes);

  const nodes: NodeProto[] = [];
  for (const node of graph.node as onnxProto.onnx.NodeProto[]) {
    const decision = exclude.has(node.name ?? '') ? { node, reason: 'excluded by the caller (excludeNodes)' } : planNode(node, { constants, graphInputs });
    if ('reason' in decision) {
      nodes.push(node);
      notes.push({ subject: 'node', name: node.name || node.output[0] || '', action: 'kept', reason: decision.reason });
    } else {
      nodes.push(...rewriter.rewrite(decision));
    }
  }
  graph.node = nodes.map((n) => onnx.NodeProto.create(n));
  const readsAfter = readCounts(graph);
  const dropped = new Set([...readsBefore.keys()].filter((name) => constants.has(name) && !readsAfter.has(name)));
  for (const name of dropped) notes.push({ subject: 'initializer', name, action: 'removed', reason: `no longer read: ${rewriter.replacements.get(name) ?? 'its readers were rewritten'} replaces it` });
  graph.initializer = [...graph.initializer.filter((i) => !dropped.has(nameOf(i))), ...rewriter.initializers].map((i) => onnx.TensorProto.create(i));
  return { model, notes };
}

function nameOf(item: { name?: string | null }): string {
  return item.name ?? '';
}

/** Every name in the graph, so new names can avoid them. */
function allNames(graph: onnxProto.onnx.GraphProto): string[] {
  return [
    ...[...graph.input, ...graph.output, ...graph.valueInfo, ...graph.initializer, ...graph.node].map(nameOf),
    ...(graph.node as onnxProto.onnx.NodeProto[]).flatMap((n) => [...n.input, ...n.output]),
  ];
}

/** How many times each name is read by a node (subgraphs included, they may read outer initializers) or as a graph output. */
function readCounts(graph: onnxProto.onnx.IGraphProto, counts = new Map<string, number>()): Map<string, number> {
  const read = (name: string) => name && counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) read(input);
    for (const attribute of node.attribute ?? []) for (const sub of [attribute.g, ...(attribute.graphs ?? [])]) if (sub) readCounts(sub, counts);
  }
  for (const output of graph.output ?? []) read(nameOf(output));
  return counts;
}

type WeightOptions = { weightType: WeightType; perChannel: boolean };

type Quantized = { values: string; scale: string; zeroPoint: string };

/** Emits the integer path for one planned node at a time; shares an activation's DynamicQuantizeLinear and a weight's quantized copy. */
class Rewriter {
  readonly initializers: TensorProto[] = [];
  /** FLOAT initializer → the initializer made from it (W → W_quantized, C → C_beta). */
  readonly replacements = new Map<string, string>();
  #names: FreshNames;
  #options: WeightOptions;
  #notes: Int8Note[];
  #activations = new Map<string, Quantized>();
  #weights = new Map<string, Quantized>();
  #biases = new Map<string, string>();
  constructor(names: FreshNames, options: WeightOptions, notes: Int8Note[]) {
    this.#names = names;
    this.#options = options;
    this.#notes = notes;
  }

  rewrite(plan: QuantizablePlan): NodeProto[] {
    const { node } = plan;
    const output = node.output![0]!;
    const base = node.name || output;
    const emitted: NodeProto[] = [];
    const a = this.#activation(plan.activation, emitted);
    const b = this.#weight(plan);
    const product = this.#names.take(`${output}_int32`);
    const productFloat = this.#names.take(`${output}_int32_float`);
    const scale = this.#names.take(`${output}_scale`);
    const bias = plan.bias ? this.#bias(plan.bias) : null;
    const scaled = bias ? this.#names.take(`${output}_unbiased`) : output;
    emitted.push(
      this.#node('MatMulInteger', `${base}_MatMulInteger`, [a.values, b.values, a.zeroPoint, b.zeroPoint], [product]),
      this.#node('Cast', `${base}_Cast`, [product], [productFloat], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }]),
      this.#node('Mul', `${base}_scale_Mul`, [a.scale, b.scale], [scale]),
      this.#node('Mul', `${base}_Mul`, [productFloat, scale], [scaled]),
    );
    if (bias) emitted.push(this.#node('Add', `${base}_Add`, [scaled, bias], [output]));
    const folded = [plan.layout.transposed ? 'transB applied to the weight' : '', plan.alpha !== 1 ? `alpha ${plan.alpha} in its scales` : '', plan.bias && plan.bias.beta !== 1 ? `beta ${plan.bias.beta} in C` : ''].filter(Boolean);
    this.#notes.push({
      subject: 'node',
      name: base,
      action: 'quantized',
      reason: `${node.opType} → MatMulInteger on ${plan.activation} (UINT8, dynamic) × ${b.values}, Cast, scale Mul${bias ? `, Add ${bias}` : ''}${folded.length ? ` (${folded.join(', ')})` : ''}`,
    });
    return emitted;
  }

  #activation(name: string, emitted: NodeProto[]): Quantized {
    const known = this.#activations.get(name);
    if (known) return known;
    const quantized = { values: this.#names.take(`${name}_quantized`), scale: this.#names.take(`${name}_scale`), zeroPoint: this.#names.take(`${name}_zero_point`) };
    emitted.push(this.#node('DynamicQuantizeLinear', `DynamicQuantizeLinear_${name}`, [name], [quantized.values, quantized.scale, quantized.zeroPoint]));
    this.#activations.set(name, quantized);
    this.#notes.push({ subject: 'activation', name, action: 'inserted', reason: 'DynamicQuantizeLinear: UINT8, one scale and zero point per run from its min and max' });
    return quantized;
  }

  /** The quantized copy of a weight in one layout with one alpha, made once however many nodes read it so. */
  #weight(plan: QuantizablePlan): Quantized {
    const name = nameOf(plan.weight);
    const key = `${name}|${plan.layout.transposed}|${plan.alpha}`;
    const known = this.#weights.get(key);
    if (known) return known;
    const { weightType, perChannel } = this.#options;
    const { values, scales, zeroPoints } = quantizeWeight(readFloats(plan.weight), plan.layout, weightType, perChannel);
    const alphaScales = scales.map((s) => s * plan.alpha);
    const type = weightType === 'int8' ? DataType.INT8 : DataType.UINT8;
    const dims = perChannel ? [scales.length] : [];
    const quantized = { values: this.#names.take(`${name}_quantized`), scale: this.#names.take(`${name}_scale`), zeroPoint: this.#names.take(`${name}_zero_point`) };
    this.initializers.push(
      { name: quantized.values, dims: [plan.layout.rows, plan.layout.columns], dataType: type, rawData: bytesOf(values) },
      { name: quantized.scale, dims, dataType: DataType.FLOAT, rawData: floatBytes(alphaScales) },
      { name: quantized.zeroPoint, dims, dataType: type, rawData: bytesOf(zeroPoints) },
    );
    this.#weights.set(key, quantized);
    if (!this.replacements.has(name)) this.replacements.set(name, quantized.values);
    const granularity = perChannel ? `per output channel (${scales.length} scales)` : 'per tensor (one scale)';
    const zero = weightType === 'int8' ? 'symmetric, zero point 0' : 'asymmetric';
    this.#notes.push({ subject: 'initializer', name, action: 'quantized', reason: `FLOAT [${(plan.weight.dims ?? []).join(', ')}] → ${weightType.toUpperCase()} ${quantized.values} [${plan.layout.rows}, ${plan.layout.columns}], ${granularity}, ${zero}` });
    return quantized;
  }

  /** The name Add reads: C itself when beta is 1 or C is not a constant (planNode allows that only with beta 1), else a beta·C initializer. */
  #bias(bias: NonNullable<QuantizablePlan['bias']>): string {
    if (bias.beta === 1 || !bias.constant) return bias.name;
    const key = `${bias.name}|${bias.beta}`;
    const known = this.#biases.get(key);
    if (known) return known;
    const name = this.#names.take(`${bias.name}_beta`);
    this.initializers.push({ name, dims: [...(bias.constant.dims ?? [])], dataType: DataType.FLOAT, rawData: floatBytes(readFloats(bias.constant).map((c) => c * bias.beta)) });
    this.#biases.set(key, name);
    if (!this.replacements.has(bias.name)) this.replacements.set(bias.name, name);
    return name;
  }

  #node(opType: string, name: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): NodeProto {
    return { opType, name: this.#names.take(name), input, output, attribute };
  }
}

function bytesOf(values: Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Little-endian whatever the host, as ONNX raw_data is. */
function floatBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}
