// Dynamic batching with real workers: concurrent requests become batches on
// the worker side, every answer is bit-identical to running it alone, shapes
// are grouped, deadlines and a full queue are answered without reaching a
// worker, one poisoned request fails alone, and priority orders the queue.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import type { WorkerModelStats } from '../../common/worker-control.ts';
import { binaryFloatRequest, demoRepository, getJson, type JsonAnswer, postBinary, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const repository = await demoRepository(t);
// classifier: wait up to 2 ms for rows so concurrent arrivals share a batch.
writeFileSync(join(repository, 'classifier', 'config.yaml'), 'versionPolicy: all\nbatching:\n  maxQueueDelayMs: 2\n');
writeFileSync(join(repository, 'pooler', 'config.yaml'), 'batching:\n  maxQueueDelayMs: 5\n');
writeFileSync(join(repository, 'ranker', 'config.yaml'), 'batching:\n  maxQueueDelayMs: 20\n');
// heavy: one replica and a short queue, so that one big request holds the only batch slot.
writeFileSync(join(repository, 'heavy', 'config.yaml'), 'replicas: 1\nbatching:\n  maxQueueSize: 6\n  maxBatchSize: 64\n');

const { gateway, url } = await startGateway(t, { cache: { enabled: false } }, repository);
const random = seededRandom(4242);

const sessions = new Map<string, ort.InferenceSession>();
async function direct(model: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  if (!sessions.has(model)) sessions.set(model, await ort.InferenceSession.create(join(repository, model, '1', 'model.onnx')));
  return sessions.get(model)!.run(feeds);
}
t.teardown(async () => {
  for (const s of sessions.values()) await s.release();
});

async function workerStats(key: string): Promise<WorkerModelStats[]> {
  const all = await Promise.all(gateway.replicas.replicas.map((r) => r.client.stats(5000)));
  return all.map((s) => s.models[key] ?? { runs: 0, rows: 0, runsByRows: {}, failures: 0, expired: 0 });
}
const totalRuns = async (key: string) => (await workerStats(key)).reduce((n, s) => n + s.runs, 0);

const heavyBody = (rows: number, extra: object = {}) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 512], data: randomFloats(random, rows * 512) }],
  ...extra,
});

/**
 * A heavy request with its rows as binary tensor data: the gateway decodes it in no time whatever its size, so
 * that the order in which such requests queue is the order they are sent in (a large JSON body is decoded in
 * time slices, which takes long enough under coverage instrumentation to reorder arrivals).
 */
function postHeavyBinary(rows: number, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  return postBinary(`${url}/v2/models/heavy/infer`, binaryFloatRequest(random, [rows, 512]), headers);
}

/** Occupies heavy's only replica with a long request; resolves once it runs, with its (pending) answer. */
async function occupyHeavy(): Promise<{ answer: ReturnType<typeof postHeavyBinary> }> {
  const replica = gateway.replicas.replicas.find((r) => r.serves('heavy'))!;
  const answer = postHeavyBinary(1024);
  while (replica.outstanding === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  // Wrapped: returning the promise itself from an async function would wait for it.
  return { answer };
}

t.test('64 concurrent single-row requests run as batches, each answer bit-identical to running alone', async (t) => {
  const inputs = Array.from({ length: 64 }, () => randomFloats(random, 64));
  const answers = await Promise.all(
    inputs.map((data) => postJson(`${url}/v2/models/classifier/versions/1/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data }] })),
  );
  t.same(answers.map((a) => a.status), Array(64).fill(200));
  for (const [i, answer] of answers.entries()) {
    const alone = await direct('classifier', { input: new ort.Tensor('float32', Float32Array.from(inputs[i]!), [1, 64]) });
    t.same(Float32Array.from(answer.body.outputs[0].data), alone.probabilities!.data, `request ${i} equals its unbatched result`);
  }
  const stats = await workerStats('classifier/1');
  const runs = stats.reduce((n, s) => n + s.runs, 0);
  const largest = Math.max(...stats.flatMap((s) => Object.keys(s.runsByRows).map(Number)));
  t.ok(runs < 64, `the workers ran ${runs} batches for 64 requests`);
  t.ok(largest > 1, `largest batch on a worker: ${largest} rows`);
});

t.test('a multi-row request and single-row requests batched together each get their own rows', async (t) => {
  const bodies = [3, 1, 5, 1, 2].map((rows) => ({ rows, data: randomFloats(random, rows * 64) }));
  const answers = await Promise.all(
    bodies.map((b) => postJson(`${url}/v2/models/classifier/versions/1/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [b.rows, 64], data: b.data }] })),
  );
  for (const [i, answer] of answers.entries()) {
    const alone = await direct('classifier', { input: new ort.Tensor('float32', Float32Array.from(bodies[i]!.data), [bodies[i]!.rows, 64]) });
    t.same(answer.body.outputs[0].shape, [bodies[i]!.rows, 10]);
    t.same(Float32Array.from(answer.body.outputs[0].data), alone.probabilities!.data, `request of ${bodies[i]!.rows} rows gets exactly its rows`);
  }
});

