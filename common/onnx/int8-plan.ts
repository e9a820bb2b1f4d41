// Which MatMul and Gemm nodes the INT8 transform can rewrite, and why not
// for the others. A node qualifies when its weight B is a constant FLOAT
// initializer of rank 2 whose bytes are in the file, and any Gemm
// attribute has an integer-path form:
//
//   Gemm:  Y = alpha·A′·B′ + beta·C    (A′ = Aᵀ if transA, B′ = Bᵀ if transB)
//   INT8:  Y = (A_q − a_zp)·(B_q − b_zp) × (a_scale × alpha·b_scale) + beta·C
//
// transB is taken care of offline (B is quantized in [K, N] order), alpha
// goes into the weight's scales, beta into a constant C (a non-constant C
// is added as it is when beta is 1). transA = 1 would need a Transpose of
// the activation in front, which this transform does not add.

import onnxProto from 'onnx-proto';
import type { WeightLayout } from './int8-weights.ts';

const { onnx } = onnxProto;
const { DataType, DataLocation } = onnx.TensorProto;

export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

export type QuantizablePlan = {
  node: NodeProto;
  activation: string;
  weight: TensorProto;
  layout: WeightLayout;
  alpha: number;
  /** What is added after the scale multiply: a constant C (scaled by beta on the way), a graph value C, or nothing. */
  bias: { name: string; beta: number; constant: TensorProto | null } | null;
};

export type NodeDecision = QuantizablePlan | { node: NodeProto; reason: string };

export type PlanContext = {
  /** FLOAT initializers a client cannot override (not also graph inputs), by name. */
  constants: ReadonlyMap<string, TensorProto>;
  /** Graph inputs, so a weight fed by a client can be named as such. */
  graphInputs: ReadonlySet<string>;
};

export function planNode(node: NodeProto, context: PlanContext): NodeDecision {
  const opType = node.opType ?? '';
  if (node.domain && node.domain !== 'ai.onnx') return { node, reason: `an operator of domain ${node.domain}: only the standard MatMul and Gemm are quantized` };
  if (opType !== 'MatMul' && opType !== 'Gemm') return { node, reason: `${opType} has no integer form here: only MatMul and Gemm weights are quantized` };
  const [activation, weightName, biasName] = node.input ?? [];
  if (!activation || !weightName) return { node, reason: `${opType} without two inputs` };
  const weight = context.constants.get(weightName);
  if (!weight) {
    const where = context.graphInputs.has(weightName) ? 'a graph input (a client may feed or override it)' : 'computed in the graph';
    return { node, reason: `its weight ${weightName} is ${where}, not a constant initializer` };
  }
  const dims = (weight.dims ?? []).map(Number);
  if (weight.dataType !== DataType.FLOAT) return { node, reason: `its weight ${weightName} is not FLOAT` };
  if (dims.length !== 2) return { node, reason: `its weight ${weightName} has rank ${dims.length}: MatMulInteger's per-column scales need a 2-D weight` };
  if (weight.dataLocation === DataLocation.EXTERNAL) return { node, reason: `its weight ${weightName} is in an external file` };
  if (weight.segment) return { node, reason: `its weight ${weightName} is a segment of a larger tensor` };
  const [rows, columns] = dims as [number, number];
  if (opType === 'MatMul') return { node, activation, weight, layout: { rows, columns, transposed: false }, alpha: 1, bias: null };

  if (intAttribute(node, 'transA') !== 0) return { node, reason: 'transA = 1: the activation would need a Transpose in front of DynamicQuantizeLinear' };
  const transposed = intAttribute(node, 'transB') !== 0;
  const alpha = floatAttribute(node, 'alpha');
  const beta = floatAttribute(node, 'beta');
  const layout = transposed ? { rows: columns, columns: rows, transposed } : { rows, columns, transposed };
  if (!biasName || beta === 0) return { node, activation, weight, layout, alpha, bias: null };
  const constant = context.constants.get(biasName) ?? null;
  if (!constant && beta !== 1) return { node, reason: `beta = ${beta} with a C (${biasName}) that is not a constant, so it cannot be folded in` };
  if (constant && beta !== 1 && (constant.dataLocation === DataLocation.EXTERNAL || constant.segment)) return { node, reason: `beta = ${beta} and C (${biasName}) is stored outside the file` };
  return { node, activation, weight, layout, alpha, bias: { name: biasName, beta, constant } };
}

/** Gemm's transA and transB; absent means 0. */
function intAttribute(node: NodeProto, name: string): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute ? Number(attribute.i ?? 0) : 0;
}

/** Gemm's alpha and beta; absent means 1. */
function floatAttribute(node: NodeProto, name: string): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute ? (attribute.f ?? 0) : 1;
}
