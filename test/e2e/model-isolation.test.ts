// One model's fault never takes the gateway down: real workers load a
// repository where some versions cannot be served (a configured warm-up that
// fails, a truncated model.onnx, an unsupported operator, an invalid
// config.yaml, a missing file). Each is UNAVAILABLE with a reason naming the
// cause, logged once; no worker exits or restarts; every other model answers
// correctly all along. A model that only fails the synthetic warm-up (it
// needs three samples on a dynamic axis) is served, with one warning.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { captureLogger } from '../helpers/capture-logger.ts';
import { allReplicasReady, demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { thirdSampleModel, unsupportedOperatorModel, writeModel } from '../helpers/test-models.ts';

const repository = await demoRepository(t);
const third = thirdSampleModel();
writeModel(repository, 'needs-three', '1', third);
// Its configured sample has two samples per row: the model cannot run it.
writeModel(repository, 'warm-fails', '1', third, 'warmup:\n  - name: two-samples\n    inputs:\n      x: { shape: [1, 2], fill: random }\n');
// With a sample it can run, the same graph warms up and serves.
writeModel(repository, 'warm-passes', '1', third, 'warmup:\n  - name: four-samples\n    count: 3\n    inputs:\n      x: { shape: [2, 4], fill: 1.5 }\n');
// A warm-up sample given as a KServe v2 request file beside the model, and one whose file is not there.
writeModel(repository, 'warm-file', '1', third, 'warmup:\n  - request: warmup/request.json\n    count: 2\n');
mkdirSync(join(repository, 'warm-file', 'warmup'));
writeFileSync(join(repository, 'warm-file', 'warmup', 'request.json'), JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }));
writeModel(repository, 'warm-no-file', '1', third, 'warmup:\n  - request: warmup/missing.json\n');
writeModel(repository, 'bad-op', '1', unsupportedOperatorModel());
const truncatedFile = writeModel(repository, 'truncated', '1', third.subarray(0, third.byteLength >> 1));
writeModel(repository, 'bad-config', '1', third, 'batching:\n  maxBatchSize: lots\n');
// Version 2 of needs-three is a directory without model.onnx: unavailable; version 1 keeps serving (both are served by policy).
mkdirSync(join(repository, 'needs-three', '2'));
writeFileSync(join(repository, 'needs-three', 'config.yaml'), 'versionPolicy: all\n');

const logs = captureLogger();
const models = ['classifier', 'needs-three', 'warm-fails', 'warm-passes', 'warm-file', 'warm-no-file', 'bad-op', 'truncated', 'bad-config'];
const { gateway, url } = await startGateway(t, { models: { include: models }, server: { strictReadiness: false } }, repository, logs.logger);

const random = seededRandom(3);
const classifierInput = randomFloats(random, 64);
const session = await ort.InferenceSession.create(join(repository, 'classifier', '2', 'model.onnx'));
const expected = Array.from((await session.run({ input: new ort.Tensor('float32', Float32Array.from(classifierInput), [1, 64]) })).probabilities!.data as Float32Array);
const classify = () => postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: classifierInput }] });