t.test('requests with different sequence lengths are batched separately and answered correctly', async (t) => {
  const runsBefore = await totalRuns('pooler/1');
  const shapes = [2, 2, 2, 5, 5, 5, 2, 5];
  const bodies = shapes.map((sequence) => ({ sequence, data: randomFloats(random, sequence * 8) }));
  const answers = await Promise.all(
    bodies.map((b) => postJson(`${url}/v2/models/pooler/infer`, { inputs: [{ name: 'tokens', datatype: 'FP32', shape: [1, b.sequence, 8], data: b.data }] })),
  );
  for (const [i, answer] of answers.entries()) {
    t.equal(answer.status, 200);
    const alone = await direct('pooler', { tokens: new ort.Tensor('float32', Float32Array.from(bodies[i]!.data), [1, bodies[i]!.sequence, 8]) });
    t.same(Float32Array.from(answer.body.outputs[0].data), alone.pooled!.data, `sequence ${bodies[i]!.sequence}`);
  }
  const runs = (await totalRuns('pooler/1')) - runsBefore;
  t.ok(runs >= 2 && runs < 8, `8 requests of 2 sequence lengths ran as ${runs} batches`);
  const batching = (await getJson(`${url}/admin/batching`)).body['pooler/1'];
  t.equal(batching.batching, true);
});

t.test('identical requests inside one batch run once', async (t) => {
  const stats = async () => (await getJson(`${url}/admin/batching`)).body['pooler/1'];
  const before = await stats();
  const rowsBefore = (await workerStats('pooler/1')).reduce((n, s) => n + s.rows, 0);
  const data = randomFloats(random, 3 * 8);
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => postJson(`${url}/v2/models/pooler/infer`, { inputs: [{ name: 'tokens', datatype: 'FP32', shape: [1, 3, 8], data }] })),
  );
  t.same(answers.map((a) => a.status), Array(6).fill(200));
  t.ok(answers.every((a) => JSON.stringify(a.body.outputs) === JSON.stringify(answers[0]!.body.outputs)), 'all six get the same answer');
  const after = await stats();
  const rowsRun = (await workerStats('pooler/1')).reduce((n, s) => n + s.rows, 0) - rowsBefore;
  t.ok(after.deduplicated - before.deduplicated >= 1, `${after.deduplicated - before.deduplicated} duplicates merged`);
  t.ok(rowsRun < 6, `the workers ran ${rowsRun} rows for 6 identical requests`);
});

t.test('one request that makes the model fail fails alone; the rest of its batch succeeds', async (t) => {
  const bisectionsBefore = (await getJson(`${url}/admin/batching`)).body['ranker/1']?.bisections ?? 0;
  const ids = Array.from({ length: 8 }, (_, i) => (i === 5 ? [1, 2, 5000, 4] : [i, i + 1, i + 2, i + 3]));
  const features = ids.map(() => randomFloats(random, 16));
  const answers = await Promise.all(
    ids.map((row, i) =>
      postJson(`${url}/v2/models/ranker/infer`, {
        inputs: [
          { name: 'features', datatype: 'FP32', shape: [1, 16], data: features[i] },
          { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: row },
        ],
      }),
    ),
  );
  for (const [i, answer] of answers.entries()) {
    if (i === 5) {
      t.equal(answer.status, 400, 'the poisoned request fails');
      t.equal(answer.body.code, 'GW_ERR_MODEL_EXECUTION');
      continue;
    }
    t.equal(answer.status, 200, `request ${i} succeeds`);
    const alone = await direct('ranker', {
      features: new ort.Tensor('float32', Float32Array.from(features[i]!), [1, 16]),
      item_ids: new ort.Tensor('int64', BigInt64Array.from(ids[i]!.map(BigInt)), [1, 4]),
    });
    const score = answer.body.outputs.find((o: { name: string }) => o.name === 'score');
    t.same(Float32Array.from(score.data), alone.score!.data);
  }
  const after = (await getJson(`${url}/admin/batching`)).body['ranker/1'];
  t.ok(after.bisections > bisectionsBefore, `the failed batch was bisected (${after.bisections - bisectionsBefore} times)`);
});

t.test('a deadline that passes while queued is answered 504 and never reaches a worker', async (t) => {
  // Read the workers' counters first: a worker busy in onnxruntime answers nothing until it is done.
  const runsBefore = await totalRuns('heavy/1');
  const busy = (await occupyHeavy()).answer;
  const [late, viaParameters] = await Promise.all([
    postJson(`${url}/v2/models/heavy/infer`, heavyBody(1), { 'x-infergate-timeout-ms': '30' }),
    postJson(`${url}/v2/models/heavy/infer`, heavyBody(1, { parameters: { timeout_ms: 30 } })),
  ]);
  t.equal(late.status, 504, 'deadline from the header');
  t.equal(late.body.code, 'GW_ERR_DEADLINE_EXCEEDED');
  t.equal(viaParameters.status, 504, `deadline from parameters: ${JSON.stringify(viaParameters.body).slice(0, 200)}`);
  t.equal((await busy).status, 200);
  t.equal(await totalRuns('heavy/1'), runsBefore + 1, 'only the long request ran');
  t.equal((await getJson(`${url}/admin/batching`)).body['heavy/1'].rejects.deadline, 2);
});

