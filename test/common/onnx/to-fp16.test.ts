import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import t, { type Test } from 'tap';
import type { ModelProto } from '../../../common/onnx/decode-model.ts';
import { CPU_FP32_OPS } from '../../../common/onnx/fp16-cpu-ops.ts';
import { toHalfTensor } from '../../../common/onnx/fp16-tensor.ts';
import { toFp16, type Fp16Options } from '../../../common/onnx/to-fp16.ts';
import { encodeModel, floatInitializer, int64Initializer, node, valueInfo, type GraphParts } from '../../../scripts/demo-models/onnx-builder.ts';
import { DEMO_MODELS } from '../../../scripts/demo-models/specs.ts';
import { errorOf, sampleFeeds } from '../../helpers/onnx-feeds.ts';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/**
 * FP16 keeps 11 significant bits: each converted weight is off by at most 2^-11 ≈ 4.9e-4 of itself. A dot
 * product of such weights errs by at most that fraction of Σ|w·x|, which exceeds |y| by the cancellation in the
 * sum; over the demo models' three layers the measured error stays below 6e-4 of the output's largest magnitude.
 * 1e-2 of that magnitude leaves a 15× margin for other inputs and platforms, and still fails on a wrong byte
 * order, a wrong Cast or a lost bias (errors of the order of the output itself). Rounding itself is checked exactly
 * against Math.f16round below.
 */
const TOLERANCE_OF_OUTPUT_RANGE = 1e-2;

/** Dynamic axes of the demo models, set for the sample. */
const DIM_VALUES: Record<string, number> = { batch: 32, sequence: 5 };

const SESSION: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, intraOpNumThreads: 1 };

function decoded(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

function encoded(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

function convert(bytes: Uint8Array, options?: Fp16Options) {
  const result = toFp16(decoded(bytes), options);
  return { bytes: encoded(result.model), notes: result.notes, model: result.model };
}


async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(Buffer.from(bytes), SESSION);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function initializerBytes(model: ModelProto): number {
  return model.graph!.initializer!.reduce((sum, init) => sum + (init.rawData?.byteLength ?? 0), 0);
}

async function compareWithFp32(t: Test, original: Uint8Array, converted: Uint8Array, seed: number): Promise<void> {
  const feeds = sampleFeeds(decoded(original), seed, { dimValues: DIM_VALUES, floatMin: -1 });
  const expected = await run(original, feeds);
  const actual = await run(converted, feeds);
  t.same(Object.keys(actual).sort(), Object.keys(expected).sort(), 'same output names');
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name]!;
    t.equal(got.type, 'float32', `${name} is FP32`);
    t.same(got.dims, want.dims, `${name} has the same shape`);
    const { maxError, range } = errorOf(want, got);
    t.ok(maxError <= TOLERANCE_OF_OUTPUT_RANGE * range, `${name}: max |error| ${maxError.toExponential(2)} ≤ 1e-2 × max |output| ${range.toFixed(3)}`);
  }
}


for (const demo of DEMO_MODELS) {
  t.test(`${demo.name} v${demo.version} in FP16: same signature, FP32 at the edges, outputs within 1e-2 of the output range, half the weight bytes`, async (t) => {
    const original = encodeModel(demo.graph());
    const converted = convert(original);
    await compareWithFp32(t, original, converted.bytes, demo.seed);
    const ratio = initializerBytes(converted.model) / initializerBytes(decoded(original));
    t.ok(ratio > 0.49 && ratio <= 0.5, `initializer bytes ×${ratio.toFixed(4)}`);
    t.comment(`${demo.name}: initializers ×${ratio.toFixed(4)}, file ${original.byteLength} → ${converted.bytes.byteLength} bytes (×${(converted.bytes.byteLength / original.byteLength).toFixed(4)})`);
    const inputs = converted.model.graph!.input!.map((i) => i.type!.tensorType!.elemType);
    t.same(inputs, decoded(original).graph!.input!.map((i) => i.type!.tensorType!.elemType), 'inputs keep their datatypes');
    const nodeNames = converted.model.graph!.node!.map((n) => n.name);
    t.equal(new Set(nodeNames).size, nodeNames.length, 'node names are unique');
    t.same(convert(original).bytes, converted.bytes, 'a second conversion gives the same bytes');
  });
}

