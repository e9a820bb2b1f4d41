// Chaos: one of 3 workers answers every inference with a 500 (started with
// --inject-fault infer-errors; its health checks still pass). Each failed
// attempt is retried on another replica within the retry budget; the bad
// replica's consecutive failures eject it (and its breaker opens), so it soon
// stops receiving traffic at all. Client errors can only come from retries the
// budget refused.

import t from 'tap';
import { postJson, randomFloats, seededRandom, startGateway } from '../../helpers/gateway.ts';
import { percentile, steadyLoad, tally } from '../../helpers/steady-load.ts';

t.test('a worker answering 5xx: it is ejected, the others serve, client errors ≤ retries the budget refused', async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 3 },
    workers: { injectFaults: { 'worker-2': 'infer-errors' } },
    health: { consecutiveFailuresToEject: 5, baseEjectionMs: 3_000 },
    cache: { enabled: false },
  });
  const bad = gateway.replicas.replicas.find((r) => r.id === 'worker-2')!;
  const random = seededRandom(11);
  const bodies = Array.from({ length: 256 }, () => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] }));
  for (let i = 0; i < 50 && bad.state !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, bodies[0])).status, 200);

  const outcomes = await steadyLoad({ url, path: '/v2/models/classifier/infer', ratePerS: 200, durationMs: 10_000, body: (i) => bodies[i % bodies.length]! }).done;

  const counts = tally(outcomes);
  const latencies = outcomes.map((o) => o.latencyMs);
  const health = bad.health.snapshot();
  const budget = gateway.retryBudget.snapshot();
  const clientErrors = outcomes.length - (counts['200'] ?? 0);
  t.comment(
    `outcomes ${JSON.stringify(counts)}; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ` +
      `bad replica: ${bad.failed} failed attempts, ${bad.completed} completed, ejections ${health.ejections}, breaker opened ${health.breaker.opened}×; retry budget ${JSON.stringify(budget)}`,
  );
  t.ok(health.ejections >= 1, 'the failing replica was ejected');
  t.equal(bad.completed, 0, 'it never answered a request successfully');
  t.ok(bad.failed < outcomes.length * 0.05, `it took only ${bad.failed} of ${outcomes.length} requests before and between ejections`);
  t.ok(clientErrors <= budget.exhausted, `${clientErrors} client errors ≤ ${budget.exhausted} retries refused by the budget`);
  t.equal(clientErrors, 0, 'with the default budget every failed attempt was retried successfully');
});

t.test('the error of a client never counts against a replica', async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['ranker'], defaultReplicas: 1 },
    breaker: { volumeThreshold: 2 },
    health: { consecutiveFailuresToEject: 2 },
    batching: { enabled: false },
    cache: { enabled: false },
  });
  // Item id ≥ 1000 makes onnxruntime fail at run time: a model error caused by the input.
  const poison = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0.1) }, { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 5000] }] };
  for (let i = 0; i < 20; i++) t.equal((await postJson(`${url}/v2/models/ranker/infer`, poison)).status, 400);
  const replica = gateway.replicas.replicas[0]!;
  const health = replica.health.snapshot();
  t.same([health.breaker.state, health.consecutiveFailures, health.ejections], ['closed', 0, 0], 'breaker closed, no failure counted, never ejected');
});
