// A fleet of remote workers on other hosts: three network namespaces, each
// joined by a veth pair and running a worker, found through a DNS name that
// a DNS server run by the test answers. The gateway balances over the three
// with answers equal to onnxruntime's own; one worker is killed and a new
// one started on a fourth host, and under load discovery lets the first go
// and takes the new one in, with no failed request.

import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { workerArgv } from '../../common/worker-options.ts';
import { classifierLoad } from '../helpers/classifier-load.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { demoRepository, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { makeTestHost, unavailable, type TestHost } from '../helpers/test-host.ts';
import { until } from '../helpers/until.ts';

const why = unavailable();
if (why) t.comment(`skipped: ${why}`);

const HTTP_PORT = 9100;
const MUX_PORT = 9101;
const NAME = 'workers.fleet.test';

t.test('three remote workers by DNS; one killed and one added under load', { skip: why !== undefined }, async (t) => {
  const repository = await demoRepository(t);
  const startWorker = async (host: TestHost) => {
    const argv = workerArgv({ listen: { kind: 'tcp', host: host.clientAddress, port: HTTP_PORT }, muxListen: { kind: 'tcp', host: host.clientAddress, port: MUX_PORT }, modelsDir: repository, models: [{ name: 'classifier' }] });
    const worker = host.spawnNode([join(import.meta.dirname, '..', '..', 'bin', 'infergate.ts'), 'worker', ...argv]);
    let output = '';
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (!(await until(() => output.includes('listening on'), 60_000, 20))) throw new Error(`no worker in ${host.clientAddress}`);
    return worker;
  };
  const hosts = [makeTestHost(t), makeTestHost(t), makeTestHost(t), makeTestHost(t)];
  const [first, , , spare] = hosts as [TestHost, TestHost, TestHost, TestHost];
  const workers = await Promise.all(hosts.slice(0, 3).map(startWorker));
  const dns = await startDnsServer(t);
  dns.records.set(NAME, hosts.slice(0, 3).map((h) => h.clientAddress));

  const { gateway, url } = await startGateway(
    t,
    {
      models: { defaultReplicas: 0, include: ['classifier'] },
      batching: { enabled: false },
      cache: { enabled: false },
      health: { slowStartWindowMs: 0, checkIntervalMs: 200, checkTimeoutMs: 500, restartAfterFailedChecks: 2 },
      workers: { remote: { tls: false, discovery: { static: [], dns: { name: NAME, port: HTTP_PORT }, servers: [dns.address], refreshMs: 200, muxPort: MUX_PORT } } },
    },
    repository,
  );
  const replicaOf = (host: TestHost) => gateway.replicas.replicas.find((r) => r.id === `remote-${host.clientAddress}:${HTTP_PORT}`);
  t.ok(await until(() => hosts.slice(0, 3).every((h) => replicaOf(h)?.state === 'ready'), 60_000), 'the three workers discovered and ready');

  // Answers equal onnxruntime's, whichever worker gives them.
  const session = await ort.InferenceSession.create(join(repository, 'classifier', '2', 'model.onnx'));
  t.teardown(() => session.release());
  const random = seededRandom(20);
  const inputs = Array.from({ length: 30 }, () => randomFloats(random, 64));
  const answers = await Promise.all(inputs.map((data) => postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data }] })));
  let worst = 0;
  for (const [i, answer] of answers.entries()) {
    const expected = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(inputs[i]!), [1, 64]) })).probabilities!.data as Float32Array;
    const got = answer.body.outputs[0].data as number[];
    for (let k = 0; k < expected.length; k++) worst = Math.max(worst, Math.abs(expected[k]! - got[k]!));
  }
  t.same(answers.map((a) => a.status), Array(30).fill(200));
  t.ok(worst < 1e-6, `answers equal onnxruntime's (largest difference ${worst})`);
  t.ok(hosts.slice(0, 3).every((h) => replicaOf(h)!.completed > 0), `balanced over the three (${hosts.slice(0, 3).map((h) => replicaOf(h)!.completed).join(', ')})`);

  const load = classifierLoad(url, 4, random);
  t.teardown(() => load.stop());

  // The first worker dies (its pod goes, so does its record); a new one starts on another host.
  workers[0]!.kill('SIGKILL');
  dns.records.set(NAME, hosts.slice(1, 3).map((h) => h.clientAddress));
  await startWorker(spare);
  dns.records.set(NAME, hosts.slice(1).map((h) => h.clientAddress));
  t.ok(await until(() => replicaOf(first) === undefined, 15_000), 'the dead worker left the set');
  t.ok(await until(() => replicaOf(spare)?.state === 'ready' && replicaOf(spare)!.completed > 20, 30_000), 'the new worker was discovered and serves');
  const statuses = await load.stop();
  t.same([...new Set(statuses)], [200], `${statuses.length} requests while the fleet changed, all answered 200`);
});