t.test('a full queue answers 503 with Retry-After; later requests succeed', async (t) => {
  const busy = (await occupyHeavy()).answer;
  const answers = await Promise.all(Array.from({ length: 10 }, () => postJson(`${url}/v2/models/heavy/infer`, heavyBody(1))));
  const rejected = answers.filter((a) => a.status === 503);
  t.equal(rejected.length, 4, '6 queued, 4 turned away');
  for (const answer of rejected) {
    t.equal(answer.body.code, 'GW_ERR_QUEUE_FULL');
    t.equal(answer.headers.get('retry-after'), '1');
  }
  t.equal(answers.filter((a) => a.status === 200).length, 6);
  const busyAnswer = await busy;
  t.equal(busyAnswer.status, 200, JSON.stringify(busyAnswer.body).slice(0, 300));
  t.equal((await postJson(`${url}/v2/models/heavy/infer`, heavyBody(1))).status, 200, 'served again once the queue drained');
});

t.test('a request that would wait in the queue past its deadline is refused at once and never runs', async (t) => {
  const runsBefore = await totalRuns('heavy/1');
  const busy = (await occupyHeavy()).answer;
  // A full batch (64 rows) is queued ahead: the next request needs at least one more round.
  const ahead = postHeavyBinary(64);
  while ((await getJson(`${url}/admin/batching`)).body['heavy/1'].queueDepth < 1) await new Promise((resolve) => setTimeout(resolve, 1));
  const startedMs = performance.now();
  const refused = await postJson(`${url}/v2/models/heavy/infer`, heavyBody(1), { 'x-infergate-timeout-ms': '1' });
  const answeredInMs = performance.now() - startedMs;
  t.equal(refused.status, 503);
  t.equal(refused.body.code, 'GW_ERR_OVERLOADED');
  t.equal(refused.headers.get('retry-after'), '1');
  t.ok(answeredInMs < 1_000, `answered in ${answeredInMs.toFixed(0)} ms, while the backlog was still running`);
  t.same([(await busy).status, (await ahead).status], [200, 200]);
  t.equal(await totalRuns('heavy/1'), runsBefore + 2, 'only the long request and the one ahead ran');
  t.ok((await getJson(`${url}/admin/batching`)).body['heavy/1'].rejects.expectedWait >= 1);
});

t.test('under a backlog, high-priority requests finish first', async (t) => {
  const busy = (await occupyHeavy()).answer;
  const finished: string[] = [];
  // Each request fills a whole batch (64 rows), so batches leave the queue one by one in priority order.
  const send = (name: string, priority: number) =>
    postHeavyBinary(64, { 'x-infergate-priority': String(priority) }).then((a) => {
      finished.push(name);
      return a;
    });
  const low = [send('low-1', 2), send('low-2', 2), send('low-3', 2)];
  // The high ones are sent once the low ones wait in the queue (the busy request and three more are running).
  while (gateway.infer.running('heavy') < 4) await new Promise((resolve) => setImmediate(resolve));
  const high = [send('high-1', 1), send('high-2', 1), send('high-3', 1)];
  const answers = await Promise.all([...low, ...high, busy]);
  t.same(answers.map((a) => a.status), Array(7).fill(200));
  t.same(finished.slice(0, 3).sort(), ['high-1', 'high-2', 'high-3'], `completion order: ${finished.join(', ')}`);
  const bad = await postJson(`${url}/v2/models/heavy/infer`, heavyBody(1), { 'x-infergate-priority': '9' });
  t.equal(bad.status, 400, 'a priority outside 1..priorityLevels is a client error');
});

t.test('kill -9 of a worker with batches in flight fails no request', async (t) => {
  const victim = gateway.replicas.replicas.find((r) => r.id === 'worker-1')!;
  const pid = victim.pid!;
  const pending = Array.from({ length: 100 }, () =>
    postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [4, 64], data: randomFloats(random, 256) }] }),
  );
  while (victim.outstanding === 0) await new Promise((resolve) => setImmediate(resolve));
  process.kill(pid, 'SIGKILL');
  const answers = await Promise.all(pending);
  t.same(answers.map((a) => a.status), Array(100).fill(200), 'every request answered 200');
  while (victim.state !== 'ready') await new Promise((resolve) => victim.once('state', resolve));
  t.not(victim.pid, pid, 'the worker was restarted');
});
