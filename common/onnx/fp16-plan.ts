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

export function planNodes(model: ModelProto, fp32OpTypes: ReadonlySet<string>, fp32Reason: (opType: string) => string): Plan {
  // A decoded message: every repeated field is an array and nested messages are instances, whatever the I-types allow.
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const opsetVersion = Number(opset ?? 0);
  const types = declaredTypes(graph);
  const floatOnly = floatOnlyReaders(graph.node as onnxProto.onnx.NodeProto[], opsetVersion);
  const nodes = (graph.node as onnxProto.onnx.NodeProto[]).map((node) => {
    const plan = planNode(node, types, floatOnly, opsetVersion, fp32OpTypes, fp32Reason);
    plan.outputTypes.forEach((type, i) => type !== null && node.output[i] && !types.has(node.output[i]!) && types.set(node.output[i]!, type));
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

function floatOnlyReaders(nodes: readonly onnxProto.onnx.NodeProto[], opsetVersion: number): Map<string, string> {
  const readers = new Map<string, string>();
  for (const node of nodes) {
    if (!isStandard(node)) continue;
    for (const slot of floatOnlyInputs(node.opType, opsetVersion)) {
      const name = node.input[slot];
      if (name && !readers.has(name)) readers.set(name, `${node.opType} input ${slot}`);
    }
  }
  return readers;
}

function isStandard(node: onnxProto.onnx.NodeProto): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

function planNode(
  node: onnxProto.onnx.NodeProto,
  types: Map<string, number>,
  floatOnly: Map<string, string>,
  opsetVersion: number,
  fp32OpTypes: ReadonlySet<string>,
  fp32Reason: (opType: string) => string,
): NodePlan {
  const inputTypes = node.input.map((name) => (name ? (types.get(name) ?? null) : null));
  const rules = isStandard(node) && !hasSubgraph(node) ? outputRules(node) : null;
  const outputTypes = node.output.map((name, i) => {
    const rule = rules?.[i];
    const derived = !rule ? null : rule.from === 'input' ? (inputTypes[rule.index] ?? null) : rule.type;
    return (name ? types.get(name) : undefined) ?? derived;
  });
  const touchesFloat = inputTypes.includes(FLOAT) || outputTypes.includes(FLOAT);
  const unknown = node.input.some((name, i) => name && inputTypes[i] === null) || node.output.some((name, i) => name && outputTypes[i] === null);
  const keptBecause = keepReason(node, { unknown, rulesKnown: rules !== null, floatOnly, opsetVersion, fp32OpTypes, fp32Reason });
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

type KeepContext = {
  unknown: boolean;
  rulesKnown: boolean;
  floatOnly: Map<string, string>;
  opsetVersion: number;
  fp32OpTypes: ReadonlySet<string>;
  fp32Reason: (opType: string) => string;
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
  return null;
}

function hasSubgraph(node: onnxProto.onnx.NodeProto): boolean {
  const { GRAPH, GRAPHS } = onnx.AttributeProto.AttributeType;
  return node.attribute.some((a) => a.type === GRAPH || a.type === GRAPHS);
}