t.test('every unavailable version says why, on its ready, metadata and infer routes', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['warm-fails', '1', /warm-up sample "two-samples" failed: .*cannot be reshaped/],
    ['warm-no-file', '1', /warm-up sample 1 of 1: cannot read .*warmup\/missing\.json: ENOENT/],
    ['bad-op', '1', /onnxruntime cannot load it: operator NoSuchOp \(ai\.onnx opset 17, node "NoSuchOp_y"\) is not supported .*No Op registered for NoSuchOp/],
    ['truncated', '1', new RegExp(`${truncatedFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model: the file ends early`)],
    ['bad-config', '1', /config\.yaml:\s+batching\.maxBatchSize: .*expected number/],
    ['needs-three', '2', /needs-three\/2\/model\.onnx is missing/],
  ];
  for (const [model, version, reason] of cases) {
    const path = `${url}/v2/models/${model}/versions/${version}`;
    const ready = await getJson(`${path}/ready`);
    t.equal(ready.status, 400, `${model} ${version}: not ready`);
    t.match(ready.body.error, reason, `${model} ${version}: the ready route names the cause`);
    const metadata = await getJson(path);
    t.equal(metadata.status, 400, `${model} ${version}: metadata is a 4xx`);
    t.equal(metadata.body.code, 'GW_ERR_MODEL_UNAVAILABLE');
    t.match(metadata.body.error, reason);
    const infer = await postJson(`${path}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    t.same([infer.status, infer.body.code], [400, 'GW_ERR_MODEL_UNAVAILABLE'], `${model} ${version}: infer is refused`);
    const logged = logs.lines().filter((line) => line.msg === 'model version unavailable' && line.model === model && line.version === version);
    t.equal(logged.length, 1, `${model} ${version}: logged once for both workers`);
    t.match(logged[0], { level: 'warn', reason }, `${model} ${version}: the line gives the cause`);
  }
  t.same(gateway.registry.status('needs-three'), [{ version: '1', state: 'READY' }, { version: '2', state: 'UNAVAILABLE', reason: `${join(repository, 'needs-three', '2', 'model.onnx')} is missing` }]);
});

t.test('a model that fails only the synthetic warm-up is served, with one warning', async (t) => {
  const warnings = logs
    .lines()
    .filter((line) => line.msg === 'model version loaded with a warning' && line.model === 'needs-three' && line.version === '1' && /synthetic sample.*cannot be reshaped.*served anyway/.test(String(line.warning)));
  t.equal(warnings.length, 1, 'one warning for two workers');
  t.equal((await getJson(`${url}/v2/models/needs-three/ready`)).status, 200, 'the unversioned ready route follows version 1');
  const ok = await postJson(`${url}/v2/models/needs-three/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] });
  t.equal(ok.status, 200);
  t.equal(ok.body.model_version, '1', 'the highest version that can serve');
  t.same(ok.body.outputs[0].data, [3, 7], 'the third sample of each row');
  const short = await postJson(`${url}/v2/models/needs-three/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
  t.same([short.status, short.body.code], [400, 'GW_ERR_MODEL_EXECUTION'], 'too short a request is the client\'s error');
});

t.test('a configured warm-up that passes serves: shapes with a fill, or a request file', async (t) => {
  const ok = await postJson(`${url}/v2/models/warm-passes/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [0, 0, 9] }] });
  t.same([ok.status, ok.body.outputs?.[0].data], [200, [9]]);
  const fromFile = await postJson(`${url}/v2/models/warm-file/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [0, 0, 7] }] });
  t.same([fromFile.status, fromFile.body.outputs?.[0].data], [200, [7]]);
  t.notOk(/warm-(passes|file)/.test(logs.text()), 'nothing logged about them');
});

t.test('the other models serve, the gateway is ready, and no worker exited', async (t) => {
  for (let i = 0; i < 20; i++) {
    const answer = await classify();
    t.equal(answer.status, 200);
    t.same(answer.body.outputs[0].data, expected, 'the numbers onnxruntime gives in-process');
  }
  const ready = await getJson(`${url}/v2/health/ready`);
  t.equal(ready.status, 200, 'ready (strictReadiness: false): every version is READY or UNAVAILABLE');
  // whenReady() waits until every version is served somewhere; the second worker may still be warming up.
  await allReplicasReady(gateway);
  for (const replica of gateway.replicas.replicas) {
    t.equal(replica.state, 'ready', `${replica.id} is ready`);
    t.equal(replica.generation, 0, `${replica.id} never restarted`);
  }
  t.notOk(logs.messages().some((message) => /exited/.test(message)), 'no worker exited');
});

t.test('every file stays as written: the gateway reports, it does not repair', async (t) => {
  t.equal(readFileSync(truncatedFile).byteLength, third.byteLength >> 1);
});
