// Triton's statistics from finished records and worker runs: each kind of request lands in success or fail (or
// nowhere, when it never reached the scheduler) with its queue, compute and cache parts in ns; runs give the
// execution and inference counts and the batch_stats; the answer lists the registry's versions or throws its 404s.

import t from 'tap';
import type { RepositoryModel } from '../../../common/model-repository.ts';
import { ModelRegistry } from '../../../gateway/models/registry.ts';
import { InferenceStats, type ModelStat } from '../../../gateway/observability/inference-stats.ts';
import { newRequestRecord, type RequestRecord } from '../../../gateway/telemetry/request-record.ts';

const WALL_CLOCK_MS = 1_700_000_000_123;

const model = (name: string, versions: string[], config: RepositoryModel['config'] = {}): RepositoryModel => ({
  name,
  versions: versions.map((version) => ({ version, path: `/repo/${name}/${version}/model.onnx`, missing: false })),
  config,
});

function statsOver(models: RepositoryModel[] = [model('m', ['1'])]): InferenceStats {
  return new InferenceStats({ models: new ModelRegistry(models), wallClockMs: () => WALL_CLOCK_MS });
}

/** A request to m/1 received at 1000 ms that ended 200 at 1010 ms, with `fields` on top. */
function record(fields: Partial<RequestRecord>): RequestRecord {
  return Object.assign(newRequestRecord('id', 'rest', 1_000, undefined), { model: 'm', version: '1', status: 200, endedMs: 1_010 }, fields);
}

const ZERO = { count: 0, ns: 0 };
const ms = (count: number, millis: number) => ({ count, ns: Math.round(millis * 1e6) });
const worker = (inputMs: number, inferMs: number, outputMs: number) => ({ inputMs, inferMs, outputMs });

type Row = { name: string; records: Array<Partial<RequestRecord>>; expect: Partial<ModelStat['inference_stats']>; counted: boolean };

const rows: Row[] = [
  {
    name: 'batched miss: queue = time in the batcher + upstream wait beyond compute; miss = lookup + insert',
    records: [{ cache: 'miss', decodedMs: 1_001, queuedMs: 1_002, batchFormedMs: 1_004, dispatchedMs: 1_004.5, answeredMs: 1_010, worker: worker(1, 3, 0.5), encodeStartMs: 1_010.5, endedMs: 1_011, batchRows: 8 }],
    // queue: 2 ms queued + (5.5 ms upstream − 4.5 ms compute); miss: 1 ms lookup + 0.5 ms insert.
    expect: { success: ms(1, 11), queue: ms(1, 3), compute_input: ms(1, 1), compute_infer: ms(1, 3), compute_output: ms(1, 0.5), cache_miss: ms(1, 1.5), cache_hit: ZERO, fail: ZERO },
    counted: true,
  },
  {
    name: 'unbatched, cache off: queue is the upstream wait alone; neither hit nor miss',
    records: [{ cache: 'off', decodedMs: 1_001, dispatchedMs: 1_001.5, answeredMs: 1_006, worker: worker(0.5, 2, 0.5), encodeStartMs: 1_006.2, endedMs: 1_007 }],
    expect: { success: ms(1, 7), queue: ms(1, 1.5), compute_input: ms(1, 0.5), compute_infer: ms(1, 2), compute_output: ms(1, 0.5), cache_hit: ZERO, cache_miss: ZERO },
    counted: true,
  },
  {
    name: 'a bypass of the cache is computed, and is neither hit nor miss',
    records: [{ cache: 'bypass', decodedMs: 1_001, dispatchedMs: 1_001, answeredMs: 1_004, worker: worker(1, 1, 1), encodeStartMs: 1_004, endedMs: 1_005 }],
    expect: { success: ms(1, 5), queue: ms(1, 0), compute_infer: ms(1, 1), cache_hit: ZERO, cache_miss: ZERO },
    counted: true,
  },
  {
    name: 'a hit after decoding: success and cache_hit (lookup to answer in hand); queue counts it with 0 ns; no compute',
    records: [{ cache: 'hit', decodedMs: 1_002, encodeStartMs: 1_002.25, endedMs: 1_003 }],
    expect: { success: ms(1, 3), cache_hit: ms(1, 0.25), queue: ms(1, 0), compute_input: ZERO, compute_infer: ZERO, compute_output: ZERO, cache_miss: ZERO },
    counted: true,
  },
  {
    name: 'a hit on the raw body is timed from arrival (the body read and the lookup are one step)',
    records: [{ cache: 'hit', encodeStartMs: 1_000.5, endedMs: 1_000.7 }],
    expect: { success: ms(1, 0.7), cache_hit: ms(1, 0.5), compute_infer: ZERO },
    counted: true,
  },
  {
    name: 'a request that joined an identical one computing is a hit: it ran nothing itself',
    records: [{ cache: 'joined', decodedMs: 1_001, encodeStartMs: 1_005, endedMs: 1_006 }],
    expect: { success: ms(1, 6), cache_hit: ms(1, 4), compute_infer: ZERO, cache_miss: ZERO },
    counted: true,
  },
  {
    name: 'onnxruntime rejected it (400 after the scheduler): fail, and nothing else',
    records: [{ status: 400, code: 'GW_ERR_MODEL_EXECUTION', decodedMs: 1_001, dispatchedMs: 1_001.5, endedMs: 1_004 }],
    expect: { fail: ms(1, 4), success: ZERO, queue: ZERO, compute_infer: ZERO, cache_miss: ZERO },
    counted: true,
  },
  {
    name: 'a deadline that passed in the queue: fail',
    records: [{ status: 504, code: 'GW_ERR_DEADLINE_EXCEEDED', decodedMs: 1_001, queuedMs: 1_001, endedMs: 1_030 }],
    expect: { fail: ms(1, 30), success: ZERO },
    counted: true,
  },
  {
    name: "the batcher's admission refused it before its body was read: fail (Triton's REJECTED)",
    records: [{ status: 503, code: 'GW_ERR_QUEUE_FULL', endedMs: 1_000.1 }],
    expect: { fail: ms(1, 0.1) },
    counted: true,
  },
  {
    name: "refused by the gateway's validation (never reached the scheduler): not counted",
    records: [
      { status: 400, code: 'GW_ERR_SHAPE_MISMATCH' },
      { status: 400, code: 'GW_ERR_MALFORMED_JSON' },
      { status: 413, code: 'GW_ERR_BODY_TOO_LARGE' },
    ],
    expect: { success: ZERO, fail: ZERO, queue: ZERO },
    counted: false,
  },
  {
    name: 'a request for an unknown model is nobody’s',
    records: [{ model: undefined, version: undefined, status: 404, code: 'GW_ERR_MODEL_NOT_FOUND' }],
    expect: { success: ZERO, fail: ZERO },
    counted: false,
  },
  {
    name: 'each member of a batch counts the whole batch’s compute',
    records: [1, 2, 3].map(() => ({ cache: 'off' as const, decodedMs: 1_000, queuedMs: 1_000, batchFormedMs: 1_001, dispatchedMs: 1_001, answeredMs: 1_005, worker: worker(1, 2, 1), encodeStartMs: 1_005, endedMs: 1_006 })),
    expect: { success: ms(3, 18), queue: ms(3, 3), compute_input: ms(3, 3), compute_infer: ms(3, 6), compute_output: ms(3, 3) },
    counted: true,
  },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const stats = statsOver();
    for (const fields of row.records) stats.onRequest(record(fields));
    const [only, ...rest] = stats.body().model_stats;
    t.same(rest, [], 'one model version');
    t.match(only!.inference_stats, row.expect);
    t.equal(only!.last_inference, row.counted ? WALL_CLOCK_MS : 0, 'last_inference: the wall clock at the last counted request');
    t.equal(only!.inference_count, 0, 'requests alone perform no inference: runs do');
    t.equal(only!.execution_count, 0);
  });
}

