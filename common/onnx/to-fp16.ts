// ModelProto (FP32) → the same model with FP16 weights and FP16 compute
// between the edges, plus notes of what was converted and what was kept.
//
//   input (FLOAT) ─Cast→FP16─▶ [FP16 operators] ─Cast→FP32─▶ [blocked operator, FP32] ─Cast→FP16─▶ … ─Cast→FP32─▶ output (FLOAT)
//                                     ▲ FLOAT16 initializers (a Cast→FP32 in front of a blocked operator)
//
// Every FLOAT value gets one stored precision: graph inputs keep FP32
// (keepIo), initializers and Constant tensors become FP16 unless they feed an
// input the ONNX spec types float-only, a converted node's FLOAT outputs
// become FP16, a kept node's stay FP32. Each place a value is read wants a
// precision (a converted node: FP16; a kept node or a kept graph output:
// FP32); where the two differ one Cast is made per value and precision,
// shared by all readers, so a graph input read only by blocked operators
// gets no Cast at all. Element types come from fp16-op-rules.ts.
//
// Deterministic: the model is cloned through onnx-proto's encoder, values are
// visited in graph order, and new names derive from existing ones
// (`x_fp16`, `x_fp16_1` if taken), so the same input gives the same bytes.

import onnxProto from 'onnx-proto';
import type { ModelProto } from './decode-model.ts';
import { DEFAULT_FP32_OP_TYPES, CPU_FP32_OPS } from './fp16-cpu-ops.ts';
import { planNodes, type NodePlan } from './fp16-plan.ts';
import { FreshNames } from './fresh-names.ts';
import { FLOAT, FLOAT16, toHalfTensor, type TensorProto } from './fp16-tensor.ts';

const { onnx } = onnxProto;

export type Fp16Options = {
  /** Graph inputs and outputs keep their FLOAT type, with Casts at the edges (default true). */
  keepIo?: boolean;
  /** Operator types kept in FP32 with Casts around them (default: the CPU provider's, fp16-cpu-ops.ts). */
  fp32OpTypes?: readonly string[];
};

export type Fp16Note = {
  subject: 'initializer' | 'node' | 'input' | 'output' | 'cast';
  name: string;
  action: 'converted' | 'kept' | 'inserted';
  reason: string;
};

export type Fp16Result = { model: ModelProto; notes: Fp16Note[] };

type Precision = 16 | 32;

export function toFp16(source: ModelProto, options: Fp16Options = {}): Fp16Result {
  const keepIo = options.keepIo ?? true;
  const model = onnx.ModelProto.decode(onnx.ModelProto.encode(source).finish());
  // A decoded message: every repeated field is an array, whatever the I-types allow.
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const notes: Fp16Note[] = [];
  const plan = planNodes(model, { keepIo, fp32OpTypes: new Set(options.fp32OpTypes ?? DEFAULT_FP32_OP_TYPES), fp32Reason });
  const ioPrecision: Precision = keepIo ? 32 : 16;
  const readInFp16 = new Set(plan.nodes.flatMap((node) => node.proto.input.filter((_, i) => node.inputPrecision[i] === 16)));
  if (!keepIo) for (const output of graph.output) readInFp16.add(nameOf(output));
  // An initializer that is also a graph input (IR < 4) is a default a client may override: both stay FLOAT.
  const inputNames = new Set(graph.input.map(nameOf));
  const overridable = new Set(graph.initializer.map(nameOf).filter((name) => inputNames.has(name)));

  // Stored precision of each FLOAT value.
  const stored = new Map<string, Precision>();
  for (const input of graph.input.map(nameOf)) if (plan.types.get(input) === FLOAT) stored.set(input, overridable.has(input) ? 32 : ioPrecision);
  const halves = new Map<string, TensorProto>();
  for (const init of graph.initializer) {
    if (init.dataType !== FLOAT || stored.has(nameOf(init))) continue;
    stored.set(nameOf(init), convertInitializer(init, { floatOnly: plan.floatOnly, readInFp16 }, halves, notes));
  }
  for (const node of plan.nodes) node.outputTypes.forEach((type, i) => type === FLOAT && stored.set(node.proto.output[i]!, node.outputPrecision[i]!));

  const names = new FreshNames([...graph.node.map(nameOf), ...plan.allValueNames]);
  const casts = new CastMaker(names, stored, notes);
  const outputs = graph.output.map(nameOf);
  for (const output of outputs) casts.reserveOutput(output, ioPrecision);

  const nodes = plan.nodes.flatMap((node) => rewriteNode(node, casts, notes));
  for (const output of outputs) if (stored.has(output)) casts.read(output, ioPrecision, nodes);
  graph.node = nodes.map((n) => onnx.NodeProto.create(n));
  graph.initializer = graph.initializer.map((init) => onnx.TensorProto.create({ ...(halves.get(nameOf(init)) ?? init), name: casts.storedName(nameOf(init)) }));
  retypeEdges(graph, keepIo, (name) => plan.types.get(name) === FLOAT && !overridable.has(name), notes);
  retypeValueInfo(graph, (name) => casts.precisionOf(name));
  return { model, notes };
}

