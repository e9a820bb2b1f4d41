// GET /metrics under a known load, with real workers: each counter and histogram count goes up by exactly the number
// of requests sent, per model, version and outcome; the workers' own families arrive labelled by replica; a killed
// worker shows in restarts and replica states; a replica whose breaker opened shows in its gauge.

import t from 'tap';
import { allReplicasReady, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { scrape, sumOf } from '../helpers/prometheus-text.ts';

const random = seededRandom(14);
const classifier = (rows = 1) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });

t.test('counts go up by exactly what was sent, per model, version and outcome', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { include: ['classifier', 'ranker'], defaultReplicas: 2 }, cache: { enabled: false } });
  await allReplicasReady(gateway);
  const before = await scrape(url);
  const ok = await Promise.all(Array.from({ length: 37 }, () => postJson(`${url}/v2/models/classifier/versions/1/infer`, classifier())));
  const bad = await Promise.all(Array.from({ length: 5 }, () => postJson(`${url}/v2/models/classifier/versions/1/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })));
  const unknown = await Promise.all(Array.from({ length: 3 }, () => postJson(`${url}/v2/models/no-such-model/infer`, classifier())));
  t.same([...new Set(ok.map((a) => a.status))], [200]);
  t.same([...new Set(bad.map((a) => a.status))], [400]);
  t.same([...new Set(unknown.map((a) => a.status))], [404]);
  const after = await scrape(url);
  const delta = (name: string, labels: Record<string, string>) => sumOf(after, name, labels) - sumOf(before, name, labels);

  const version1 = { model: 'classifier', version: '1' };
  t.equal(delta('infergate_requests_total', { ...version1, protocol: 'rest', status_class: '2xx', code: '' }), 37);
  t.equal(delta('infergate_requests_total', { ...version1, status_class: '4xx', code: bad[0]!.body.code ?? 'GW_ERR_INVALID_REQUEST' }), 5, `${bad[0]!.body.code}`);
  t.equal(delta('infergate_requests_total', { model: '', version: '', status_class: '4xx', code: 'GW_ERR_MODEL_NOT_FOUND' }), 3, 'unknown names are counted under model=""');
  t.equal(delta('infergate_request_duration_seconds_count', version1), 42, 'every request to version 1 has a duration');
  t.equal(delta('infergate_request_duration_seconds_bucket', { ...version1, le: '+Inf' }), 42);
  t.equal(delta('infergate_request_queue_seconds_count', version1), 37, 'the batched ones were queued');
  t.equal(delta('infergate_request_upstream_seconds_count', version1), 37);
  t.equal(delta('infergate_request_encode_seconds_count', version1), 37);
  t.equal(delta('infergate_batch_size_rows_sum', version1), 37, 'every row was in a batch sent to a worker');
  t.equal(delta('infergate_worker_runs_total', { ...version1, outcome: 'ok' }), delta('infergate_batch_size_rows_count', version1), 'the workers ran each batch the gateway sent');
  t.equal(delta('infergate_worker_batch_rows_sum', version1), 37, "the workers' rows match");
  for (const replica of ['worker-0', 'worker-1']) {
    t.ok(sumOf(after, 'infergate_worker_process_resident_memory_bytes', { replica }) > 0, `${replica}'s process metrics are there`);
  }
  t.ok(sumOf(after, 'infergate_worker_compute_seconds_count', { ...version1, phase: 'infer' }) > 0, 'worker compute, measured in the worker');
  t.ok(sumOf(after, 'infergate_process_resident_memory_bytes') > 0, "the gateway's own process metrics");
  t.equal(sumOf(after, 'infergate_replicas', { state: 'ready' }), 2);
});

t.test('a killed worker shows in restarts and replica states', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 2 }, workers: { restartBackoffInitialMs: 50 } });
  await allReplicasReady(gateway);
  const victim = gateway.replicas.replicas[0]!;
  const pid = victim.pid!;
  process.kill(pid, 'SIGKILL');
  // While it is down, the replica gauge says so; once back, restarts says it happened.
  const deadline = Date.now() + 30_000;
  let sawDown = false;
  let samples = await scrape(url);
  while (Date.now() < deadline) {
    samples = await scrape(url);
    if (sumOf(samples, 'infergate_replicas', { state: 'ready' }) < 2) sawDown = true;
    if (sumOf(samples, 'infergate_worker_restarts_total', { replica: victim.id }) === 1 && sumOf(samples, 'infergate_replicas', { state: 'ready' }) === 2) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.ok(sawDown || victim.generation === 1, 'the replica left the ready state');
  t.equal(sumOf(samples, 'infergate_worker_restarts_total', { replica: victim.id }), 1, 'one restart of the killed worker');
  t.equal(sumOf(samples, 'infergate_worker_restarts_total', { replica: gateway.replicas.replicas[1]!.id }), 0);
  t.equal(sumOf(samples, 'infergate_replicas', { state: 'ready' }), 2, 'both ready again');
});

t.test("a replica whose breaker opened shows in its gauge", async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 2 },
    workers: { injectFaults: { 'worker-1': 'infer-errors' } },
    // No outlier ejection: it would take worker-1 out of rotation before its breaker saw enough failures to open.
    health: { consecutiveFailuresToEject: 0 },
    batching: { enabled: false },
    cache: { enabled: false },
  });
  await allReplicasReady(gateway);
  const faulty = gateway.replicas.replicas.find((r) => r.id === 'worker-1')!;
  const deadline = Date.now() + 30_000;
  while (faulty.health.breaker.state !== 'open' && Date.now() < deadline) {
    await Promise.all(Array.from({ length: 20 }, () => postJson(`${url}/v2/models/classifier/infer`, classifier())));
  }
  const samples = await scrape(url);
  t.equal(sumOf(samples, 'infergate_replica_breaker_state', { replica: 'worker-1', state: 'open' }), 1, "worker-1's breaker is open");
  t.equal(sumOf(samples, 'infergate_replica_breaker_state', { replica: 'worker-0', state: 'closed' }), 1, "worker-0's is closed");
  t.ok(sumOf(samples, 'infergate_upstream_failures_total', { replica: 'worker-1' }) > 0, 'its failed attempts are counted');
  t.ok(sumOf(samples, 'infergate_retries_total') > 0, 'and retried elsewhere');
});