t.test('the demo models from writeDemoModels convert the same as built in memory', async (t) => {
  const { writeDemoModels } = await import('../../../scripts/demo-models/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'to-fp16-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await writeDemoModels(dir);
  for (const demo of DEMO_MODELS) {
    const file = readFileSync(join(dir, demo.name, demo.version, 'model.onnx'));
    t.same(convert(file).bytes, convert(encodeModel(demo.graph())).bytes, `${demo.name} v${demo.version}`);
  }
});

t.test('heavy: every Gemm is kept in FP32 on the CPU list, its FP16 weights cast in front of it, notes say so', async (t) => {
  const heavy = DEMO_MODELS.find((m) => m.name === 'heavy')!;
  const { model, notes } = convert(encodeModel(heavy.graph()));
  const ops = model.graph!.node!.map((n) => `${n.opType}:${n.input!.join(',')}`);
  t.same(ops.slice(0, 3), ['Cast:W0', 'Cast:B0', 'Gemm:input,W0_fp32,B0_fp32']);
  t.same(
    model.graph!.initializer!.map((i) => [i.name, i.dataType]),
    ['W0', 'B0', 'W1', 'B1', 'W2', 'B2'].map((name) => [name, DataType.FLOAT16]),
  );
  t.same(notes.find((n) => n.name === 'W0'), { subject: 'initializer', name: 'W0', action: 'converted', reason: 'FLOAT → FLOAT16, 1048576 values' });
  t.match(notes.find((n) => n.name === 'Gemm_gemm0'), { subject: 'node', action: 'kept', reason: /no float16 kernel/ });
  t.match(notes.find((n) => n.name === 'input'), { subject: 'input', action: 'kept' });
});

t.test('with an empty FP32 list every operator computes in FP16, with one Cast at each FP32 edge', async (t) => {
  const classifier = DEMO_MODELS[0]!;
  const original = encodeModel(classifier.graph());
  const converted = convert(original, { fp32OpTypes: [] });
  const nodes = converted.model.graph!.node!;
  t.same(
    nodes.filter((n) => n.opType === 'Cast').map((n) => [n.input![0], n.output![0], n.attribute![0]!.i]),
    [
      ['input', 'input_fp16', DataType.FLOAT16],
      ['probabilities_fp16', 'probabilities', DataType.FLOAT],
    ],
  );
  t.equal(nodes.find((n) => n.opType === 'Softmax')!.output![0], 'probabilities_fp16', 'the output\'s producer writes a renamed FP16 value');
  await compareWithFp32(t, original, converted.bytes, 5);
});

t.test('keepIo off: inputs and outputs become FLOAT16 and no Cast is added', async (t) => {
  const converted = convert(encodeModel(DEMO_MODELS[0]!.graph()), { keepIo: false, fp32OpTypes: [] });
  const graph = converted.model.graph!;
  t.same([...graph.input!, ...graph.output!].map((v) => v.type!.tensorType!.elemType), [DataType.FLOAT16, DataType.FLOAT16]);
  t.equal(graph.node!.filter((n) => n.opType === 'Cast').length, 0);
  // onnxruntime loads it. It is not run: onnxruntime-node 1.30 on Node 24 cannot feed float16 (its Tensor turns a
  // Uint16Array into a Float16Array, which the native binding reads as empty: "not enough space: expected 16, got 0"),
  // which is why keepIo is the default.
  const session = await ort.InferenceSession.create(Buffer.from(converted.bytes), SESSION);
  t.same(session.inputNames, ['input']);
  await session.release();
});

/** x [batch, 4] ─Reshape(shape: INT64 [-1, 2])─▶ ×scale (FP32 [2]) ─Resize(scales: FP32 [1, 2])─▶ y [batch·2, 4]. */
function reshapeResizeModel(): GraphParts {
  return {
    name: 'reshape-resize',
    nodes: [
      node('Reshape', ['x', 'shape'], ['pairs']),
      node('Mul', ['pairs', 'scale'], ['scaled']),
      { opType: 'Resize', name: 'Resize_y', input: ['scaled', '', 'scales'], output: ['y'], attribute: [{ name: 'mode', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('nearest') }] },
    ],
    initializers: [int64Initializer('shape', [2], [-1, 2]), floatInitializer('scale', [2], Float32Array.of(0.5, 3)), floatInitializer('scales', [2], Float32Array.of(1, 2))],
    inputs: [valueInfo('x', 'float32', ['batch', 4])],
    outputs: [valueInfo('y', 'float32', ['batch2', 4])],
  };
}

t.test('an INT64 shape initializer is untouched; a FLOAT one feeding Resize scales stays FLOAT and is listed', async (t) => {
  const original = encodeModel(reshapeResizeModel());
  const before = decoded(original).graph!.initializer!;
  const { model, notes, bytes } = convert(original, { fp32OpTypes: [] });
  const after = model.graph!.initializer!;
  t.same(after[0], before[0], 'the INT64 shape is the same tensor, byte for byte');
  t.same(after.map((i) => [i.name, i.dataType]), [['shape', DataType.INT64], ['scale', DataType.FLOAT16], ['scales', DataType.FLOAT]]);
  t.same(notes.find((n) => n.name === 'scales'), { subject: 'initializer', name: 'scales', action: 'kept', reason: 'FLOAT: it feeds Resize input 2, which the ONNX spec types float only' });
  t.same(model.graph!.node!.find((n) => n.opType === 'Resize')!.input, ['scaled', '', 'scales'], 'Resize reads its FP16 data and its FLOAT scales');
  await compareWithFp32(t, original, bytes, 9);
});

t.test('a Constant tensor, a Cast to FLOAT and value_info are converted with the nodes', async (t) => {
  const half = onnx.TensorProto.create(floatInitializer('', [1], Float32Array.of(0.5)));
  const parts: GraphParts = {
    name: 'constant-cast',
    nodes: [
      { opType: 'Constant', name: 'Constant_half', output: ['half'], attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: half }] },
      node('Cast', ['ids'], ['idsFloat'], { to: DataType.FLOAT }),
      node('Mul', ['idsFloat', 'half'], ['halved']),
      node('Add', ['halved', 'x'], ['y']),
    ],
    initializers: [],
    inputs: [valueInfo('ids', 'int64', ['batch', 3]), valueInfo('x', 'float32', ['batch', 3])],
    outputs: [valueInfo('y', 'float32', ['batch', 3])],
  };
  const model = decoded(encodeModel(parts));
  model.graph!.valueInfo = [valueInfo('halved', 'float32', ['batch', 3])];
  const original = encoded(model);
  const converted = convert(original, { fp32OpTypes: [] });
  const nodes = converted.model.graph!.node!;
  t.equal(nodes.find((n) => n.opType === 'Constant')!.attribute![0]!.t!.dataType, DataType.FLOAT16);
  t.equal(Number(nodes.find((n) => n.name === 'Cast_idsFloat')!.attribute![0]!.i), DataType.FLOAT16);
  t.equal(converted.model.graph!.valueInfo![0]!.type!.tensorType!.elemType, DataType.FLOAT16);
  await compareWithFp32(t, original, converted.bytes, 11);
});

