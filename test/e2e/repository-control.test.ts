// The repository extension with real workers, while another model takes
// steady traffic: a new version loads and serves after its warm-up, a
// replaced model.onnx is reloaded and the cache never answers from the old
// file, and an unload lets the requests in flight finish. No worker restarts,
// no failed request on the model under load, no 5xx anywhere.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { allReplicasReady, binaryFloatRequest, demoRepository, getJson, postBinary, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { writeModel } from '../helpers/test-models.ts';

const repository = await demoRepository(t);
const classifierFile = (version: string) => join(repository, 'classifier', version, 'model.onnx');
writeModel(repository, 'live', '1', readFileSync(classifierFile('1')), 'versionPolicy: all\n');
writeModel(repository, 'slow', '1', readFileSync(join(repository, 'heavy', '1', 'model.onnx')), 'batching:\n  enabled: false\n');

const { gateway, url } = await startGateway(t, { models: { include: ['classifier', 'live', 'slow'], defaultReplicas: 2 }, batching: { enabled: false } }, repository);
// Both workers serve before the repository changes (whenReady waits only until every version is served somewhere).
await allReplicasReady(gateway);
const pids = gateway.replicas.replicas.map((r) => r.pid);
const random = seededRandom(8);
const body = (values = randomFloats(random, 64)) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: values }] });
const control = (path: string) => postJson(`${url}/v2/repository${path}`, {});
const everyStatus: number[] = [];
const infer = async (model: string, version: string | undefined, payload = body()) => {
  const answer = await postJson(`${url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, payload);
  everyStatus.push(answer.status);
  return answer;
};

// Steady traffic on the classifier all along.
let loading = true;
const underLoad: number[] = [];
const traffic = Promise.all(
  Array.from({ length: 4 }, async () => {
    while (loading) underLoad.push((await infer('classifier', undefined)).status);
  }),
);

t.test('a new version loads while serving and takes traffic once warmed up', async (t) => {
  mkdirSync(join(repository, 'live', '2'));
  copyFileSync(classifierFile('2'), join(repository, 'live', '2', 'model.onnx'));
  const before = await infer('live', '2');
  t.same([before.status, before.body.code], [404, 'GW_ERR_VERSION_NOT_FOUND'], 'not there before the load');
  const load = await control('/models/live/load');
  t.equal(load.status, 200, JSON.stringify(load.body));
  const answer = await infer('live', '2');
  t.same([answer.status, answer.body.model_version], [200, '2']);
  const index = await control('/index');
  t.same(index.body.filter((e: { name: string }) => e.name === 'live').map((e: { version: string; state: string }) => [e.version, e.state]), [['1', 'READY'], ['2', 'READY']]);
});

t.test('a replaced model.onnx is reloaded; the cache never answers from the old file', async (t) => {
  const payload = body();
  const old = await infer('live', '1', payload);
  t.equal((await infer('live', '1', payload)).headers.get('x-infergate-cache'), 'hit', 'answered from the cache before the reload');
  copyFileSync(classifierFile('2'), join(repository, 'live', '1', 'model.onnx'));
  t.equal((await control('/models/live/load')).status, 200);
  const reloaded = await infer('live', '1', payload);
  t.equal(reloaded.status, 200);
  t.not(reloaded.headers.get('x-infergate-cache'), 'hit', 'no answer of the old file');
  t.notSame(reloaded.body.outputs, old.body.outputs, 'the new file answers');
  const v2 = await infer('live', '2', payload);
  t.same(reloaded.body.outputs[0].data, v2.body.outputs[0].data, 'as version 2 (the same file now) does');
});

t.test('an edited config.yaml applies: fewer replicas let go of the model, the rest keep serving it', async (t) => {
  const hosts = () => gateway.replicas.replicas.filter((r) => r.runs('live', '2')).map((r) => r.id);
  t.same(hosts(), ['worker-0', 'worker-1']);
  writeFileSync(join(repository, 'live', 'config.yaml'), 'versionPolicy: all\nreplicas: 1\n');
  t.equal((await control('/models/live/load')).status, 200);
  t.same(hosts(), ['worker-0'], 'one replica asked for: worker-1 unloaded it');
  const answers = await Promise.all(Array.from({ length: 10 }, () => infer('live', '2')));
  t.same(answers.map((a) => a.status), Array(10).fill(200));
});

t.test('an unload lets the requests in flight finish; later ones get a clear 4xx', async (t) => {
  // Requests of 256 rows of the heavy model, as binary tensor data: each runs for milliseconds, so several are still
  // running when the unload begins.
  const heavyBody = () => binaryFloatRequest(random, [256, 512]);
  const send = async (request: ReturnType<typeof heavyBody>) => {
    const answer = await postBinary(`${url}/v2/models/slow/infer`, request);
    everyStatus.push(answer.status);
    return answer;
  };
  const bodies = Array.from({ length: 24 }, heavyBody);
  const inFlight = bodies.map((b) => send(b));
  // Unload once several are running in the gateway (sent to a worker, or queued for one).
  const deadline = Date.now() + 10_000;
  while (gateway.infer.running('slow') < 4 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  const running = gateway.infer.running('slow');
  t.ok(running >= 4, `${running} running when the unload begins`);
  const unload = await control('/models/slow/unload');
  t.equal(unload.status, 200, JSON.stringify(unload.body));
  const answers = await Promise.all(inFlight);
  const served = answers.filter((a) => a.status === 200).length;
  t.ok(served >= running, `every request running at the unload finished: ${served} served`);
  const others = answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body.code}`);
  t.same(others.filter((o) => !['400 GW_ERR_MODEL_UNAVAILABLE', '404 GW_ERR_MODEL_NOT_FOUND'].includes(o)), [], 'the later ones were told the model went away');
  const after = await send(heavyBody());
  t.same([after.status, after.body.code], [404, 'GW_ERR_MODEL_NOT_FOUND'], 'a later one: a clear 404');
  const index = await control('/index');
  t.same(index.body.filter((e: { name: string }) => e.name === 'slow'), [{ name: 'slow', state: 'UNAVAILABLE', reason: 'unloaded' }]);
  t.equal((await control('/models/slow/load')).status, 200, 'and it loads again');
  t.equal((await send(heavyBody())).status, 200);
});

t.test('the fleet stayed as it was: no restart, no failure under load, no 5xx', async (t) => {
  loading = false;
  await traffic;
  t.same(gateway.replicas.replicas.map((r) => r.pid), pids, 'the same worker processes');
  t.ok(underLoad.length > 50, `${underLoad.length} requests on the classifier meanwhile`);
  t.same(underLoad.filter((s) => s !== 200), [], 'every one answered 200');
  t.same(everyStatus.filter((s) => s >= 500), [], 'no 5xx anywhere');
  t.equal((await getJson(`${url}/v2/health/ready`)).status, 200);
});
