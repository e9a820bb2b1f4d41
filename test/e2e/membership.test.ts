// Replica membership with real worker processes: a new placement applied to
// a running fleet under load (a worker joins and takes traffic, then leaves
// drained) loses no request; a worker the gateway does not run, reached from
// the static list, serves like a local one; and local workers reached by one
// HTTP request per inference (workers.transport: http) answer the same.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { workerArgv } from '../../common/worker-options.ts';
import type { Replica } from '../../gateway/replicas/replica.ts';
import { placeModels } from '../../gateway/supervisor/placement.ts';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const random = seededRandom(12);
const request = (rows: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });
const repository = await demoRepository(t);

/** Closed-loop clients posting until stopped; resolves with the statuses seen. */
function load(url: string, clients: number): { stop: () => Promise<number[]> } {
  let running = true;
  const statuses: number[] = [];
  const loops = Array.from({ length: clients }, async () => {
    while (running) statuses.push((await postJson(`${url}/v2/models/classifier/infer`, request(2))).status);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

t.test('a placement applied under load: a worker joins and serves, then leaves drained; no request fails', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { defaultReplicas: 1, include: ['classifier'] }, batching: { enabled: false }, cache: { enabled: false } }, repository);
  const events: string[] = [];
  gateway.replicas.on('added', (r) => events.push(`added ${r.id}`));
  gateway.replicas.on('removed', (r) => events.push(`removed ${r.id}`));
  const traffic = load(url, 8);

  await gateway.supervisor.apply(placeModels([{ name: 'classifier', replicas: 2 }]));
  const joined = gateway.replicas.replicas.find((r) => r.id === 'worker-1')!;
  await until(() => joined.state === 'ready' && joined.completed >= 20);
  t.ok(joined.completed >= 20, `the new worker serves (${joined.completed} requests so far)`);

  const pid = joined.pid!;
  await gateway.supervisor.apply(placeModels([{ name: 'classifier', replicas: 1 }]));
  t.same(gateway.replicas.replicas.map((r) => r.id), ['worker-0'], 'the set holds the one placed worker');
  t.equal(joined.state, 'stopped', 'the worker that left was drained and stopped');
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'its process exited');
  // Past the first restart backoff (workers.restartBackoffInitialMs): a worker that left is not restarted as if it had crashed.
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal(joined.pid, null, 'and stays gone');
  t.equal(joined.generation, 0, 'never restarted');

  const statuses = await traffic.stop();
  t.same(statuses.filter((s) => s !== 200), [], `${statuses.length} requests while the fleet changed, all answered 200`);
  t.same(events, ['added worker-1', 'removed worker-1']);
  const admin = await getJson(`${url}/admin/replicas`);
  t.same(admin.body.replicas.map((r: { id: string }) => r.id), ['worker-0'], 'the admin view follows the set');
});

/** A standalone worker process on a TCP port (0: any free one); resolves once it listens. */
async function standaloneWorker(t: Test, port: number): Promise<{ port: number; process: ChildProcess }> {
  const argv = workerArgv({ listen: { kind: 'tcp', host: '127.0.0.1', port }, modelsDir: repository, models: [{ name: 'classifier' }] });
  const args = [join(import.meta.dirname, '..', '..', 'bin', 'infergate.ts'), 'worker', ...argv];
  const worker = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  });
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = /listening on (?:http:\/\/)?127\.0\.0\.1:(\d+)/;
  await until(() => listening.test(output));
  return { port: Number(listening.exec(output)![1]), process: worker };
}

t.test('a worker at a fixed address (static list) serves like a local one, and rejoins after a restart', async (t) => {
  const first = await standaloneWorker(t, 0);
  const { gateway, url } = await startGateway(
    t,
    {
      models: { defaultReplicas: 0, include: ['classifier'] },
      staticReplicas: [{ id: 'remote', address: `127.0.0.1:${first.port}`, models: ['classifier'] }],
      health: { checkIntervalMs: 50, checkTimeoutMs: 500, restartAfterFailedChecks: 2 },
    },
    repository,
  );
  const remote = gateway.replicas.replicas[0]!;
  t.same(gateway.replicas.replicas.map((r: Replica) => [r.id, r.state]), [['remote', 'ready']], 'the static replica alone, ready');
  const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(`${url}/v2/models/classifier/infer`, request(3))));
  t.same(answers.map((a) => a.status), Array(20).fill(200));
  t.equal(answers[0]!.body.model_version, '2', 'the highest version the worker loaded');
  const admin = await getJson(`${url}/admin/replicas`);
  t.equal(admin.body.replicas[0].address, `127.0.0.1:${first.port}`);

  // Its process dies; another is started at the same address: failed checks put the replica back to probing, and it rejoins.
  first.process.kill('SIGKILL');
  await once(first.process, 'exit');
  await until(() => remote.generation > 0);
  await standaloneWorker(t, first.port);
  await until(() => remote.state === 'ready');
  const after = await postJson(`${url}/v2/models/classifier/infer`, request(1));
  t.equal(after.status, 200, 'served by the worker that took its place');
});

t.test('a worker placed to serve one version of a model gets only that version\'s traffic (a canary on a subset)', async (t) => {
  // No slow start: the worker that joins takes its full share at once.
  const overrides = { models: { defaultReplicas: 1, include: ['classifier'] }, batching: { enabled: false }, cache: { enabled: false }, health: { slowStartWindowMs: 0 } };
  const { gateway, url } = await startGateway(t, overrides, repository);
  await gateway.supervisor.apply([
    { id: 'worker-0', models: ['classifier'] },
    { id: 'worker-1', models: ['classifier:1'] },
  ]);
  const [all, canary] = gateway.replicas.replicas as [Replica, Replica];
  await until(() => canary.state === 'ready');
  t.same(canary.report!.models.map((m) => m.version), ['1'], 'the worker loaded version 1 only');
  const post = (version: string) => postJson(`${url}/v2/models/classifier/versions/${version}/infer`, request(1));
  const v2 = await Promise.all(Array.from({ length: 30 }, () => post('2')));
  t.same(v2.map((a) => a.status), Array(30).fill(200));
  t.equal(canary.completed, 0, 'version 2 never went to the worker that does not serve it');
  const v1 = await Promise.all(Array.from({ length: 60 }, () => post('1')));
  t.same(v1.map((a) => a.status), Array(60).fill(200));
  t.ok(canary.completed > 10 && all.completed > 40, `version 1 spread over both (${all.completed - 30} and ${canary.completed})`);
  const admin = await getJson(`${url}/admin/replicas`);
  t.same(admin.body.replicas.map((r: { models: string[] }) => r.models), [['classifier'], ['classifier:1']]);
});

t.test('local workers over HTTP (workers.transport: http) answer the same', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { defaultReplicas: 1, include: ['classifier'] }, workers: { transport: 'http' }, batching: { enabled: false } }, repository);
  t.notOk('muxSocketPath' in gateway.replicas.replicas[0]!.address, 'no mux channel in the address');
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postJson(`${url}/v2/models/classifier/infer`, request(1 + (i % 3)))));
  t.same(answers.map((a) => a.status), Array(20).fill(200));
  t.equal(gateway.replicas.replicas[0]!.completed, 20);
});
