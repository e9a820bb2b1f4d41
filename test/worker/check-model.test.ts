// check-model's stages on real files through onnxruntime-node, and the
// worker's load diagnosis giving the same reason for a file it refuses.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { renderCheckReport } from '../../common/onnx/check-report.ts';
import { checkModel } from '../../worker/check-model.ts';
import { diagnoseLoadFailure } from '../../worker/load-diagnosis.ts';
import { writeCheckModelFiles } from '../helpers/check-model-fixtures.ts';
import { thirdSampleModel } from '../helpers/test-models.ts';

const dir = t.testdir({});
const files = await writeCheckModelFiles(dir);
const classifier = files.demo.find((m) => m.label === 'classifier/1')!.path;
const options = { toleranceAbs: 1e-4 };

t.test('every demo model passes: decoded, loaded, run on a seeded random sample', async (t) => {
  for (const { label, path } of files.demo) {
    const report = await checkModel(path, options);
    t.equal(report.ok, true, `${label} passes`);
    t.equal(report.reason, null);
    t.equal(report.load?.ok, true);
    t.ok(report.run?.ok, `${label} ran`);
    t.same(
      report.run?.inputs.map((i) => i.shape[0]),
      report.model?.inputs.map(() => 1),
      `${label}: one row`,
    );
    t.same(
      report.run?.outputs.map((o) => o.name),
      report.model?.outputs.map((o) => o.name),
    );
    t.match(renderCheckReport(report), /\nPASS\n$/);
  }
});

t.test('a truncated file fails before onnxruntime, and a worker gives the same reason', async (t) => {
  const report = await checkModel(files.truncated, options);
  t.equal(report.ok, false);
  t.match(report.reason, /^not an ONNX model: the file ends early/);
  t.equal(report.model, null);
  t.equal(report.load, null);
  const loadError = await ort.InferenceSession.create(files.truncated).then(
    () => null,
    (err: unknown) => err,
  );
  t.ok(loadError, 'onnxruntime refuses it too');
  t.equal((await diagnoseLoadFailure(files.truncated, loadError)).reason, report.reason);
});

t.test('an operator onnxruntime lacks fails naming it, and a worker gives the same reason', async (t) => {
  const rows = [
    { path: files.noSuchOp, operator: { domain: 'ai.onnx', opType: 'NoSuchOp', opsetVersion: 17, node: 'NoSuchOp_y' } },
    { path: files.reluInt16, operator: { domain: 'ai.onnx', opType: 'Relu', opsetVersion: 14, node: 'Relu_y' } },
  ];
  for (const { path, operator } of rows) {
    const report = await checkModel(path, options);
    t.equal(report.ok, false);
    t.match(report.reason, new RegExp(`^onnxruntime cannot load it: operator ${operator.opType} \\(ai\\.onnx opset ${operator.opsetVersion}, node "${operator.node}"\\) is not supported by onnxruntime-node 1\\.`));
    t.same(report.load, { ok: false, unsupportedOperators: [operator] });
    t.ok(report.model, 'the file itself is described');
    t.equal(report.run, null);
    t.match(renderCheckReport(report), `unsupported operators: ai.onnx:${operator.opType}(${operator.opsetVersion}) in node "${operator.node}"`);
    const loadError = await ort.InferenceSession.create(path).catch((err: unknown) => err);
    t.equal((await diagnoseLoadFailure(path, loadError)).reason, report.reason, `${operator.opType}: the worker's reason`);
  }
});

t.test('outputs compared with --expected: equal passes, one wrong element fails naming output and index', async (t) => {
  const input = Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const sample = join(dir, 'sample.json');
  writeFileSync(sample, JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: input }] }));
  const session = await ort.InferenceSession.create(classifier);
  const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(input), [1, 64]) });
  await session.release();
  const probabilities = Array.from(result.probabilities!.data as Float32Array);
  const expected = (data: number[]) => {
    const path = join(dir, `expected-${data[7]}.json`);
    writeFileSync(path, JSON.stringify({ outputs: [{ name: 'probabilities', shape: [1, 10], data }] }));
    return path;
  };

  const equal = await checkModel(classifier, { ...options, samplePath: sample, expectedPath: expected(probabilities) });
  t.equal(equal.ok, true);
  t.same(equal.comparison?.outputs, [{ name: 'probabilities', elements: 10, maxAbsError: 0, mismatches: 0 }]);
  t.equal(equal.run?.sample, `sample ${sample}`);

  const wrong = [...probabilities];
  wrong[7] = wrong[7]! + 0.01;
  const differs = await checkModel(classifier, { ...options, samplePath: sample, expectedPath: expected(wrong) });
  t.equal(differs.ok, false);
  t.match(differs.reason, /^output "probabilities" differs at index 7 \[0,7\]: expected [\d.e-]+, got [\d.e-]+ \(\|error\| 0\.0099\d* > tolerance 0\.0001\)$/);
  t.match(differs.comparison?.outputs, [{ name: 'probabilities', mismatches: 1 }]);
  const looser = await checkModel(classifier, { toleranceAbs: 0.02, samplePath: sample, expectedPath: expected(wrong) });
  t.equal(looser.ok, true, 'within a looser tolerance');
});

t.test('a sample, expected file or model that cannot be used fails with its reason', async (t) => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const thirdSample = write('third-sample.onnx', '');
  writeFileSync(thirdSample, thirdSampleModel());
  const ranker = files.demo.find((m) => m.label === 'ranker/1')!.path;
  const rankerSample = (id: number) => JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0) }, { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, id] }] });
  const rows: Array<[string, string, Parameters<typeof checkModel>[1], RegExp]> = [
    ['no such file', join(dir, 'missing.onnx'), options, /^cannot read .*missing\.onnx: ENOENT$/],
    ['no such sample', classifier, { ...options, samplePath: join(dir, 'nope.json') }, /^cannot read --sample .*nope\.json: ENOENT$/],
    ['a sample for another model', classifier, { ...options, samplePath: write('wrong-input.json', rankerSample(1)) }, /^sample .*wrong-input\.json: .*features/],
    ['expected outputs that are not JSON', classifier, { ...options, expectedPath: write('bad.json', '{') }, /^.*bad\.json is not JSON: /],
    ['a sample the model cannot run', ranker, { ...options, samplePath: write('big-id.json', rankerSample(1000)) }, /^the sample .*big-id\.json failed to run: .*/],
    ['a model the synthetic sample cannot run', thirdSample, options, /^the synthetic sample \(dynamic dims 1, seeded random values\) failed to run: /],
  ];
  for (const [label, path, checkOptions, reason] of rows) {
    const report = await checkModel(path, checkOptions);
    t.equal(report.ok, false, label);
    t.match(report.reason, reason, label);
    t.notMatch(report.reason, /\n/, `${label}: one line`);
  }
});
