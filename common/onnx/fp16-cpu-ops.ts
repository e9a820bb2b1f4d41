// The operators onnxruntime's CPU provider cannot compute in FP16: the
// converter's default block list, kept in FP32 with Casts around them.
//
// Measured on onnxruntime-node 1.30, x86-64 (test/common/onnx/to-fp16.test.ts
// re-measures every entry): each operator was given a float16 input in a
// one-node graph and the session's optimized graph saved. Where the CPU
// provider has no float16 kernel, onnxruntime's InsertCastTransformer feeds
// the node FP32 instead (it casts back and forth itself, and at load time
// removes the Cast pair in front of it); where it has one, the node still
// reads the float16 tensor. The x86 build registers float16 kernels only for
// data movement (Identity, Transpose, Flatten, Concat, Gather, Reshape) and
// for Max, Min and Round: no arithmetic. (The ARM64 build has more float16
// kernels, behind MLAS's fp16 vector support; this list is for x86-64.)
//
// So onnxruntime would compute these in FP32 anyway. Blocking them in the
// model says so in the file and in the converter's notes instead of claiming
// FP16 compute, and gives the same graph whatever kernels a build has. The
// weights still shrink: an FP16 initializer feeding a blocked operator goes
// through a Cast, which onnxruntime folds into an FP32 constant when it
// creates the session (a load-time cost, not a per-request one). Pass an
// empty list for a provider with FP16 arithmetic (CUDA, ARM64 CPU).

export type CpuFp32Op = { readonly opType: string; readonly why: string };

const NO_KERNEL = 'onnxruntime 1.30 CPU (x86-64) has no float16 kernel for it';

export const CPU_FP32_OPS: readonly CpuFp32Op[] = [
  // In the demo models (classifier, heavy, pooler, ranker):
  { opType: 'Gemm', why: NO_KERNEL },
  { opType: 'Relu', why: NO_KERNEL },
  { opType: 'Sigmoid', why: NO_KERNEL },
  { opType: 'ReduceMean', why: NO_KERNEL },
  // No Softmax kernel: onnxruntime expands its function body (ReduceMax, Sub, Exp, ReduceSum, Div), each without one.
  { opType: 'Softmax', why: `${NO_KERNEL} (onnxruntime expands it into ReduceMax, Sub, Exp, ReduceSum and Div, none of which has one)` },
  // Common elsewhere, measured the same way:
  { opType: 'MatMul', why: NO_KERNEL },
  { opType: 'Add', why: NO_KERNEL },
  { opType: 'Sub', why: NO_KERNEL },
  { opType: 'Mul', why: NO_KERNEL },
  { opType: 'Div', why: NO_KERNEL },
  { opType: 'Pow', why: NO_KERNEL },
  { opType: 'Sum', why: NO_KERNEL },
  { opType: 'Mean', why: NO_KERNEL },
  { opType: 'Tanh', why: NO_KERNEL },
  { opType: 'Exp', why: NO_KERNEL },
  { opType: 'Log', why: NO_KERNEL },
  { opType: 'Sqrt', why: NO_KERNEL },
  { opType: 'Reciprocal', why: NO_KERNEL },
  { opType: 'Abs', why: NO_KERNEL },
  { opType: 'Neg', why: NO_KERNEL },
  { opType: 'Erf', why: NO_KERNEL },
  { opType: 'Elu', why: NO_KERNEL },
  { opType: 'HardSigmoid', why: NO_KERNEL },
  { opType: 'Softplus', why: NO_KERNEL },
  { opType: 'Floor', why: NO_KERNEL },
  { opType: 'Ceil', why: NO_KERNEL },
  { opType: 'ReduceMax', why: NO_KERNEL },
  { opType: 'ReduceMin', why: NO_KERNEL },
  { opType: 'ReduceL2', why: NO_KERNEL },
  { opType: 'LeakyRelu', why: `${NO_KERNEL} (onnxruntime expands it into Mul, Less and Where)` },
  { opType: 'LogSoftmax', why: `${NO_KERNEL} (onnxruntime expands it into its function body)` },
];

/** The default block list's operator types, in the table's order. */
export const DEFAULT_FP32_OP_TYPES: readonly string[] = CPU_FP32_OPS.map((op) => op.opType);
