// Two independent gateways, one fleet: both find the same two remote workers
// (on 127.0.0.2 and 127.0.0.3) and share one Redis. Each balances over both
// workers with its own least-connections counts and breakers; the workers
// take both gateways' requests; an answer computed through one gateway is a cache hit on
// the other; and one gateway going away leaves the other serving.

import t from 'tap';
import { postJson, randomFloats, seededRandom, demoRepository, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';
import { startRemoteWorker } from '../helpers/remote-worker.ts';

const repository = await demoRepository(t);
const redis = await startRedis(t);
const a = await startRemoteWorker(t, { host: '127.0.0.2', port: 0, muxPort: 0, repository, models: [{ name: 'classifier' }] });
await startRemoteWorker(t, { host: '127.0.0.3', port: a.port, muxPort: a.muxPort, repository, models: [{ name: 'classifier' }] });

const fleet = {
  models: { defaultReplicas: 0, include: ['classifier'] },
  batching: { enabled: false },
  cache: { redisUrl: redis.url, keyPrefix: `two-gateways-${process.pid}` },
  health: { slowStartWindowMs: 0 },
  workers: { remote: { tls: false, discovery: { static: [`127.0.0.2:${a.port}`, `127.0.0.3:${a.port}`], servers: [], refreshMs: 1_000, muxPort: a.muxPort } } },
};
const one = await startGateway(t, fleet, repository);
const two = await startGateway(t, fleet, repository);
const bothReady = async (gateway: typeof one.gateway) => {
  while (!(gateway.replicas.replicas.length === 2 && gateway.replicas.replicas.every((r) => r.state === 'ready'))) await new Promise((resolve) => setTimeout(resolve, 20));
};
await Promise.all([bothReady(one.gateway), bothReady(two.gateway)]);

const random = seededRandom(21);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const infer = (url: string, b: unknown) => postJson(`${url}/v2/models/classifier/infer`, b);

t.test('both gateways balance over both workers', async (t) => {
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => infer(i % 2 === 0 ? one.url : two.url, body())));
  t.same([...new Set(answers.map((x) => x.status))], [200]);
  for (const [name, { gateway }] of [['one', one], ['two', two]] as const) {
    const counts = gateway.replicas.replicas.map((r) => r.completed);
    t.ok(counts.every((c) => c > 0), `gateway ${name} sent to both workers (${counts.join(', ')})`);
  }
  const sent = [one, two].flatMap(({ gateway }) => gateway.replicas.replicas.map((r) => r.completed)).reduce((x, y) => x + y, 0);
  t.equal(sent, 40, 'every request reached a shared worker');
});

t.test('an answer computed through one gateway is a hit on the other (shared Redis)', async (t) => {
  const same = body();
  t.equal((await infer(one.url, same)).headers.get('x-infergate-cache'), 'miss');
  let hit = '';
  for (let i = 0; i < 50 && hit !== 'hit'; i++) {
    hit = (await infer(two.url, same)).headers.get('x-infergate-cache') ?? '';
    if (hit !== 'hit') await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.equal(hit, 'hit');
});

t.test('one gateway going away leaves the other serving the fleet', async (t) => {
  await one.gateway.close();
  const answers = await Promise.all(Array.from({ length: 20 }, () => infer(two.url, body())));
  t.same([...new Set(answers.map((x) => x.status))], [200]);
  t.ok(two.gateway.replicas.replicas.every((r) => r.state === 'ready'), 'both workers still in its rotation');
});