t.test('an operator of another domain and everything after it stay FP32', async (t) => {
  const parts: GraphParts = {
    name: 'custom',
    nodes: [node('Relu', ['x'], ['r']), { ...node('Custom', ['r'], ['c']), domain: 'com.example' }, node('Relu', ['c'], ['y'])],
    initializers: [],
    inputs: [valueInfo('x', 'float32', [1, 2])],
    outputs: [valueInfo('y', 'float32', [1, 2])],
  };
  const { model, notes } = convert(encodeModel(parts), { fp32OpTypes: [] });
  t.same(
    model.graph!.node!.map((n) => `${n.opType}:${n.input!.join(',')}`),
    ['Cast:x', 'Relu:x_fp16', 'Cast:r', 'Custom:r_fp32', 'Relu:c'],
  );
  t.same(notes.filter((n) => n.subject === 'node').map((n) => n.action), ['converted', 'kept', 'kept']);
});

t.test('FP16 rounding: nearest, ties to even, overflow clamped to ±65504 and counted', async (t) => {
  const values = Float32Array.of(1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 1e5, -1e5, 1e-9, -0, 65519);
  const half = toHalfTensor(floatInitializer('v', [values.length], values));
  if ('reason' in half) throw new Error(half.reason);
  const view = new DataView(half.tensor.rawData!.buffer);
  const read = Array.from(values, (_, i) => view.getFloat16(i * 2, true));
  t.same(read, [1, 1, 1 + 2 ** -9, Math.f16round(0.1), 65504, -65504, 0, -0, 65504]);
  t.equal(half.clamped, 2);
  t.equal(half.flushedToZero, 1);
  t.same(Array.from(half.tensor.rawData!.subarray(0, 2)), [0x00, 0x3c], 'little-endian: 1.0 is 0x3C00');
});

