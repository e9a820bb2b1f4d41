// Version policies and labels with real workers: the demo classifier serves
// both versions (versionPolicy: all) under the labels stable → 1 and
// canary → 2; a label works wherever a version does, answers and cache keys
// carry the number, and a label naming a version that is not served makes
// its model unavailable with a reason naming the field.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { writeModel } from '../helpers/test-models.ts';

const repository = await demoRepository(t);
// Three versions of one file: the default policy serves the latest alone, `latest: 2` the two highest.
const classifierFile = readFileSync(join(repository, 'classifier', '1', 'model.onnx'));
for (const version of ['1', '2', '3']) writeModel(repository, 'latest-two', version, classifierFile);
writeModel(repository, 'latest-two', '3', classifierFile, 'versionPolicy: { latest: 2 }\nlabels: { stable: 2 }\n');
for (const version of ['1', '2']) writeModel(repository, 'only-latest', version, classifierFile);
writeModel(repository, 'mislabelled', '1', classifierFile, 'labels: { stable: 1, canary: 5 }\n');

const models = ['classifier', 'latest-two', 'only-latest', 'mislabelled'];
const { url } = await startGateway(t, { models: { include: models, defaultReplicas: 1 }, server: { strictReadiness: false } }, repository);
const random = seededRandom(5);
const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] };
const infer = (model: string, version: string) => postJson(`${url}/v2/models/${model}/versions/${version}/infer`, body);

t.test('a label is accepted wherever a version is; answers carry the number', async (t) => {
  const stable = await infer('classifier', 'stable');
  const canary = await infer('classifier', 'canary');
  t.same([stable.status, stable.body.model_version], [200, '1']);
  t.same([canary.status, canary.body.model_version], [200, '2']);
  t.not(JSON.stringify(stable.body.outputs), JSON.stringify(canary.body.outputs), 'two versions, two answers');
  t.equal((await getJson(`${url}/v2/models/classifier/versions/canary/ready`)).status, 200);
  const metadata = await getJson(`${url}/v2/models/classifier/versions/stable`);
  t.same(metadata.body.versions, ['1']);
  const unknown = await infer('classifier', 'beta');
  t.same([unknown.status, unknown.body.code], [404, 'GW_ERR_VERSION_NOT_FOUND']);
  t.match(unknown.body.error, /labels stable, canary/);
});

t.test('the cache key uses the resolved number: a label and its number share one entry', async (t) => {
  const seeded = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(seededRandom(99), 64) }] };
  const first = await postJson(`${url}/v2/models/classifier/versions/canary/infer`, seeded);
  const second = await postJson(`${url}/v2/models/classifier/versions/2/infer`, seeded);
  t.same([first.headers.get('x-infergate-cache'), second.headers.get('x-infergate-cache')], ['miss', 'hit']);
  t.same(second.body.outputs, first.body.outputs);
});

t.test('version policies: latest 1 by default, latest 2 when asked', async (t) => {
  const only = (await getJson(`${url}/v2/models/only-latest`)).body;
  t.same(only.versions, ['2'], 'the default policy serves the latest version alone');
  const old = await infer('only-latest', '1');
  t.same([old.status, old.body.code], [404, 'GW_ERR_VERSION_NOT_FOUND'], 'a version the policy does not serve is not found');
  t.same((await getJson(`${url}/v2/models/latest-two`)).body.versions, ['2', '3']);
  t.same((await infer('latest-two', 'stable')).body.model_version, '2');
  t.same((await postJson(`${url}/v2/models/latest-two/infer`, body)).body.model_version, '3', 'no version: the latest served');
});

t.test('a label naming a version that is not served: the model is unavailable, the reason names the field', async (t) => {
  const answer = await infer('mislabelled', '1');
  t.same([answer.status, answer.body.code], [400, 'GW_ERR_MODEL_UNAVAILABLE']);
  t.match(answer.body.error, /mislabelled\/config\.yaml: labels\.canary: version 5 is not served/);
  t.equal((await infer('classifier', 'stable')).status, 200, 'every other model serves');
});