function nameOf(item: { name?: string | null }): string {
  return item.name ?? '';
}

function fp32Reason(opType: string): string {
  return CPU_FP32_OPS.find((op) => op.opType === opType)?.why ?? 'on the given FP32 list';
}

type Readers = {
  floatOnly: Map<string, string>;
  /** Values some node reads at FP16. */
  readInFp16: Set<string>;
};

function convertInitializer(init: TensorProto, readers: Readers, halves: Map<string, TensorProto>, notes: Fp16Note[]): Precision {
  const feeds = readers.floatOnly.get(nameOf(init));
  if (feeds) {
    notes.push({ subject: 'initializer', name: nameOf(init), action: 'kept', reason: `FLOAT: it feeds ${feeds}, which the ONNX spec types float only` });
    return 32;
  }
  const half = toHalfTensor(init);
  if ('reason' in half) {
    notes.push({ subject: 'initializer', name: nameOf(init), action: 'kept', reason: `FLOAT: ${half.reason}` });
    return 32;
  }
  const losses = [half.clamped ? `${half.clamped} clamped to ±65504` : '', half.flushedToZero ? `${half.flushedToZero} became 0` : ''].filter(Boolean);
  // An epsilon of 1e-8 would become 0 (a division by zero ahead): when no reader computes in FP16, FP16 storage buys
  // only bytes, so a tensor that would lose values stays FLOAT.
  if (losses.length > 0 && !readers.readInFp16.has(nameOf(init))) {
    notes.push({ subject: 'initializer', name: nameOf(init), action: 'kept', reason: `FLOAT: in FLOAT16 ${losses.join(', ')}, and every reader computes in FP32` });
    return 32;
  }
  halves.set(nameOf(init), half.tensor);
  notes.push({ subject: 'initializer', name: nameOf(init), action: 'converted', reason: `FLOAT → FLOAT16, ${half.values} values${losses.length ? ` (${losses.join(', ')})` : ''}` });
  return 16;
}

/** The node with its inputs read at the precision it wants (Casts emitted in front), outputs renamed, FLOAT attributes made FLOAT16. */
function rewriteNode(node: NodePlan, casts: CastMaker, notes: Fp16Note[]): onnxProto.onnx.INodeProto[] {
  const emitted: onnxProto.onnx.INodeProto[] = [];
  const input = node.proto.input.map((name, i) => (name && node.inputPrecision[i] ? casts.read(name, node.inputPrecision[i]!, emitted) : name));
  const output = node.proto.output.map((name) => (name ? casts.storedName(name) : name));
  const attribute = node.convert ? node.proto.attribute.map(halfAttribute) : node.proto.attribute;
  if (node.touchesFloat) notes.push({ subject: 'node', name: node.proto.name || node.proto.output[0] || '', action: node.convert ? 'converted' : 'kept', reason: node.reason });
  emitted.push({ ...node.proto, input, output, attribute });
  return emitted;
}

