// What the FP16 converter must know of each ONNX operator, without ONNX's
// shape inference (there is none in TypeScript):
//
// - the element type of each output, as a rule: the type of an input (most
//   ops: T in, T out), a fixed type (Shape → INT64, Less → BOOL), or a type
//   named by an attribute (Cast's `to`, Constant's tensor), which the
//   converter rewrites to FLOAT16 with the rest of the node;
// - the inputs the ONNX spec types as float only, with no float16 (Resize's
//   scales), and the operators that have no float16 at all (Range).
//
// An operator missing from these tables has unknown output types: the
// converter leaves it, and everything computed from it, in FP32 rather than
// guess (a wrong guess would give a model onnxruntime refuses).

import onnxProto from 'onnx-proto';
import { int64 } from './decode-model.ts';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

export type NodeProto = onnxProto.onnx.INodeProto;

export type OutputRule = { from: 'input'; index: number } | { from: 'fixed'; type: number } | { from: 'attribute'; type: number };

const SAME_AS_FIRST_INPUT = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool', 'BatchNormalization', 'Ceil', 'Celu', 'Clip', 'Concat',
  'Conv', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'Div', 'Einsum', 'Elu', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor',
  'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Hardmax',
  'Identity', 'InstanceNormalization', 'LRN', 'LeakyRelu', 'Log', 'LogSoftmax', 'MatMul', 'Max', 'Mean', 'Min', 'Mish', 'Mod', 'Mul', 'Neg',
  'PRelu', 'Pad', 'Pow', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean',
  'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign', 'Sin',
  'Sinh', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Tan', 'Tanh',
  'ThresholdedRelu', 'Tile', 'Transpose', 'Unsqueeze', 'Upsample',
]);

const INT64_OUTPUT = new Set(['ArgMax', 'ArgMin', 'NonZero', 'Shape', 'Size']);
const BOOL_OUTPUT = new Set(['And', 'Equal', 'Greater', 'GreaterOrEqual', 'IsInf', 'IsNaN', 'Less', 'LessOrEqual', 'Not', 'Or', 'Xor']);

/** One rule per output, or null when this table does not know the operator. */
export function outputRules(node: NodeProto): OutputRule[] | null {
  const op = node.opType ?? '';
  const count = node.output?.length ?? 0;
  const all = (rule: OutputRule): OutputRule[] => Array.from({ length: count }, () => rule);
  const first: OutputRule = { from: 'input', index: 0 };
  const fixed = (type: number): OutputRule => ({ from: 'fixed', type });
  if (op === 'Dropout') return [first, fixed(DataType.BOOL)].slice(0, count);
  if (op === 'TopK' || op === 'MaxPool') return [first, fixed(DataType.INT64)].slice(0, count);
  // LayerNormalization's mean and inverse deviation are of type U: float or bfloat16 only (opset 17).
  if (op === 'LayerNormalization') return [first, fixed(DataType.FLOAT), fixed(DataType.FLOAT)].slice(0, count);
  if (SAME_AS_FIRST_INPUT.has(op)) return all(first);
  // Where(condition, X, Y) is X's type; CastLike(input, target_type) is target_type's.
  if (op === 'Where' || op === 'CastLike') return all({ from: 'input', index: 1 });
  if (INT64_OUTPUT.has(op)) return all(fixed(DataType.INT64));
  if (BOOL_OUTPUT.has(op)) return all(fixed(DataType.BOOL));
  return attributeRule(node).map(all)[0] ?? null;
}

/**
 * The output type an attribute names: Cast's `to`, Constant's and ConstantOfShape's tensor, which a converted node
 * turns FLOAT16. A value the converter does not rewrite (Constant's value_float, ConstantOfShape's default 0.0, a
 * tensor in an external file) is a fixed FLOAT.
 */
function attributeRule(node: NodeProto): OutputRule[] {
  const attribute = (name: string) => node.attribute?.find((a) => a.name === name);
  const tensorRule = (tensor: onnxProto.onnx.ITensorProto | null | undefined): OutputRule[] => {
    if (!tensor) return [{ from: 'fixed', type: DataType.FLOAT }];
    const external = tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
    return [{ from: external ? 'fixed' : 'attribute', type: tensor.dataType ?? DataType.UNDEFINED }];
  };
  if (node.opType === 'Cast') return [{ from: 'attribute', type: int64(attribute('to')?.i) }];
  if (node.opType === 'ConstantOfShape') return tensorRule(attribute('value')?.t);
  if (node.opType !== 'Constant') return [];
  const value = node.attribute?.[0];
  if (value?.name === 'value') return tensorRule(value.t);
  if (value?.name === 'value_float' || value?.name === 'value_floats') return [{ from: 'fixed', type: DataType.FLOAT }];
  if (value?.name === 'value_int' || value?.name === 'value_ints') return [{ from: 'fixed', type: DataType.INT64 }];
  return [];
}

/**
 * Input slots the ONNX spec types tensor(float) only, whatever the data's type: a
 * FLOAT initializer or value feeding one stays FLOAT. Resize (opset 11+) takes
 * X, roi, scales, sizes; opset 10's Resize and Upsample take X, scales.
 */
export function floatOnlyInputs(opType: string, opsetVersion: number): readonly number[] {
  if (opType === 'Resize') return opsetVersion >= 11 ? [2] : [1];
  if (opType === 'Upsample') return [1];
  return [];
}

/** Operators whose spec has no float16 at all (at the model's opset): they stay FP32 whatever the block list says. */
const NO_FP16_IN_SPEC: readonly { opType: string; beforeOpset: number; why: string }[] = [
  { opType: 'Range', beforeOpset: Infinity, why: 'the ONNX spec types Range over float, double and integers, not float16' },
  { opType: 'CumSum', beforeOpset: 14, why: 'the ONNX spec adds float16 to CumSum in opset 14' },
  { opType: 'QuantizeLinear', beforeOpset: 19, why: 'the ONNX spec adds a float16 scale to QuantizeLinear in opset 19' },
  { opType: 'DequantizeLinear', beforeOpset: 19, why: 'the ONNX spec adds a float16 scale to DequantizeLinear in opset 19' },
  { opType: 'DynamicQuantizeLinear', beforeOpset: Infinity, why: 'the ONNX spec types DynamicQuantizeLinear input as float only' },
];

/** Why the spec keeps this operator in FP32 at this opset, or null. */
export function noFp16InSpec(opType: string, opsetVersion: number): string | null {
  const entry = NO_FP16_IN_SPEC.find((e) => e.opType === opType && opsetVersion < e.beforeOpset);
  return entry ? entry.why : null;
}
