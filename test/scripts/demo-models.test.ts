// The demo model repository: reproducible bytes, the signatures onnxruntime
// reads from the files, the same answers as plain TypeScript math, and the
// "poison" item id that makes the ranker fail at run time.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { DEMO_CONFIGS, DEMO_MODELS, writeDemoModels } from '../../scripts/demo-models/index.ts';
import { decodeModel, OPSET_VERSION } from '../../scripts/demo-models/onnx-builder.ts';
import { mulberry32 } from '../../scripts/demo-models/prng.ts';
import { CLASSIFIER_WIDTHS, HEAVY_WIDTHS, mlpWeights, poolerWeights, rankerWeights, RANKER_IDS_PER_ROW } from '../../scripts/demo-models/specs.ts';
import { denseForward, mlpForward, rankerForward } from './reference-math.ts';

const dir = t.testdir({});
const filesA = await writeDemoModels(join(dir, 'a'));
const filesB = await writeDemoModels(join(dir, 'b'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const modelPath = (name: string, version: string) => join(dir, 'a', name, version, 'model.onnx');
const seedOf = (name: string, version: string) => DEMO_MODELS.find((m) => m.name === name && m.version === version)!.seed;

// Golden digests: the files must not change by accident (another machine,
// another protobufjs, a refactor). Change a model on purpose → update here.
const DIGESTS: Record<string, string> = {
  'classifier/1': 'c403410dc23c224807b23cc3ec23fd657392e732ee91823b37bedd8e868e3925',
  'classifier/2': '797fb687afb2ecddd9d3953b3aaf7d24506cf0f761e030f0470474534788845e',
  'heavy/1': '5b6b15e9978d09cdb1ddbd277680bcebf64f507272eda9ddeb339a1192e57188',
  'ranker/1': 'a22a049f8718a47111a7f1b8d747e78c89a514f7d3c854122d3c03cbe6cad316',
  'pooler/1': '8e563210b9cf03265c3fa0a86b81225d1129a81b8dc1a0217ca8fabd81c40a5c',
};

t.test('the generator reproduces every model byte for byte', async (t) => {
  const models = filesA.filter((f) => f.endsWith('.onnx'));
  t.same(
    models.map((f) => relative(join(dir, 'a'), f)),
    DEMO_MODELS.map((m) => join(m.name, m.version, 'model.onnx')),
    'one file per model version, <name>/<version>/model.onnx',
  );
  t.same(
    filesA.filter((f) => !f.endsWith('.onnx')).map((f) => [relative(join(dir, 'a'), f), readFileSync(f, 'utf8')]),
    Object.entries(DEMO_CONFIGS).map(([name, text]) => [join(name, 'config.yaml'), text]),
    'and a config.yaml for the models that have one',
  );
  for (const [i, file] of models.entries()) {
    const key = relative(join(dir, 'a'), file).split('/').slice(0, 2).join('/');
    t.equal(sha256(file), sha256(filesB[i]!), `${key}: two writes are identical`);
    t.equal(sha256(file), DIGESTS[key], `${key}: matches the golden digest`);
  }
});

type Signature = { name: string; type: string; shape: (string | number)[] };
const SIGNATURES: Record<string, { inputs: Signature[]; outputs: Signature[] }> = {
  classifier: {
    inputs: [{ name: 'input', type: 'float32', shape: ['batch', 64] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', 10] }],
  },
  heavy: {
    inputs: [{ name: 'input', type: 'float32', shape: ['batch', 512] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 10] }],
  },
  ranker: {
    inputs: [
      { name: 'features', type: 'float32', shape: ['batch', 16] },
      { name: 'item_ids', type: 'int64', shape: ['batch', 4] },
    ],
    outputs: [
      { name: 'embedding', type: 'float32', shape: ['batch', 16] },
      { name: 'score', type: 'float32', shape: ['batch', 1] },
    ],
  },
  pooler: {
    inputs: [{ name: 'tokens', type: 'float32', shape: ['batch', 'sequence', 8] }],
    outputs: [{ name: 'pooled', type: 'float32', shape: ['batch', 4] }],
  },
};

t.test('onnxruntime reads opset 17 models with the expected signatures and a symbolic batch dim', async (t) => {
  for (const model of DEMO_MODELS) {
    const file = modelPath(model.name, model.version);
    const proto = decodeModel(readFileSync(file));
    // int64 fields decode as Long objects (protobufjs + long), hence Number().
    t.same(proto.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]], `${model.name} v${model.version}: opset 17`);
    t.equal(Number(proto.irVersion), 8, `${model.name} v${model.version}: IR version 8`);
    t.equal(OPSET_VERSION, 17);

    const session = await ort.InferenceSession.create(file);
    const read = (metas: readonly ort.InferenceSession.ValueMetadata[]) =>
      metas.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
    t.same(
      { inputs: read(session.inputMetadata), outputs: read(session.outputMetadata) },
      SIGNATURES[model.name],
      `${model.name} v${model.version}: names, types, shapes`,
    );
    await session.release();
  }
});

/** Largest |got - want| beyond the float32 tolerance 1e-5 + 1e-4·|want| (≤ 0 means within it). */
const excessError = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = -Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - 1e-5 - 1e-4 * Math.abs(want[i]!));
  return worst;
};