/** A converted node's FLOAT-typed attributes: Cast's `to`, a Constant's or ConstantOfShape's tensor. */
function halfAttribute(attribute: onnxProto.onnx.IAttributeProto): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (attribute.type === AttributeType.INT && attribute.name === 'to' && Number(attribute.i) === FLOAT) return { ...attribute, i: FLOAT16 };
  if (attribute.type !== AttributeType.TENSOR || attribute.t?.dataType !== FLOAT) return attribute;
  const half = toHalfTensor(attribute.t);
  return 'reason' in half ? attribute : { ...attribute, t: half.tensor };
}

function retypeEdges(graph: onnxProto.onnx.GraphProto, keepIo: boolean, isFloatEdge: (name: string) => boolean, notes: Fp16Note[]): void {
  for (const [subject, list] of [['input', graph.input], ['output', graph.output]] as const) {
    for (const edge of list) {
      if (!isFloatEdge(nameOf(edge))) continue;
      if (!keepIo && edge.type?.tensorType) edge.type.tensorType.elemType = FLOAT16;
      notes.push({ subject, name: nameOf(edge), action: keepIo ? 'kept' : 'converted', reason: keepIo ? 'FLOAT, so clients need no change (keepIo)' : 'FLOAT → FLOAT16 (keepIo off)' });
    }
  }
}

function retypeValueInfo(graph: onnxProto.onnx.GraphProto, precisionOf: (name: string) => Precision | undefined): void {
  for (const info of graph.valueInfo) {
    const tensor = info.type?.tensorType;
    if (tensor?.elemType === FLOAT && precisionOf(nameOf(info)) === 16) tensor.elemType = FLOAT16;
  }
}

/**
 * One Cast per (value, precision), made the first time a reader asks, so it
 * lands after the value's producer and before its first reader. A graph
 * output kept at the edge precision while its value is stored at the other
 * one gets the output's name for its Cast, and the stored value a new name.
 */
class CastMaker {
  #names: FreshNames;
  #stored: Map<string, Precision>;
  #notes: Fp16Note[];
  #renamed = new Map<string, string>();
  #castName = new Map<string, string>();
  #made = new Set<string>();
  constructor(names: FreshNames, stored: Map<string, Precision>, notes: Fp16Note[]) {
    this.#names = names;
    this.#stored = stored;
    this.#notes = notes;
  }

  reserveOutput(name: string, precision: Precision): void {
    const at = this.#stored.get(name);
    if (at === undefined || at === precision || this.#renamed.has(name)) return;
    this.#renamed.set(name, this.#names.take(`${name}_fp${at}`));
    this.#castName.set(`${name}|${precision}`, name);
  }

  storedName(name: string): string {
    return this.#renamed.get(name) ?? name;
  }

  /** The precision a name holds in the new graph (a renamed output's name holds the edge precision). */
  precisionOf(name: string): Precision | undefined {
    const at = this.#stored.get(name);
    return at !== undefined && this.#renamed.has(name) ? (at === 16 ? 32 : 16) : at;
  }

  /** The name to read `name` at `precision`; emits the Cast into `into` the first time. */
  read(name: string, precision: Precision, into: onnxProto.onnx.INodeProto[]): string {
    const at = this.#stored.get(name);
    if (at === undefined || at === precision) return this.storedName(name);
    const key = `${name}|${precision}`;
    const output = this.#castName.get(key) ?? this.#names.take(`${name}_fp${precision}`);
    this.#castName.set(key, output);
    if (this.#made.has(key)) return output;
    this.#made.add(key);
    const to = precision === 16 ? FLOAT16 : FLOAT;
    const castNode = this.#names.take(`Cast_${name}_fp${precision}`);
    into.push({ opType: 'Cast', name: castNode, input: [this.storedName(name)], output: [output], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }] });
    this.#notes.push({ subject: 'cast', name: castNode, action: 'inserted', reason: `${name} to ${precision === 16 ? 'FLOAT16' : 'FLOAT'}` });
    return output;
  }
}
