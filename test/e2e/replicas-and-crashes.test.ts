// Least-connections over two real worker processes: a fair share under
// concurrency, and a worker killed with SIGKILL mid-load costs no client
// request — its in-flight requests are re-sent to the other replica and the
// supervisor brings it back.

import { once } from 'node:events';
import t from 'tap';
import { allReplicasReady, binaryFloatRequest, postBinary, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

// Batching off: each request is one upstream call, so per-replica counts are request counts.
// (test/e2e/batching.test.ts kills a worker under batched load.)
const { gateway, url } = await startGateway(t, {
  models: { defaultReplicas: 2, include: ['classifier', 'heavy'] },
  workers: { restartBackoffInitialMs: 50 },
  batching: { enabled: false },
});
await allReplicasReady(gateway);
const random = seededRandom(77);
const workers = gateway.replicas.replicas;

function classifierRequest(rows: number) {
  return { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] };
}

t.test('200 concurrent requests over 2 replicas: all succeed, each replica serves at least 30%', async (t) => {
  t.equal(workers.length, 2);
  const before = workers.map((w) => w.completed);
  const answers = await Promise.all(
    Array.from({ length: 200 }, () => postJson(`${url}/v2/models/classifier/infer`, classifierRequest(4))),
  );
  t.same(answers.map((a) => a.status), Array(200).fill(200));
  const served = workers.map((w, i) => w.completed - before[i]!);
  t.equal(served[0]! + served[1]!, 200);
  for (const [i, count] of served.entries()) t.ok(count >= 60, `worker-${i} served ${count} of 200`);
});

t.test('kill -9 of a worker with 100 requests in flight fails no request; the worker comes back', async (t) => {
  const victim = workers[0]!;
  const pid = victim.pid!;
  t.ok(pid > 0);
  // Binary tensor data: the gateway decodes these in no time, so they pile up on the workers whatever the load.
  const requests = Array.from({ length: 100 }, () => binaryFloatRequest(random, [16, 512]));
  const pending = requests.map((request) => postBinary(`${url}/v2/models/heavy/infer`, request));

  // Kill once the victim is really busy, so requests are in flight on it.
  const busyBy = performance.now() + 5_000;
  while (victim.outstanding < 20 && performance.now() < busyBy) await new Promise((resolve) => setImmediate(resolve));
  t.ok(victim.outstanding > 0, `${victim.outstanding} in flight on the victim`);
  const inFlightAtKill = victim.outstanding;
  process.kill(pid, 'SIGKILL');

  const answers = await Promise.all(pending);
  const failed = answers.filter((a) => a.status !== 200);
  t.equal(failed.length, 0, `no failed requests (${inFlightAtKill} were in flight on the killed worker)`);
  if (failed.length) t.comment(JSON.stringify(failed[0]!.body));

  // The exit may be seen after the last answer (the other replica took them all): wait for the new process.
  while (victim.pid === pid || victim.state !== 'ready') await once(victim, 'state');
  t.not(victim.pid, pid, 'a new process replaced the killed one');
  t.equal(victim.generation, 1);

  const completedBefore = victim.completed;
  const more = await Promise.all(Array.from({ length: 40 }, () => postJson(`${url}/v2/models/classifier/infer`, classifierRequest(2))));
  t.same(more.map((a) => a.status), Array(40).fill(200));
  t.ok(victim.completed > completedBefore, `the restarted worker serves again (${victim.completed - completedBefore} of 40)`);
});