/**
 * Re-measures the CPU FP32 list (fp16-cpu-ops.ts) on the installed onnxruntime: Cast(x → FP16) → op → Cast(→ FP32),
 * session optimized graph saved; an operator with a float16 kernel still reads `x`, one without reads FP32 (onnxruntime
 * cast it back itself). Concat and Gather, left off the list, are the control.
 */
t.test('the CPU FP32 list is what onnxruntime-node CPU lacks float16 kernels for', { skip: process.arch !== 'x64' && 'the list was measured on x86-64' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fp16-kernels-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const { opType } of CPU_FP32_OPS) t.notOk(await readsFloat16(dir, opType), `${opType} has no float16 kernel`);
  for (const opType of ['Concat', 'Gather']) t.ok(await readsFloat16(dir, opType), `${opType} has one`);
});

const PROBE_ATTRIBUTES: Record<string, Record<string, number | number[]>> = {
  Concat: { axis: 1 },
  ReduceMean: { axes: [1] },
  ReduceMax: { axes: [1] },
  ReduceMin: { axes: [1] },
  ReduceL2: { axes: [1] },
};
const BINARY = new Set(['Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Mean', 'Concat']);

async function readsFloat16(dir: string, opType: string): Promise<boolean> {
  const inputs = opType === 'Gather' ? ['x', 'index'] : BINARY.has(opType) ? ['x', 'x'] : ['x'];
  const parts: GraphParts = {
    name: 'probe',
    nodes: [node('Cast', ['x32'], ['x'], { to: DataType.FLOAT16 }), node(opType, inputs, ['y'], PROBE_ATTRIBUTES[opType]), node('Cast', ['y'], ['y32'], { to: DataType.FLOAT })],
    initializers: [int64Initializer('index', [1], [0])],
    inputs: [valueInfo('x32', 'float32', [4, 4])],
    outputs: [{ name: 'y32' }],
  };
  const file = join(dir, `${opType}.onnx`);
  const session = await ort.InferenceSession.create(Buffer.from(encodeModel(parts)), { logSeverityLevel: 3, graphOptimizationLevel: 'disabled', optimizedModelFilePath: file });
  await session.release();
  return decoded(readFileSync(file)).graph!.node!.some((n) => n.opType !== 'Cast' && n.input!.includes('x'));
}

