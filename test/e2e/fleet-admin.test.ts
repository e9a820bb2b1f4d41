// Two independent gateways, each with its own local workers, on one Redis:
// an admin action taken on either is taken by both, each on what it runs. A
// scale gives both the new replica count, a model loaded on one serves on
// both, a rollout started on one runs on both and is aborted on both from
// either, a rollout one gateway's gate rolls back is rolled back on the
// other too, an unload reaches both, and an action refused where it was
// asked reaches nobody.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';
import { classifierModel, failingClassifierModel, writeModel } from '../helpers/test-models.ts';
import { until } from '../helpers/until.ts';

const repository = mkdtempSync(join(tmpdir(), 'infergate-fleet-admin-'));
t.teardown(() => rmSync(repository, { recursive: true, force: true }));
writeModel(repository, 'classifier', '1', classifierModel(101));

const redis = await startRedis(t);
const config = {
  models: { controlMode: 'explicit' as const, load: ['classifier'], defaultReplicas: 1 },
  cache: { redisUrl: redis.url, keyPrefix: 'fleet-admin-test' },
  scaling: { maxWorkers: 4 },
};
const a = await startGateway(t, config, repository);
const b = await startGateway(t, config, repository);

const put = (url: string, body: unknown) => fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
const desired = async (url: string, model: string): Promise<number> => (await getJson(`${url}/admin/models/${model}`)).body.scaling?.desiredReplicas;
const rolloutState = async (url: string): Promise<string | number> => {
  const answer = await getJson(`${url}/admin/models/classifier/rollouts/current`);
  return answer.status === 200 ? answer.body.state : answer.status;
};
const random = seededRandom(7);
const infer = (url: string, model: string) => postJson(`${url}/v2/models/${model}/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

t.test('a scale on one gateway scales both, each its own workers', async (t) => {
  t.equal((await put(`${a.url}/admin/models/classifier/replicas`, { replicas: 2 })).status, 202);
  t.ok(await until(async () => (await desired(b.url, 'classifier')) === 2, 10_000), 'the other gateway scales too');
  t.ok(await until(() => b.gateway.supervisor.replicas.filter((r) => r.state === 'ready').length === 2, 30_000), 'and runs two workers of its own');
  t.equal((await put(`${a.url}/admin/models/classifier/replicas`, { replicas: -1 })).status, 400, 'a refused scale');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(await desired(b.url, 'classifier'), 2, 'is taken nowhere else');
});

t.test('a model loaded on one gateway serves on both; unloaded on the other, it is gone from both', async (t) => {
  writeModel(repository, 'other', '1', classifierModel(202));
  t.equal((await infer(b.url, 'other')).status, 404, 'not loaded yet');
  t.equal((await postJson(`${a.url}/v2/repository/models/other/load`, {})).status, 200);
  t.ok(await until(async () => (await getJson(`${b.url}/v2/models/other/ready`)).status === 200, 30_000), 'ready on the other gateway');
  t.equal((await infer(b.url, 'other')).status, 200, 'and served there');
  t.equal((await postJson(`${b.url}/v2/repository/models/other/unload`, {})).status, 200);
  t.ok(await until(async () => (await infer(a.url, 'other')).status === 404, 30_000), 'unloaded on the first gateway too');
});

t.test('a rollout started on one gateway runs on both, and an abort on either stops both', async (t) => {
  writeModel(repository, 'classifier', '2', classifierModel(101));
  const plan = { version: '2', stages: [{ kind: 'canary', percent: 10, minDurationMs: 600_000 }, { kind: 'promote' }] };
  const started = await postJson(`${a.url}/admin/models/classifier/rollouts`, plan);
  t.equal(started.status, 202, JSON.stringify(started.body).slice(0, 200));
  t.ok(await until(async () => ['preparing', 'canary'].includes(String(await rolloutState(b.url))), 10_000), 'the other gateway runs it too');
  const aborted = await fetch(`${b.url}/admin/models/classifier/rollouts/current`, { method: 'DELETE' });
  t.equal(aborted.status, 202, 'aborted on the other gateway');
  t.ok(await until(async () => (await rolloutState(a.url)) === 'rolled-back', 30_000), 'and on the first');
  t.ok(await until(async () => (await rolloutState(b.url)) === 'rolled-back', 30_000), 'both have rolled back (their candidate workers stopped)');
  t.equal((await infer(a.url, 'classifier')).body.model_version, '1', 'which serves the stable version');
});

t.test("a rollout one gateway's gate rolls back is rolled back on the other, which saw no traffic", async (t) => {
  writeModel(repository, 'classifier', '3', failingClassifierModel());
  const plan = { version: '3', stages: [{ kind: 'canary', percent: 50, minDurationMs: 600_000 }, { kind: 'promote' }], gates: { errors: { minRequests: 5 } } };
  t.equal((await postJson(`${a.url}/admin/models/classifier/rollouts`, plan)).status, 202);
  t.ok(await until(async () => (await rolloutState(b.url)) === 'canary', 30_000), 'in its canary stage on both');
  // Traffic to the first gateway alone: only its gates read anything.
  t.ok(await until(async () => (await Promise.all(Array.from({ length: 8 }, () => infer(a.url, 'classifier')))) && (await rolloutState(a.url)) === 'rolled-back', 30_000), 'the error gate rolls it back there');
  t.ok(await until(async () => (await rolloutState(b.url)) === 'rolled-back', 10_000), 'and the other gateway rolls back too');
  const reason = (await getJson(`${b.url}/admin/models/classifier/rollouts/current`)).body.reason as string;
  t.match(reason, /aborted on another gateway of the fleet, which rolled back: .*error/, `the other gateway says why (${reason})`);
});
