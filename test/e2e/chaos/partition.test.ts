// A network partition between the gateway and a remote worker, with real
// hosts: two network namespaces, each joined to this machine by a veth pair
// and running a worker; the gateway runs here and finds them in a discovery
// list. Under a closed loop of clients, one host's link goes down (packets
// dropped, nothing refused): its requests time out and are retried on the
// other worker, health checks take it out, and no client request fails. When
// the link comes back, the worker rejoins and serves again.

import { join } from 'node:path';
import t from 'tap';
import { workerArgv } from '../../../common/worker-options.ts';
import { classifierLoad } from '../../helpers/classifier-load.ts';
import { demoRepository, seededRandom, startGateway } from '../../helpers/gateway.ts';
import { makeTestHost, unavailable, type TestHost } from '../../helpers/test-host.ts';
import { until } from '../../helpers/until.ts';

const why = unavailable();
if (why) t.comment(`skipped: ${why}`);

const HTTP_PORT = 9100;
const MUX_PORT = 9101;

/** A worker serving classifier inside `host`; resolves once it listens. */
async function workerOn(host: TestHost, repository: string): Promise<void> {
  const argv = workerArgv({ listen: { kind: 'tcp', host: host.clientAddress, port: HTTP_PORT }, muxListen: { kind: 'tcp', host: host.clientAddress, port: MUX_PORT }, modelsDir: repository, models: [{ name: 'classifier' }] });
  const worker = host.spawnNode([join(import.meta.dirname, '..', '..', '..', 'bin', 'infergate.ts'), 'worker', ...argv]);
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  if (!(await until(() => output.includes('listening on'), 60_000, 20))) throw new Error(`no worker in ${host.clientAddress}: ${output}`);
}

t.test('a partitioned worker is routed around with no client error, and rejoins when the link is back', { skip: why !== undefined }, async (t) => {
  const repository = await demoRepository(t);
  const [a, b] = [makeTestHost(t), makeTestHost(t)];
  await Promise.all([workerOn(a, repository), workerOn(b, repository)]);
  const { gateway, url } = await startGateway(
    t,
    {
      models: { defaultReplicas: 0, include: ['classifier'] },
      batching: { enabled: false },
      cache: { enabled: false },
      // A dropped packet is only seen by a timeout: short ones, so that the test is short too.
      upstream: { attemptTimeoutMs: 500 },
      health: { checkIntervalMs: 200, checkTimeoutMs: 300, restartAfterFailedChecks: 2, slowStartWindowMs: 0 },
      workers: { remote: { tls: false, discovery: { static: [`${a.clientAddress}:${HTTP_PORT}`, `${b.clientAddress}:${HTTP_PORT}`], servers: [], refreshMs: 60_000, muxPort: MUX_PORT } } },
    },
    repository,
  );
  const replicaOf = (host: TestHost) => gateway.replicas.replicas.find((r) => r.id === `remote-${host.clientAddress}:${HTTP_PORT}`)!;
  t.ok(await until(() => replicaOf(a)?.state === 'ready' && replicaOf(b)?.state === 'ready', 60_000), 'both workers discovered and ready');

  const load = classifierLoad(url, 4, seededRandom(19));
  t.teardown(() => load.stop());
  t.ok(await until(() => replicaOf(a).completed > 20 && replicaOf(b).completed > 20, 20_000), 'both serve');

  a.linkDown();
  const cutMs = Date.now();
  t.ok(await until(() => replicaOf(a).state !== 'ready', 10_000), `health checks took it out (${replicaOf(a).state})`);
  t.comment(`out of rotation ${Date.now() - cutMs} ms after the cut; breaker ${replicaOf(a).health.breaker.state}`);
  const servedByB = replicaOf(b).completed;
  t.ok(await until(() => replicaOf(b).completed > servedByB + 50, 10_000), 'the other worker takes the traffic');

  a.linkUp();
  t.ok(await until(() => replicaOf(a).state === 'ready', 30_000), 'it rejoins once the link is back');
  const servedByA = replicaOf(a).completed;
  t.ok(await until(() => replicaOf(a).completed > servedByA + 20, 20_000), 'and serves again');

  const statuses = await load.stop();
  t.same([...new Set(statuses)], [200], `${statuses.length} requests across the partition, all answered 200`);
});
