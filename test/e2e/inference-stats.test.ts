// Triton's statistics extension over real workers: after a known mix of requests (batched and unbatched, computed,
// cache hits, rejected by validation, failed in onnxruntime) the counts of GET /v2/models/stats and of one version's
// stats are exactly what was sent; an unknown model or version is a catalogued 404 with {"error"}.
//
// Which failures count (as in Triton, where a request refused by validation never reaches the model's scheduler and
// is in no statistic): a bad shape, refused by the gateway's validation, is not counted; a request onnxruntime
// rejects while running the model (a ranker item id out of range: 400 GW_ERR_MODEL_EXECUTION) is a `fail`.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const random = seededRandom(1414);
const classifierBody = (rows: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });
const rankerBody = (ids: number[]) => ({
  inputs: [
    { name: 'features', datatype: 'FP32', shape: [1, 16], data: randomFloats(random, 16) },
    { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: ids },
  ],
});

type DurationStat = { count: number; ns: number };
type ModelStat = {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', DurationStat>;
  batch_stats: Array<{ batch_size: number; compute_input: DurationStat; compute_infer: DurationStat; compute_output: DurationStat }>;
  response_stats: object;
  memory_usage: unknown[];
};

t.test('the counts are what was sent, per model version', async (t) => {
  const repository = await demoRepository(t);
  // The ranker runs unbatched (one run per request); the classifier is batched.
  writeFileSync(join(repository, 'ranker', 'config.yaml'), 'batching:\n  enabled: false\n');
  const { url } = await startGateway(t, { models: { include: ['classifier', 'ranker'], defaultReplicas: 1 } }, repository);
  const startedWallMs = Date.now();

  const wired = await getJson(`${url}/v2/models/stats`);
  t.equal(wired.status, 200, `the stats route answers (it is wired): ${JSON.stringify(wired.body).slice(0, 200)}`);
  if (wired.status !== 200) return;
  const unused = (wired.body.model_stats as ModelStat[]).find((s) => s.name === 'classifier' && s.version === '2')!;
  t.same([unused.inference_stats.success, unused.last_inference, unused.batch_stats], [{ count: 0, ns: 0 }, 0, []], 'a version not used yet shows zeros');

  // classifier/1, batched: 24 one-row and 2 three-row requests at once, then 5 of them again (cache hits).
  const v1 = `${url}/v2/models/classifier/versions/1/infer`;
  const v1Bodies = [...Array.from({ length: 24 }, () => classifierBody(1)), classifierBody(3), classifierBody(3)];
  const computed = await Promise.all(v1Bodies.map((body) => postJson(v1, body)));
  t.same([...new Set(computed.map((a) => a.status))], [200]);
  t.same([...new Set(computed.map((a) => a.headers.get('x-infergate-cache')))], ['miss'], 'distinct bodies: every one computed');
  const hits = [];
  for (const body of v1Bodies.slice(0, 5)) hits.push(await postJson(v1, body));
  t.same(hits.map((a) => [a.status, a.headers.get('x-infergate-cache')]), Array(5).fill([200, 'hit']));
  // Refused by validation: never reaches the scheduler, so it is in no statistic.
  for (let i = 0; i < 3; i++) {
    const bad = await postJson(v1, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    t.same([bad.status, bad.body.code], [400, 'GW_ERR_SHAPE_MISMATCH']);
  }
  // classifier/2 by its label.
  const canary = await Promise.all(Array.from({ length: 4 }, () => postJson(`${url}/v2/models/classifier/versions/canary/infer`, classifierBody(1))));
  t.same([...new Set(canary.map((a) => a.status))], [200]);

  // ranker/1, unbatched: 6 computed, 2 repeated (hits), 3 that onnxruntime rejects (fail).
  const ranker = `${url}/v2/models/ranker/infer`;
  const rankerBodies = Array.from({ length: 6 }, (_, i) => rankerBody([i, i + 1, i + 2, i + 3]));
  t.same((await Promise.all(rankerBodies.map((body) => postJson(ranker, body)))).map((a) => a.status), Array(6).fill(200));
  for (const body of rankerBodies.slice(0, 2)) t.equal((await postJson(ranker, body)).headers.get('x-infergate-cache'), 'hit');
  for (let i = 0; i < 3; i++) {
    const poisoned = await postJson(ranker, rankerBody([1, 2, 5000 + i, 4]));
    t.same([poisoned.status, poisoned.body.code], [400, 'GW_ERR_MODEL_EXECUTION'], 'onnxruntime rejects it: it reached the model');
  }

  // Each request is counted as its answer is handed to the socket: wait (with a deadline) until all have been.
  const expected = { 'classifier/1': 31, 'classifier/2': 4, 'ranker/1': 11 };
  const deadline = Date.now() + 10_000;
  let stats: ModelStat[] = [];
  const counted = () => Object.fromEntries(stats.map((s) => [`${s.name}/${s.version}`, s.inference_stats.success.count + s.inference_stats.fail.count]));
  for (;;) {
    const answer = await getJson(`${url}/v2/models/stats`);
    t.equal(answer.status, 200);
    stats = answer.body.model_stats;
    if (JSON.stringify(counted()) === JSON.stringify(expected) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.same(stats.map((s) => `${s.name}/${s.version}`), ['classifier/1', 'classifier/2', 'ranker/1'], 'every served version, models by name');
  t.same(counted(), expected);

  const one = await getJson(`${url}/v2/models/classifier/versions/1/stats`);
  t.equal(one.status, 200);
  t.equal(one.body.model_stats.length, 1);
  const c1: ModelStat = one.body.model_stats[0];
  t.same([c1.name, c1.version], ['classifier', '1']);
  const s1 = c1.inference_stats;
  t.equal(s1.success.count, 31, '26 computed + 5 hits');
  t.equal(s1.fail.count, 0, 'the bad shapes never reached the scheduler');
  t.equal(s1.cache_hit.count, 5);
  t.equal(s1.cache_miss.count, 26);
  t.equal(s1.queue.count, 31, 'queue counts every success, hits included');
  for (const phase of ['compute_input', 'compute_infer', 'compute_output'] as const) t.equal(s1[phase].count, 26, `${phase}: hits left out`);
  t.ok(s1.success.ns > 0 && s1.compute_infer.ns > 0 && s1.cache_hit.ns > 0, 'durations in ns');
  t.ok(s1.compute_infer.ns < s1.success.ns, 'compute is part of the whole');
  t.equal(c1.inference_count, 30, 'rows computed: 24 × 1 + 2 × 3; hits left out');
  t.equal(c1.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0), 30, 'Σ batch_size × count = inference_count');
  t.equal(c1.batch_stats.reduce((n, b) => n + b.compute_infer.count, 0), c1.execution_count, 'one batch_stats count per execution');
  t.ok(c1.execution_count >= 1 && c1.execution_count <= 26, `${c1.execution_count} executions for 26 computed requests`);
  t.same(
    c1.batch_stats.map((b) => b.batch_size),
    [...c1.batch_stats.map((b) => b.batch_size)].sort((a, b) => a - b),
    'batch sizes ascending',
  );
  t.ok(c1.last_inference >= startedWallMs && c1.last_inference <= Date.now(), 'last_inference on the wall clock');
  t.same([c1.response_stats, c1.memory_usage], [{}, []]);

  const byLabel = await getJson(`${url}/v2/models/classifier/versions/canary/stats`);
  t.same(byLabel.body.model_stats.map((s: ModelStat) => [s.version, s.inference_stats.success.count, s.inference_count]), [['2', 4, 4]], 'a label names its version');

  const r1 = stats.find((s) => s.name === 'ranker')!;
  t.same(
    [r1.inference_stats.success.count, r1.inference_stats.fail.count, r1.inference_stats.cache_hit.count, r1.inference_stats.cache_miss.count, r1.inference_stats.compute_infer.count],
    [8, 3, 2, 6, 6],
    'ranker: 6 computed + 2 hits succeed; the 3 onnxruntime rejected fail',
  );
  t.same([r1.execution_count, r1.inference_count], [6, 6], 'unbatched: one run per computed request');
  t.same(r1.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]), [[1, 6]]);
  t.ok(r1.inference_stats.fail.ns > 0);

  const model = await getJson(`${url}/v2/models/classifier/stats`);
  t.same(model.body.model_stats.map((s: ModelStat) => s.version), ['1', '2'], 'one model: all its versions');
});

t.test('an unknown model or version is a catalogued 404 with {"error"}', async (t) => {
  const { url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 1 } });
  const table = [
    { path: '/v2/models/nope/stats', code: 'GW_ERR_MODEL_NOT_FOUND' },
    { path: '/v2/models/nope/versions/1/stats', code: 'GW_ERR_MODEL_NOT_FOUND' },
    { path: '/v2/models/classifier/versions/9/stats', code: 'GW_ERR_VERSION_NOT_FOUND' },
  ];
  for (const row of table) {
    const answer = await getJson(url + row.path);
    t.equal(answer.status, 404, `${row.path}: status`);
    t.equal(answer.body.code, row.code, `${row.path}: code`);
    t.type(answer.body.error, 'string', `${row.path}: {"error"}`);
  }
});
