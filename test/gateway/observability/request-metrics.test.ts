// Per-request metrics from finished records: counts by model, version and outcome; each latency part observed only
// when the request went through that stage; rows per worker run; totals read back from the same metrics.

import { Registry } from 'prom-client';
import t from 'tap';
import { RequestMetrics } from '../../../gateway/observability/request-metrics.ts';
import { newRequestRecord, type RequestRecord } from '../../../gateway/telemetry/request-record.ts';

function record(fields: Partial<RequestRecord>): RequestRecord {
  return Object.assign(newRequestRecord('id', 'rest', 1_000, undefined), { model: 'm', version: '1', status: 200, endedMs: 1_010 }, fields);
}

async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name.replace(/_(bucket|sum|count)$/, ''))!;
  const values = (await metric.get()).values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
  const found = values.find((v) => (v.metricName ?? name) === name && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return found?.value;
}

t.test('a request counts once under its outcome; the latency parts it went through are observed in seconds', async (t) => {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry);
  // Batched: queued 1 ms, formed, dispatched 0.5 ms later, answered 3 ms later, encoded in the last 0.5 ms.
  metrics.onRequest(record({ decodedMs: 1_001, queuedMs: 1_002, batchFormedMs: 1_003, dispatchedMs: 1_003.5, answeredMs: 1_006.5, encodeStartMs: 1_009.5 }));
  // A cache hit: no queue, no upstream.
  metrics.onRequest(record({ cache: 'hit', encodeStartMs: 1_000.5, endedMs: 1_000.8 }));
  // A client error before the model was known.
  metrics.onRequest(record({ model: undefined, version: undefined, status: 404, code: 'GW_ERR_MODEL_NOT_FOUND', endedMs: 1_000.2 }));

  const ok = { model: 'm', version: '1', protocol: 'rest', status_class: '2xx', code: '' };
  t.equal(await sample(registry, 'infergate_requests_total', ok), 2);
  t.equal(await sample(registry, 'infergate_requests_total', { model: '', version: '', status_class: '4xx', code: 'GW_ERR_MODEL_NOT_FOUND' }), 1, 'an unknown model counts under model=""');
  t.equal(await sample(registry, 'infergate_request_duration_seconds_count', { model: 'm', version: '1' }), 2);
  t.ok(Math.abs((await sample(registry, 'infergate_request_duration_seconds_sum', { model: 'm', version: '1' }))! - 0.0108) < 1e-9, '10 ms + 0.8 ms');
  t.equal(await sample(registry, 'infergate_request_queue_seconds_count', { model: 'm' }), 1, 'only the batched request was queued');
  t.equal(await sample(registry, 'infergate_request_queue_seconds_sum', { model: 'm' }), 0.001);
  t.equal(await sample(registry, 'infergate_request_batch_formation_seconds_sum', { model: 'm' }), 0.0005);
  t.equal(await sample(registry, 'infergate_request_upstream_seconds_sum', { model: 'm' }), 0.003);
  t.equal(await sample(registry, 'infergate_request_encode_seconds_count', { model: 'm' }), 2);
  t.equal(await sample(registry, 'infergate_request_duration_seconds_bucket', { model: 'm', le: '0.001' }), 1, 'the 1 ms hit is in the 1 ms bucket');
  t.equal(await sample(registry, 'infergate_request_duration_seconds_bucket', { model: 'm', le: '0.01' }), 2);

  const totals = metrics.totals();
  t.equal(totals.requests, 3);
  t.equal(totals.errors, 1);
  t.equal(totals.latency.cumulativeCounts[totals.latency.boundsSeconds.indexOf(0.01)], 2 + 1, 'every model summed');
});

t.test('rows per worker run', async (t) => {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry);
  metrics.onRun('m', '1', 1, undefined);
  metrics.onRun('m', '1', 24, { inputMs: 0.1, inferMs: 1, outputMs: 0.1 });
  t.equal(await sample(registry, 'infergate_batch_size_rows_count', { model: 'm', version: '1' }), 2);
  t.equal(await sample(registry, 'infergate_batch_size_rows_sum', { model: 'm', version: '1' }), 25);
  t.equal(await sample(registry, 'infergate_batch_size_rows_bucket', { model: 'm', version: '1', le: '16' }), 1);
});
