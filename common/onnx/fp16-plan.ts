// The FP16 converter's decisions, node by node in graph order (ONNX keeps
// nodes topologically sorted, so a value's type is known before it is read):
// each value's element type (declared, or from the operator's output rule),
// whether a node computes in FP16 or stays FP32 and why, and the precision
// each of its FLOAT inputs and outputs takes. to-fp16.ts applies them.

import onnxProto from 'onnx-proto';
import type { ModelProto } from './decode-model.ts';
import { floatOnlyInputs, noFp16InSpec, outputRules } from './fp16-op-rules.ts';
import { FLOAT } from './fp16-tensor.ts';

const { onnx } = onnxProto;

type Precision = 16 | 32;

export type NodePlan = {
  proto: onnxProto.onnx.NodeProto;
  /** True: FLOAT inputs read as FP16, FLOAT outputs and FLOAT attributes become FLOAT16. */
  convert: boolean;
  reason: string;
  /** The node reads or writes a FLOAT value (other nodes are not worth a note). */
  touchesFloat: boolean;
  /** Per input: the precision it is read at, null when it is not FLOAT. */
  inputPrecision: (Precision | null)[];
  /** Per output: its original element type, null when unknown. */
  outputTypes: (number | null)[];
  outputPrecision: (Precision | null)[];
};

export type Plan = {
  nodes: NodePlan[];
  /** Original element type of every value whose type is known. */
  types: Map<string, number>;
  /** Values read by an input the spec types float only → where ("Resize input 2"). */
  floatOnly: Map<string, string>;
  /** Every name in the graph, so new names can avoid them. */
  allValueNames: string[];
};

export type PlanOptions = {
  keepIo: boolean;
  fp32OpTypes: ReadonlySet<string>;
  fp32Reason: (opType: string) => string;
};

/**
 * Operators that only move or select elements: in FP16 they save nothing unless their data already is FP16 (the
 * ranker's Gather reads an FP16 table), so with only FP32 inputs they stay FP32 rather than get Casts around them.
 */
const DATA_MOVEMENT = new Set([
  'Concat', 'DepthToSpace', 'Expand', 'Flatten', 'Gather', 'GatherElements', 'GatherND', 'Identity', 'Pad', 'Reshape', 'Slice',
  'SpaceToDepth', 'Split', 'Squeeze', 'Tile', 'Transpose', 'Unsqueeze',
]);

export function planNodes(model: ModelProto, options: PlanOptions): Plan {
  // A decoded message: every repeated field is an array and nested messages are instances, whatever the I-types allow.
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const opsetVersion = Number(opset ?? 0);
  const types = declaredTypes(graph);
  const floatOnly = floatOnlyReaders(graph.node as onnxProto.onnx.NodeProto[], opsetVersion);
  const storedAt = plannedInputsAndInitializers(graph, types, floatOnly, options.keepIo);
  const context = { types, storedAt, floatOnly, opsetVersion, ...options };
  const nodes = (graph.node as onnxProto.onnx.NodeProto[]).map((node) => {
    const plan = planNode(node, context);
    plan.outputTypes.forEach((type, i) => type !== null && node.output[i] && !types.has(node.output[i]!) && types.set(node.output[i]!, type));
    plan.outputPrecision.forEach((precision, i) => precision !== null && storedAt.set(node.output[i]!, precision));
    return plan;
  });
  const allValueNames = [
    ...graph.input.map((v) => v.name ?? ''),
    ...graph.output.map((v) => v.name ?? ''),
    ...graph.valueInfo.map((v) => v.name ?? ''),
    ...graph.initializer.map((t) => t.name ?? ''),
    ...graph.node.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]),
  ];
  return { nodes, types, floatOnly, allValueNames };
}

function declaredTypes(graph: onnxProto.onnx.GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const info of [...graph.input, ...graph.output, ...graph.valueInfo]) {
    const type = info.type?.tensorType?.elemType;
    if (type) types.set(info.name ?? '', type);
  }
  for (const init of graph.initializer) types.set(init.name ?? '', init.dataType ?? 0);
  return types;
}

/**
 * The precision graph inputs and FLOAT initializers are expected to be stored at, for DATA_MOVEMENT's choice
 * (to-fp16.ts makes the final call on initializers).
 */
function plannedInputsAndInitializers(graph: onnxProto.onnx.GraphProto, types: Map<string, number>, floatOnly: Map<string, string>, keepIo: boolean): Map<string, Precision> {
  const storedAt = new Map<string, Precision>();
  for (const init of graph.initializer) if (init.dataType === FLOAT) storedAt.set(init.name ?? '', floatOnly.has(init.name ?? '') ? 32 : 16);
  for (const input of graph.input) if (types.get(input.name ?? '') === FLOAT) storedAt.set(input.name ?? '', keepIo ? 32 : 16);
  return storedAt;
}

