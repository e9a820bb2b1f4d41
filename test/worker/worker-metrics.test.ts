// A worker's metrics registry, from run records: per model version and phase, labelled with the replica id;
// a version the worker does not serve is counted under model="" version="" (bounded labels), and only errors.

import t from 'tap';
import { InfergateError } from '../../common/errors.ts';
import type { WorkerMetricsBody } from '../../common/worker-control.ts';
import type { RunRecord } from '../../worker/run-record.ts';
import { BATCH_ROWS_BUCKETS as ROWS_BUCKETS, LATENCY_BUCKETS_SECONDS } from '../../common/metric-cells.ts';
import { WorkerMetrics } from '../../worker/worker-metrics.ts';

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

function series(body: WorkerMetricsBody, name: string): Array<[string, Record<string, string | number>, number]> {
  return body.flatMap((m) => (m.values as Sample[]).map((v): [string, Record<string, string | number>, number] => [v.metricName ?? m.name, v.labels, v.value])).filter(([n]) => n === name);
}

function ok(fields: Partial<RunRecord> = {}): RunRecord {
  return { model: 'm', version: '1', served: true, rows: 4, requests: [], startMs: 0, endMs: 1, timing: { inputMs: 0.3, inferMs: 2, outputMs: 0.05 }, ...fields };
}

function failed(fields: Partial<RunRecord> = {}): RunRecord {
  const { timing: _, ...rest } = ok(fields);
  return { ...rest, error: new InfergateError('GW_ERR_MODEL_EXECUTION', 'x'), ...fields };
}

t.test('runs by model version and phase, labelled with the replica', async (t) => {
  const metrics = new WorkerMetrics({ replicaId: 'worker-2', processMetrics: false });
  metrics.onRun(ok());
  metrics.onRun(ok({ rows: 1 }));
  metrics.onRun(ok({ version: '2', rows: 64 }));
  metrics.onRun(failed());
  metrics.onRun(failed({ model: 'nosuch', served: false }));
  metrics.onRun(failed({ model: '', version: '', served: false, rows: 0 }));
  const body = await metrics.json();

  t.same(body.map((m) => m.name).sort(), ['infergate_worker_batch_rows', 'infergate_worker_compute_seconds', 'infergate_worker_runs_total'], 'no process metrics when asked not to');
  t.same(
    series(body, 'infergate_worker_runs_total').map(([, l, v]) => [l.model, l.version, l.outcome, l.replica, v]),
    [
      ['m', '1', 'ok', 'worker-2', 2],
      ['m', '1', 'error', 'worker-2', 1],
      ['m', '2', 'ok', 'worker-2', 1],
      ['m', '2', 'error', 'worker-2', 0],
      ['', '', 'ok', 'worker-2', 0],
      ['', '', 'error', 'worker-2', 2],
    ],
  );
  t.same(
    series(body, 'infergate_worker_compute_seconds_count').map(([, l, v]) => [l.model, l.version, l.phase, v]),
    [
      ['m', '1', 'input', 2],
      ['m', '1', 'infer', 2],
      ['m', '1', 'output', 2],
      ['m', '2', 'input', 1],
      ['m', '2', 'infer', 1],
      ['m', '2', 'output', 1],
    ],
    'only runs that answered are timed; model="" has no histograms',
  );
  const inferSum = series(body, 'infergate_worker_compute_seconds_sum').find(([, l]) => l.version === '1' && l.phase === 'infer');
  t.equal(inferSum?.[2], 0.004, 'seconds');
  const inputBuckets = series(body, 'infergate_worker_compute_seconds_bucket').filter(([, l]) => l.version === '1' && l.phase === 'input');
  t.same(inputBuckets.map(([, l]) => l.le), [...LATENCY_BUCKETS_SECONDS, '+Inf']);
  t.same(
    inputBuckets.map(([, , v]) => v),
    LATENCY_BUCKETS_SECONDS.map((b) => (b >= 0.0005 ? 2 : 0)).concat(2),
    '0.3 ms falls in the 0.5 ms bucket, cumulative',
  );
  const rows = series(body, 'infergate_worker_batch_rows_bucket').filter(([, l]) => l.version === '1');
  t.same(rows.map(([, l]) => l.le), [...ROWS_BUCKETS, '+Inf']);
  t.same(rows.map(([, , v]) => v).slice(0, 4), [1, 1, 2, 2], 'rows 1 and 4');
  t.same(series(body, 'infergate_worker_batch_rows_sum').map(([, l, v]) => [l.version, v]), [['1', 5], ['2', 64]]);
});

t.test("Node's process metrics, prefixed infergate_worker_ and labelled, in the registry of its own", async (t) => {
  const metrics = new WorkerMetrics({ replicaId: 'worker-0' });
  const body = await metrics.json();
  const cpu = series(body, 'infergate_worker_process_cpu_user_seconds_total');
  t.equal(cpu.length, 1);
  t.equal(cpu[0]![1].replica, 'worker-0');
  t.ok(body.some((m) => m.name.startsWith('infergate_worker_nodejs_')));
  t.notOk(body.some((m) => m.name.startsWith('process_') || m.name.startsWith('nodejs_')), 'nothing unprefixed');
  metrics.registry.clear();
});
