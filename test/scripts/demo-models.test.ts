import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { DEMO_MODELS, writeDemoModels } from '../../scripts/demo-models/index.ts';
import { decodeModel, OPSET_VERSION } from '../../scripts/demo-models/onnx-builder.ts';
import { mulberry32 } from '../../scripts/demo-models/prng.ts';
import { CLASSIFIER_WIDTHS, HEAVY_WIDTHS, mlpWeights, rankerWeights, RANKER_IDS_PER_ROW } from '../../scripts/demo-models/specs.ts';
import { mlpForward, rankerForward } from './reference-math.ts';

const first = t.testdir({});
const second = t.testdir({});
const filesA = await writeDemoModels(join(first, 'a'));
const filesB = await writeDemoModels(join(second, 'b'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('the generator reproduces every model byte for byte', async (t) => {
  t.equal(filesA.length, DEMO_MODELS.length);
  for (const [i, file] of filesA.entries()) t.equal(sha256(file), sha256(filesB[i]!), file.slice(first.length));
});

t.test('models are opset 17 with a dynamic batch dimension', async (t) => {
  for (const file of filesA) {
    const model = decodeModel(readFileSync(file));
    t.same(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', OPSET_VERSION]]);
    t.ok(OPSET_VERSION >= 17);
    const session = await ort.InferenceSession.create(file);
    for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
      t.ok(meta.isTensor && meta.shape[0] === 'batch', `${file.slice(first.length)} ${meta.name} has a symbolic batch dim`);
    }
    await session.release();
  }
});

const path = (name: string, version: string) => join(first, 'a', name, version, 'model.onnx');
const tolerance = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - 1e-4 * Math.abs(want[i]!));
  return worst;
};

t.test('onnxruntime computes the same math as plain TypeScript', async (t) => {
  const random = mulberry32(2024);
  const cases = [
    { name: 'classifier', version: '1', seed: 101, widths: CLASSIFIER_WIDTHS, softmax: true, output: 'probabilities' },
    { name: 'classifier', version: '2', seed: 102, widths: CLASSIFIER_WIDTHS, softmax: true, output: 'probabilities' },
    { name: 'heavy', version: '1', seed: 201, widths: HEAVY_WIDTHS, softmax: false, output: 'logits' },
  ];
  for (const c of cases) {
    const session = await ort.InferenceSession.create(path(c.name, c.version));
    const weights = mlpWeights(c.seed, c.widths);
    for (const rows of [1, 3, 8]) {
      const input = Float32Array.from({ length: rows * c.widths[0] }, () => random() * 2 - 1);
      const result = await session.run({ input: new ort.Tensor('float32', input, [rows, c.widths[0]]) });
      const got = result[c.output]!;
      t.same(got.dims, [rows, c.widths[c.widths.length - 1]]);
      const worst = tolerance(got.data as Float32Array, mlpForward(weights, input, rows, c.softmax));
      t.ok(worst <= 1e-5, `${c.name} v${c.version} batch ${rows}: worst excess error ${worst.toExponential(2)}`);
    }
    await session.release();
  }

  const session = await ort.InferenceSession.create(path('ranker', '1'));
  const weights = rankerWeights(301);
  for (const rows of [1, 3, 8]) {
    const features = Float32Array.from({ length: rows * 16 }, () => random() * 2 - 1);
    const ids = BigInt64Array.from({ length: rows * RANKER_IDS_PER_ROW }, () => BigInt(Math.floor(random() * 1000)));
    const result = await session.run({
      features: new ort.Tensor('float32', features, [rows, 16]),
      item_ids: new ort.Tensor('int64', ids, [rows, RANKER_IDS_PER_ROW]),
    });
    const want = rankerForward(weights, features, ids, rows);
    t.ok(tolerance(result.embedding!.data as Float32Array, want.embedding) <= 1e-5, `ranker embedding batch ${rows}`);
    t.ok(tolerance(result.score!.data as Float32Array, want.score) <= 1e-5, `ranker score batch ${rows}`);
  }
  await session.release();
});

t.test('an item id beyond the embedding table fails at run time', async (t) => {
  const session = await ort.InferenceSession.create(path('ranker', '1'), { logSeverityLevel: 4 });
  await t.rejects(
    session.run({
      features: new ort.Tensor('float32', new Float32Array(16), [1, 16]),
      item_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 5000n]), [1, 4]),
    }),
    /out of data bounds|Gather/,
  );
  await session.release();
});