t.test('runs: one execution each, their rows are inferences, batch_stats by batch size ascending', async (t) => {
  const stats = statsOver();
  stats.onRun('m', '1', 8, worker(1, 4, 0.5));
  stats.onRun('m', '1', 1, worker(0.25, 1, 0.25));
  stats.onRun('m', '1', 8, worker(2, 6, 1.5));
  stats.onRun('m', '1', 3, undefined);
  stats.onRun('other', '1', 5, worker(1, 1, 1));
  const [stat] = stats.body('m').model_stats;
  t.equal(stat!.execution_count, 3, 'a run the worker gave no timing for (a failed one) is not an execution');
  t.equal(stat!.inference_count, 17);
  t.same(stat!.batch_stats, [
    { batch_size: 1, compute_input: ms(1, 0.25), compute_infer: ms(1, 1), compute_output: ms(1, 0.25) },
    { batch_size: 8, compute_input: ms(2, 3), compute_infer: ms(2, 10), compute_output: ms(2, 2) },
  ]);
  t.equal(
    stat!.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0),
    stat!.inference_count,
    'Σ batch_size × count = inference_count',
  );
});

t.test("the answer has Triton's shape; a version never used shows zeros", async (t) => {
  const stats = statsOver();
  t.same(stats.body(), {
    model_stats: [
      {
        name: 'm',
        version: '1',
        last_inference: 0,
        inference_count: 0,
        execution_count: 0,
        inference_stats: { success: ZERO, fail: ZERO, queue: ZERO, compute_input: ZERO, compute_infer: ZERO, compute_output: ZERO, cache_hit: ZERO, cache_miss: ZERO },
        response_stats: {},
        batch_stats: [],
        memory_usage: [],
      },
    ],
  });
});

t.test('which versions: every model by name, one model, one version (or label); unknown ones are the catalogued 404s', async (t) => {
  const stats = statsOver([model('zeta', ['1']), model('alpha', ['1', '2', '10'], { labels: { stable: 2 } })]);
  stats.onRequest(record({ model: 'alpha', version: '2', cache: 'off', decodedMs: 1_000 }));
  const names = (body: { model_stats: ModelStat[] }) => body.model_stats.map((s) => `${s.name}/${s.version}`);
  t.same(names(stats.body()), ['alpha/1', 'alpha/2', 'alpha/10', 'zeta/1'], 'models by name, versions in the registry’s order');
  t.same(names(stats.body('alpha')), ['alpha/1', 'alpha/2', 'alpha/10']);
  t.same(names(stats.body('alpha', '2')), ['alpha/2']);
  t.same(names(stats.body('alpha', 'stable')), ['alpha/2'], 'a label names its version');
  t.equal(stats.body('alpha', 'stable').model_stats[0]!.inference_stats.success.count, 1);
  t.equal(stats.body('alpha', '1').model_stats[0]!.inference_stats.success.count, 0, 'versions are counted apart');
  t.throws(() => stats.body('nope'), { code: 'GW_ERR_MODEL_NOT_FOUND' });
  t.throws(() => stats.body('nope', '1'), { code: 'GW_ERR_MODEL_NOT_FOUND' });
  t.throws(() => stats.body('alpha', '7'), { code: 'GW_ERR_VERSION_NOT_FOUND' });
});
