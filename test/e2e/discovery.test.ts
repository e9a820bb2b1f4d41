// Workers discovered at run time, with real worker processes on two loopback
// addresses (127.0.0.2 and 127.0.0.3, one port: as the pods behind a
// Kubernetes headless Service) and a DNS server the test runs. Under a closed
// loop of clients, a worker whose record is added joins and takes traffic,
// and one whose record is removed drains out, with no failed request. Each
// serves the models it reports, which no gateway config names.

import t from 'tap';
import type { Replica } from '../../gateway/replicas/replica.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { classifierLoad } from '../helpers/classifier-load.ts';
import { demoRepository, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRemoteWorker } from '../helpers/remote-worker.ts';
import { until } from '../helpers/until.ts';

const repository = await demoRepository(t);
const NAME = 'workers.infergate.test';
const dns = await startDnsServer(t);
dns.records.set(NAME, ['127.0.0.2']);

const first = await startRemoteWorker(t, { host: '127.0.0.2', port: 0, muxPort: 0, repository, models: [{ name: 'classifier' }] });
// The second worker takes the same ports on its own address.
await startRemoteWorker(t, { host: '127.0.0.3', port: first.port, muxPort: first.muxPort, repository, models: [{ name: 'classifier' }] });

const { gateway, url } = await startGateway(
  t,
  {
    models: { defaultReplicas: 0, include: ['classifier'] },
    batching: { enabled: false },
    cache: { enabled: false },
    health: { slowStartWindowMs: 0 },
    workers: { remote: { tls: false, discovery: { static: [], dns: { name: NAME, port: first.port }, servers: [dns.address], refreshMs: 100, muxPort: first.muxPort } } },
  },
  repository,
);
const replica = (host: string): Replica | undefined => gateway.replicas.replicas.find((r) => r.id === `remote-${host}:${first.port}`);

const load = classifierLoad(url, 4, seededRandom(18));
t.teardown(() => load.stop());
const { statuses } = load;

t.test('the worker the DNS name gives serves the models it reports', async (t) => {
  t.ok(await until(() => replica('127.0.0.2')?.state === 'ready', 30_000), 'discovered and ready');
  t.same(replica('127.0.0.2')!.models, ['classifier'], 'its models come from its own report');
  t.ok(await until(() => replica('127.0.0.2')!.completed > 20, 10_000), 'it serves');
});

t.test('a record added: the worker joins and takes traffic', async (t) => {
  dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
  t.ok(await until(() => replica('127.0.0.3')?.state === 'ready', 30_000), 'discovered and ready');
  t.ok(await until(() => replica('127.0.0.3')!.completed > 20, 10_000), `it serves (${replica('127.0.0.3')?.completed} requests)`);
});

t.test('a record removed: the worker drains out; no request failed at any point', async (t) => {
  const leaving = replica('127.0.0.2')!;
  dns.records.set(NAME, ['127.0.0.3']);
  t.ok(await until(() => replica('127.0.0.2') === undefined, 15_000), 'it left the set');
  t.equal(leaving.state, 'stopped');
  const before = statuses.length;
  t.ok(await until(() => statuses.length > before + 50, 10_000), 'the other worker serves on');
  t.same(gateway.replicas.replicas.map((r) => r.id), [`remote-127.0.0.3:${first.port}`]);
  t.same([...new Set(statuses)], [200], `${statuses.length} requests, all answered 200`);
});
