// Discovery against a scripted list of workers (fake clients, a real replica
// set), and the DNS lookup against a DNS server the test runs: workers found
// join with the models they report, vanished ones drain out, a failed lookup
// changes nothing, and a name without records is an empty fleet.

import { createSocket } from 'node:dgram';
import t from 'tap';
import { silentLogger } from '../../../common/logger.ts';
import { Discovery, type FindWorkers } from '../../../gateway/sources/discovery.ts';
import { dnsWorkers, listedWorkers } from '../../../gateway/sources/find-workers.ts';
import { startDnsServer } from '../../helpers/dns-server.ts';
import { fakeFleet } from '../../helpers/fake-fleet.ts';
import { until } from '../../helpers/until.ts';

function discoveryOver(find: FindWorkers) {
  const fleet = fakeFleet();
  const discovery = new Discovery({
    find,
    refreshMs: 60_000,
    drainMs: 1_000,
    replicas: fleet.set,
    connect: fleet.connect,
    healthFor: fleet.healthFor,
    probeIntervalMs: 10,
    probeTimeoutMs: 100,
    acceptReport: (replica, report) => replica.setReport(report),
    now: () => performance.now(),
    logger: silentLogger(),
  });
  return { fleet, discovery };
}

t.test('found workers join with the models they report; vanished ones drain out; a failed lookup keeps them', async (t) => {
  let found: Array<{ host: string; port: number }> | Error = [{ host: '10.0.0.1', port: 9100 }, { host: 'fd00::2', port: 9100 }];
  const { fleet, discovery } = discoveryOver(async () => {
    if (found instanceof Error) throw found;
    return listedWorkers(found, 9101)();
  });
  t.teardown(() => {
    fleet.stop();
    return discovery.close();
  });
  await discovery.refresh();
  const ids = () => fleet.set.replicas.map((r) => r.id);
  t.same(ids(), ['remote-10.0.0.1:9100', 'remote-[fd00::2]:9100']);
  t.ok(await until(() => fleet.set.replicas.every((r) => r.state === 'ready'), 2_000), 'both ready');
  const [first] = fleet.set.replicas;
  t.same(first!.models, ['m'], 'placed on the models of its report');
  t.same(first!.address, { host: '10.0.0.1', port: 9100, muxPort: 9101 });
  t.ok(first!.runs('m', '1'));

  found = new Error('DNS timeout');
  await discovery.refresh();
  t.same(ids(), ['remote-10.0.0.1:9100', 'remote-[fd00::2]:9100'], 'a failed lookup changes nothing');

  found = [{ host: 'fd00::2', port: 9100 }];
  first!.outstanding = 1; // a request in flight: it drains first
  await discovery.refresh();
  t.equal(first!.state, 'draining', 'out of rotation at once');
  t.ok(ids().includes('remote-10.0.0.1:9100'), 'still in the set while its request runs');
  first!.outstanding = 0;
  t.ok(await until(() => !ids().includes('remote-10.0.0.1:9100'), 2_000), 'gone once it finished');
  t.equal(first!.state, 'stopped');
});

t.test('a listed fleet is the list itself', async (t) => {
  t.same(await listedWorkers([{ host: 'a', port: 1 }], undefined)(), [{ id: 'remote-a:1', address: { host: 'a', port: 1 } }]);
});

t.test('a report passed on with a worker replaces the one its probe read, once the replica is ready', async (t) => {
  const worker = { id: 'worker-0', address: { socketPath: '/nonexistent/w0.sock' } };
  let report: { models: Array<{ name: string; version: string }> } | undefined;
  const { fleet, discovery } = discoveryOver(async () => [report ? { ...worker, report: report as never } : worker]);
  t.teardown(() => {
    fleet.stop();
    return discovery.close();
  });
  await discovery.refresh();
  const [replica] = fleet.set.replicas;
  t.equal(replica!.id, 'worker-0', 'the id the finder gave');
  t.ok(await until(() => replica!.state === 'ready', 2_000));
  t.same(replica!.models, ['m']);
  const probed = replica!.report;
  report = { ...probed!, models: [...probed!.models, { ...probed!.models[0]!, name: 'n' }] };
  await discovery.refresh();
  t.same(replica!.models, ['m', 'n'], 'placed on the model the new report adds');
  t.equal(replica!.report, report as never);
});

t.test('DNS: the A records at the port; no record is an empty fleet; a server that does not answer is an error', async (t) => {
  const dns = await startDnsServer(t);
  dns.records.set('workers.test', ['127.0.0.3', '127.0.0.2']);
  const find = (name: string, servers = [dns.address]) => dnsWorkers({ name, port: 9100, muxPort: undefined, servers, timeoutMs: 300 });
  t.same(await find('workers.test')(), [
    { id: 'remote-127.0.0.2:9100', address: { host: '127.0.0.2', port: 9100 } },
    { id: 'remote-127.0.0.3:9100', address: { host: '127.0.0.3', port: 9100 } },
  ]);
  dns.records.set('workers.test', []);
  t.same(await find('workers.test')(), [], 'a name without records');
  t.same(await find('nobody.test')(), [], 'an unknown name (NXDOMAIN)');
  // A UDP port with nobody behind it: the lookup times out.
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  await t.rejects(find('workers.test', [`127.0.0.1:${silent.address().port}`])(), { code: 'ETIMEOUT' });
});