function floatOnlyReaders(nodes: readonly onnxProto.onnx.NodeProto[], opsetVersion: number): Map<string, string> {
  const readers = new Map<string, string>();
  for (const node of nodes) {
    if (!isStandard(node)) continue;
    // An operator the spec gives no float16 at all reads every input as float only (Range's start, limit and delta).
    const slots = noFp16InSpec(node.opType, opsetVersion) ? node.input.map((_, i) => i) : floatOnlyInputs(node.opType, opsetVersion);
    for (const slot of slots) {
      const name = node.input[slot];
      if (name && !readers.has(name)) readers.set(name, `${node.opType} input ${slot}`);
    }
  }
  return readers;
}

function isStandard(node: onnxProto.onnx.NodeProto): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

type NodeContext = PlanOptions & {
  types: Map<string, number>;
  /** Precision of each FLOAT value planned so far. */
  storedAt: Map<string, Precision>;
  floatOnly: Map<string, string>;
  opsetVersion: number;
};

function planNode(node: onnxProto.onnx.NodeProto, context: NodeContext): NodePlan {
  const { types, opsetVersion } = context;
  const inputTypes = node.input.map((name) => (name ? (types.get(name) ?? null) : null));
  const rules = isStandard(node) && !hasSubgraph(node) ? outputRules(node) : null;
  const outputTypes = node.output.map((name, i) => {
    const rule = rules?.[i];
    const derived = !rule ? null : rule.from === 'input' ? (inputTypes[rule.index] ?? null) : rule.type;
    return (name ? types.get(name) : undefined) ?? derived;
  });
  const touchesFloat = inputTypes.includes(FLOAT) || outputTypes.includes(FLOAT);
  const unknown = node.input.some((name, i) => name && inputTypes[i] === null) || node.output.some((name, i) => name && outputTypes[i] === null);
  const fp32Data = node.input.every((name, i) => inputTypes[i] !== FLOAT || context.storedAt.get(name) === 32);
  const keptBecause = keepReason(node, { ...context, unknown, rulesKnown: rules !== null, fp32Data });
  const convert = touchesFloat && keptBecause === null;
  const slots = new Set(isStandard(node) ? floatOnlyInputs(node.opType, opsetVersion) : []);
  return {
    proto: node,
    convert,
    reason: keptBecause ?? (touchesFloat ? 'computes in FP16' : 'no FLOAT values'),
    touchesFloat,
    inputPrecision: inputTypes.map((type, i) => (type !== FLOAT ? null : convert && !slots.has(i) ? 16 : 32)),
    outputTypes,
    outputPrecision: outputTypes.map((type, i) => (type !== FLOAT ? null : convert && rules?.[i]?.from !== 'fixed' ? 16 : 32)),
  };
}

type KeepContext = NodeContext & {
  unknown: boolean;
  rulesKnown: boolean;
  /** Every FLOAT input is stored FP32. */
  fp32Data: boolean;
};

/** Why the node stays FP32, or null when it can compute in FP16. */
function keepReason(node: onnxProto.onnx.NodeProto, context: KeepContext): string | null {
  if (!isStandard(node)) return `an operator of domain ${node.domain}, whose types this converter does not know`;
  if (hasSubgraph(node)) return 'it has subgraphs (If, Loop, Scan), which this converter does not convert';
  if (!context.rulesKnown) return `this converter has no type rule for ${node.opType}`;
  if (context.unknown) return 'the element type of an input or output is unknown (it follows an operator kept for that reason)';
  const spec = noFp16InSpec(node.opType, context.opsetVersion);
  if (spec) return spec;
  if (context.fp32OpTypes.has(node.opType)) return context.fp32Reason(node.opType);
  const feeds = node.output.map((name) => context.floatOnly.get(name)).find(Boolean);
  if (feeds) return `it feeds ${feeds}, which the ONNX spec types float only`;
  if (DATA_MOVEMENT.has(node.opType) && context.fp32Data) return 'it only moves data, and its FLOAT inputs are FP32: Casts around it would only round them';
  return null;
}

function hasSubgraph(node: onnxProto.onnx.NodeProto): boolean {
  const { GRAPH, GRAPHS } = onnx.AttributeProto.AttributeType;
  return node.attribute.some((a) => a.type === GRAPH || a.type === GRAPHS);
}