t.test('ranker: Gather reads the FP16 table; Concat of FP32 values stays FP32 instead of being cast around', async (t) => {
  const ranker = DEMO_MODELS.find((m) => m.name === 'ranker')!;
  const { model, notes } = convert(encodeModel(ranker.graph()));
  t.same(
    model.graph!.node!.map((n) => `${n.opType}:${n.input!.join(',')}`),
    ['Gather:table,item_ids', 'Cast:gathered', 'ReduceMean:gathered_fp32', 'Concat:features,embedding', 'Cast:W', 'Cast:B', 'Gemm:joined,W_fp32,B_fp32', 'Sigmoid:logit'],
  );
  t.match(notes.find((n) => n.name === 'Concat_joined'), { action: 'kept', reason: /only moves data/ });
});

t.test("Range's FLOAT inputs and an epsilon FP16 would zero stay FLOAT, and the notes say why", async (t) => {
  const parts: GraphParts = {
    name: 'range-epsilon',
    nodes: [node('Range', ['start', 'limit', 'delta'], ['ramp']), node('Mul', ['ramp', 'w'], ['weighted']), node('Add', ['weighted', 'x'], ['sum']), node('Add', ['sum', 'epsilon'], ['y'])],
    initializers: [
      floatInitializer('start', [], Float32Array.of(0)),
      floatInitializer('limit', [], Float32Array.of(2.05)),
      floatInitializer('delta', [], Float32Array.of(0.1)),
      floatInitializer('w', [21], Float32Array.from({ length: 21 }, (_, i) => i / 7)),
      floatInitializer('epsilon', [1], Float32Array.of(1e-8)),
    ],
    inputs: [valueInfo('x', 'float32', [21])],
    outputs: [valueInfo('y', 'float32', [21])],
  };
  const original = encodeModel(parts);
  const { model, notes, bytes } = convert(original);
  t.same(
    model.graph!.initializer!.map((i) => [i.name, i.dataType]),
    [['start', DataType.FLOAT], ['limit', DataType.FLOAT], ['delta', DataType.FLOAT], ['w', DataType.FLOAT16], ['epsilon', DataType.FLOAT]],
  );
  t.same(notes.find((n) => n.name === 'limit')?.reason, 'FLOAT: it feeds Range input 1, which the ONNX spec types float only');
  t.same(notes.find((n) => n.name === 'epsilon')?.reason, 'FLOAT: in FLOAT16 1 became 0, and every reader computes in FP32');
  await compareWithFp32(t, original, bytes, 13);
});

t.test('an initializer that is also a graph input (IR < 4) stays FLOAT, even with keepIo off', async (t) => {
  const parts: GraphParts = {
    name: 'overridable',
    nodes: [node('Mul', ['x', 'gain'], ['y'])],
    initializers: [floatInitializer('gain', [2], Float32Array.of(2, 3))],
    inputs: [valueInfo('x', 'float32', [1, 2]), valueInfo('gain', 'float32', [2])],
    outputs: [valueInfo('y', 'float32', [1, 2])],
  };
  const original = encodeModel(parts);
  for (const keepIo of [true, false]) {
    const { model } = convert(original, { keepIo, fp32OpTypes: [] });
    t.same(model.graph!.initializer!.map((i) => i.dataType), [DataType.FLOAT], `keepIo ${keepIo}: the initializer`);
    t.same(model.graph!.input!.map((i) => i.type!.tensorType!.elemType), [keepIo ? DataType.FLOAT : DataType.FLOAT16, DataType.FLOAT], `keepIo ${keepIo}: the inputs`);
    const expected = keepIo ? ['Cast:x', 'Cast:gain', 'Mul:x_fp16,gain_fp16', 'Cast:y_fp16'] : ['Cast:gain', 'Mul:x,gain_fp16'];
    t.same(model.graph!.node!.map((n) => `${n.opType}:${n.input!.join(',')}`), expected, `keepIo ${keepIo}: the nodes`);
  }
  await compareWithFp32(t, original, convert(original).bytes, 17);
});