t.test('onnxruntime computes the same math as plain TypeScript', async (t) => {
  const random = mulberry32(2024);
  const mlps = [
    { name: 'classifier', version: '1', widths: CLASSIFIER_WIDTHS, softmax: true, output: 'probabilities' },
    { name: 'classifier', version: '2', widths: CLASSIFIER_WIDTHS, softmax: true, output: 'probabilities' },
    { name: 'heavy', version: '1', widths: HEAVY_WIDTHS, softmax: false, output: 'logits' },
  ];
  for (const c of mlps) {
    const session = await ort.InferenceSession.create(modelPath(c.name, c.version));
    const weights = mlpWeights(seedOf(c.name, c.version), c.widths);
    const [inputWidth, outputWidth] = [c.widths[0], c.widths[c.widths.length - 1]!];
    for (const rows of [1, 3, 8]) {
      const input = Float32Array.from({ length: rows * inputWidth }, () => random() * 2 - 1);
      const result = await session.run({ input: new ort.Tensor('float32', input, [rows, inputWidth]) });
      const got = result[c.output]!;
      t.same(got.dims, [rows, outputWidth], `${c.name} v${c.version} batch ${rows}: output shape`);
      const excess = excessError(got.data as Float32Array, mlpForward(weights, input, rows, c.softmax));
      t.ok(excess <= 0, `${c.name} v${c.version} batch ${rows}: within tolerance (excess ${excess.toExponential(2)})`);
    }
    await session.release();
  }

  const session = await ort.InferenceSession.create(modelPath('ranker', '1'));
  const weights = rankerWeights(seedOf('ranker', '1'));
  for (const rows of [1, 3, 8]) {
    const features = Float32Array.from({ length: rows * 16 }, () => random() * 2 - 1);
    const ids = BigInt64Array.from({ length: rows * RANKER_IDS_PER_ROW }, () => BigInt(Math.floor(random() * 1000)));
    const result = await session.run({
      features: new ort.Tensor('float32', features, [rows, 16]),
      item_ids: new ort.Tensor('int64', ids, [rows, RANKER_IDS_PER_ROW]),
    });
    const want = rankerForward(weights, features, ids, rows);
    t.same([result.embedding!.dims, result.score!.dims], [[rows, 16], [rows, 1]], `ranker batch ${rows}: output shapes`);
    t.ok(excessError(result.embedding!.data as Float32Array, want.embedding) <= 0, `ranker batch ${rows}: embedding`);
    t.ok(excessError(result.score!.data as Float32Array, want.score) <= 0, `ranker batch ${rows}: score`);
  }
  await session.release();

  const pooler = await ort.InferenceSession.create(modelPath('pooler', '1'));
  const poolerW = poolerWeights(seedOf('pooler', '1'));
  for (const [rows, sequence] of [[1, 1], [3, 5], [8, 2]] as const) {
    const tokens = Float32Array.from({ length: rows * sequence * 8 }, () => random() * 2 - 1);
    const result = await pooler.run({ tokens: new ort.Tensor('float32', tokens, [rows, sequence, 8]) });
    const mean = new Float64Array(rows * 8);
    for (let r = 0; r < rows; r++) for (let s = 0; s < sequence; s++) for (let d = 0; d < 8; d++) mean[r * 8 + d]! += tokens[(r * sequence + s) * 8 + d]! / sequence;
    t.same(result.pooled!.dims, [rows, 4]);
    t.ok(excessError(result.pooled!.data as Float32Array, denseForward(mean, rows, poolerW.head)) <= 0, `pooler batch ${rows} × sequence ${sequence}`);
  }
  await pooler.release();
});

t.test('the ranker rejects an item id beyond the table at run time, and keeps serving', async (t) => {
  // logSeverityLevel 4 (fatal only): the failing Gather would otherwise log an error line.
  const session = await ort.InferenceSession.create(modelPath('ranker', '1'), { logSeverityLevel: 4 });
  const run = (ids: bigint[]) =>
    session.run({
      features: new ort.Tensor('float32', new Float32Array(16), [1, 16]),
      item_ids: new ort.Tensor('int64', BigInt64Array.from(ids), [1, 4]),
    });
  await t.rejects(run([1n, 2n, 3n, 1000n]), {
    message: /Gather node.*indices element out of data bounds, idx=1000 must be within the inclusive range \[-1000,999\]/,
  });
  await t.rejects(run([-1001n, 0n, 0n, 0n]), { message: /idx=-1001/ }, 'below -rows is poison too');
  // Negative ids index from the end (numpy style): valid, not poison.
  const fromEnd = await run([-1n, -1n, -1n, -1n]);
  const last = await run([999n, 999n, 999n, 999n]);
  t.same(fromEnd.score!.data, last.score!.data, 'id -1 is row 999');
  const after = await run([0n, 1n, 2n, 3n]);
  t.same(after.score!.dims, [1, 1], 'the session still answers after the failure');
  await session.release();
});
