// A model served by an external model server, fronted by the gateway: two
// real infergate processes are the upstream's replicas, plus an address
// where nothing listens. Requests are proxied as they are (the answer is the
// upstream's, byte for byte), the dead address never gets traffic, and when
// one upstream replica is killed under load the requests it fails are
// retried on the other: no client error, and the gateway takes it out.

import t from 'tap';
import { startGatewayProcess } from '../helpers/gateway-process.ts';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

const upstreamConfig = { config: { models: { include: ['classifier'] }, cache: { enabled: false } }, replicas: 1 };
const [first, second] = await Promise.all([startGatewayProcess(t, upstreamConfig), startGatewayProcess(t, upstreamConfig)]);
const nowhere = `http://127.0.0.1:${await freePort()}`;

const { gateway, url } = await startGateway(t, {
  models: { include: ['pooler'], defaultReplicas: 1 },
  externalModels: [{ name: 'fronted', upstreamName: 'classifier', replicas: [first!.origin, second!.origin, nowhere], healthPath: '/v2/health/ready', timeoutMs: 10_000 }],
  health: { checkIntervalMs: 200 },
});
const externals = () => gateway.replicas.replicas.filter((r) => r.id.startsWith('external-fronted-'));

const random = seededRandom(23);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

t.test('the upstream replicas that answer their health route take the traffic; the dead address none', async (t) => {
  t.ok(await until(() => externals().filter((r) => r.state === 'ready').length === 2, 30_000), 'two ready, the third still probed');
  t.equal(externals().find((r) => r.id === 'external-fronted-2')!.state, 'starting');
});

t.test('metadata, readiness and inference are the upstream\'s own answers, under the gateway\'s name for the model', async (t) => {
  const meta = await getJson(`${url}/v2/models/fronted`);
  t.equal(meta.status, 200);
  t.equal(meta.body.name, 'classifier', "the upstream's metadata, as it is");
  t.equal((await getJson(`${url}/v2/models/fronted/ready`)).status, 200);
  const request = body();
  const proxied = await postJson(`${url}/v2/models/fronted/infer`, request);
  const direct = await postJson(`${first!.origin}/v2/models/classifier/infer`, request);
  t.equal(proxied.status, 200);
  t.same(proxied.body.outputs, direct.body.outputs, 'the same answer as the upstream gives directly');
  const bad = await postJson(`${url}/v2/models/fronted/infer`, { inputs: [] });
  t.equal(bad.status, 400, "an upstream 4xx is the client's answer, not retried");
  t.equal(bad.body.code, 'GW_ERR_MISSING_INPUT');
  t.equal((await getJson(`${url}/v2/models/pooler`)).status, 200, 'the gateway still serves its own models');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /infergate_requests_total\{model="fronted"[^}]*status_class="2xx"[^}]*\} [1-9]/, 'counted in the metrics under its name');
});

t.test('an upstream replica killed under load: its requests are retried on the other, none fails', async (t) => {
  const statuses: number[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) statuses.push((await postJson(`${url}/v2/models/fronted/infer`, body())).status);
  });
  await until(() => statuses.length > 100, 10_000);
  first!.handle.child.kill('SIGKILL');
  const killedAt = statuses.length;
  await until(() => statuses.length > killedAt + 300, 20_000);
  running = false;
  await Promise.all(loops);
  const failed = statuses.filter((s) => s !== 200);
  t.comment(`${statuses.length} requests, ${killedAt} before the kill`);
  t.same(failed, [], 'every request answered 200');
  const dead = externals().find((r) => r.id === 'external-fronted-0')!;
  t.ok(await until(() => dead.state !== 'ready', 10_000), `the killed replica is out of rotation (${dead.state})`);
  t.ok(externals().find((r) => r.id === 'external-fronted-1')!.completed > 0, 'the other took the traffic');
});
