// A real worker process's observability: its metrics registry over the
// control channel (GET /metrics as prom-client JSON, labelled with its
// --id), the timing each response frame carries, its JSON log lines (a debug
// line per run with the gateway's request ids, a warn line per failed one),
// and, with the OTEL_* environment switching tracing on, a `worker run` span
// joined to the request's trace.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Client } from 'undici';
import { decodeFrame, encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type InferResponseHeader, type RequestTag, type Tensor } from '../../common/wire.ts';
import type { WorkerMetricsBody } from '../../common/worker-control.ts';
import { WorkerClient } from '../../gateway/upstream/worker-client.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';
import type { LogLines } from './log-lines.ts';
import { spawnWorker } from './spawned-worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-worker-obs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const repository = join(dir, 'models');
await writeDemoModels(repository);
let count = 0;

/** The environment without any OTEL_* setting of the machine running the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_'))), ...extra };
}

type Worker = { socketPath: string; client: Client; log: LogLines; stderr: () => string; stop: () => Promise<number | null> };

async function startWorker(t: Test, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Worker> {
  const socketPath = join(dir, `w${count++}.sock`);
  const argv = ['--listen', `unix:${socketPath}`, '--models', repository, '--model', 'classifier', '--intra-op-threads', '1', ...args];
  return { socketPath, ...(await spawnWorker(t, socketPath, argv, env)) };
}

function input(rows: number, seed: number): Tensor {
  const values = Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(seed * 7919 + i));
  return { name: 'input', datatype: 'FP32', shape: [rows, 64], data: new Uint8Array(values.buffer) };
}

async function infer(client: Client, header: Omit<InferRequestHeader, 'tensors'>, tensors: Tensor[]) {
  const res = await client.request({ method: 'POST', path: '/infer', body: encodeFrame<InferRequestHeader>(header, tensors), headers: { 'content-type': FRAME_CONTENT_TYPE } });
  const bytes = new Uint8Array(await res.body.arrayBuffer());
  return { status: res.statusCode, bytes };
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

/** The samples of one family named `name` (for a histogram, of its `<name>_<suffix>` series). */
function samples(metrics: WorkerMetricsBody, family: string, series = family): Sample[] {
  const found = metrics.find((m) => m.name === family);
  if (!found) return [];
  return (found.values as Sample[]).filter((v) => (v.metricName ?? found.name) === series);
}

t.test('GET /metrics, timing in the answer, and a log line per run', async (t) => {
  const worker = await startWorker(t, ['--id', 'worker-7', '--log-level', 'debug', '--log-format', 'json']);
  const rowsSent = [1, 2, 3, 4, 5];
  for (const [i, rows] of rowsSent.entries()) {
    const requests: RequestTag[] = rows === 2 ? [{ id: 'r-1a' }, { id: 'r-1b' }] : [{ id: `r-${i}` }];
    const answer = await infer(worker.client, { model: 'classifier', version: '1', requests }, [input(rows, i)]);
    t.equal(answer.status, 200, `run ${i} answers`);
    const { header } = decodeFrame<InferResponseHeader>(answer.bytes);
    const timing = header.timing!;
    t.same(Object.keys(timing ?? {}).sort(), ['inferMs', 'inputMs', 'outputMs'], `run ${i}: the answer carries the worker's timing`);
    for (const value of Object.values(timing ?? {})) t.ok(Number.isFinite(value) && value >= 0, `run ${i}: ${value} ms is a non-negative number`);
  }
  const failed = await infer(worker.client, { model: 'classifier', version: '1', requests: [{ id: 'bad-1' }] }, [{ ...input(1, 9), name: 'nope' }]);
  t.equal(failed.status, 400, 'an unknown input fails');
  const unknown = await infer(worker.client, { model: 'nosuch', version: '1', requests: [{ id: 'bad-2' }] }, [input(1, 9)]);
  t.equal(unknown.status, 404, 'an unknown model fails');

  const res = await worker.client.request({ method: 'GET', path: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/json/);
  const metrics = (await res.body.json()) as WorkerMetricsBody;

  const counts = samples(metrics, 'infergate_worker_compute_seconds', 'infergate_worker_compute_seconds_count');
  t.same(
    counts.map((s) => [s.labels.phase, s.value]).sort(),
    [['infer', 5], ['input', 5], ['output', 5]],
    'one observation per run and phase (failed runs are not timed)',
  );
  t.ok(counts.every((s) => s.labels.replica === 'worker-7' && s.labels.model === 'classifier' && s.labels.version === '1'), 'labelled replica, model, version');
  const sums = samples(metrics, 'infergate_worker_compute_seconds', 'infergate_worker_compute_seconds_sum');
  t.ok(sums.some((s) => s.labels.phase === 'infer' && s.value > 0), 'the session runs took time');

  const runs = samples(metrics, 'infergate_worker_runs_total').map((s) => [s.labels.model, s.labels.version, s.labels.outcome, s.value, s.labels.replica]);
  t.same(
    runs.sort(),
    [
      ['', '', 'error', 1, 'worker-7'],
      ['', '', 'ok', 0, 'worker-7'],
      ['classifier', '1', 'error', 1, 'worker-7'],
      ['classifier', '1', 'ok', 5, 'worker-7'],
    ],
    'runs by outcome; a model the worker does not serve is counted under model=""',
  );
  const rowCount = samples(metrics, 'infergate_worker_batch_rows', 'infergate_worker_batch_rows_count');
  const rowSum = samples(metrics, 'infergate_worker_batch_rows', 'infergate_worker_batch_rows_sum');
  t.same([rowCount.find((s) => s.labels.model === 'classifier')?.value, rowSum.find((s) => s.labels.model === 'classifier')?.value], [5, 15], 'rows per run');

  const cpu = samples(metrics, 'infergate_worker_process_cpu_user_seconds_total');
  t.equal(cpu.length, 1, "Node's process metrics, prefixed infergate_worker_");
  t.equal(cpu[0]?.labels.replica, 'worker-7', 'labelled with the replica');
  t.ok(samples(metrics, 'infergate_worker_nodejs_heap_size_used_bytes').length > 0, 'and the nodejs_ families');

  // The gateway's side of the control channel reads the same body.
  const gatewaySide = new WorkerClient({ id: 'worker-7', address: { socketPath: worker.socketPath }, maxConnections: 1 });
  t.teardown(() => gatewaySide.destroy());
  const viaClient = await gatewaySide.metrics(5_000);
  t.same(
    samples(viaClient, 'infergate_worker_runs_total').find((s) => s.labels.outcome === 'ok' && s.labels.model === 'classifier')?.value,
    5,
    'WorkerClient.metrics() answers the registry',
  );

  const line = await worker.log.waitFor((l) => Array.isArray(l.requestIds) && l.requestIds.includes('r-0'), 'the run line of r-0');
  t.match(line, { level: 'debug', process: 'worker', worker: 'worker-7', msg: 'run', model: 'classifier', version: '1', rows: 1, timing: { inputMs: Number, inferMs: Number, outputMs: Number } });
  const batched = await worker.log.waitFor((l) => Array.isArray(l.requestIds) && l.requestIds.includes('r-1a'), 'the run line of the batch');
  t.same(batched.requestIds, ['r-1a', 'r-1b'], "a batched frame's line names every request");
  const failure = await worker.log.waitFor((l) => Array.isArray(l.requestIds) && l.requestIds.includes('bad-1'), 'the failed run line');
  t.match(failure, { level: 'warn', worker: 'worker-7', msg: 'run failed', model: 'classifier', version: '1', code: 'GW_ERR_UNKNOWN_INPUT' });
  const unknownLine = await worker.log.waitFor((l) => Array.isArray(l.requestIds) && l.requestIds.includes('bad-2'), 'the unknown model line');
  t.match(unknownLine, { level: 'warn', model: 'nosuch', code: 'GW_ERR_MODEL_NOT_FOUND' });
  t.notOk(
    worker.log.lines.some((l) => 'data' in l || 'tensors' in l),
    'no line carries tensors',
  );

  t.equal(await worker.stop(), 0, 'SIGTERM drains and exits 0');
  await worker.log.waitFor((l) => l.msg === 'draining', 'the drain line');
  t.equal(worker.stderr(), '', 'nothing on stderr');
});

t.test('at the default level, a run logs nothing', async (t) => {
  const worker = await startWorker(t, ['--log-format', 'json']);
  const answer = await infer(worker.client, { model: 'classifier', version: '1', requests: [{ id: 'quiet' }] }, [input(1, 1)]);
  t.equal(answer.status, 200);
  t.equal(await worker.stop(), 0);
  await worker.log.waitFor(() => false).catch(() => {}); // every line, to the end of the output
  t.same(
    worker.log.lines.map((l) => l.msg),
    [worker.log.lines[0]!.msg, 'draining'],
    'the ready line and the drain line only',
  );
  t.equal(worker.log.lines[0]!.worker, 'worker', 'the default id');
});

t.test('with OTEL_TRACES_EXPORTER set, a `worker run` span joins the first request trace and links the others', async (t) => {
  const worker = await startWorker(t, ['--id', 'worker-3', '--log-format', 'json'], cleanEnv({ OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'infergate-worker-test' }));
  const first = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
  const second = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
  const requests: RequestTag[] = [
    { id: 'a', traceparent: `00-${first.traceId}-${first.spanId}-01` },
    { id: 'b', traceparent: `00-${second.traceId}-${second.spanId}-01` },
  ];
  const answer = await infer(worker.client, { model: 'classifier', version: '1', requests }, [input(2, 3)]);
  t.equal(answer.status, 200);
  // The console exporter prints each span (util.inspect, several lines) on stdout, between the log lines.
  const spanText = (): string =>
    worker.log.lines
      .filter((l) => 'raw' in l)
      .map((l) => l.raw)
      .join('\n');
  await worker.log.waitFor(() => /name: 'worker run'/.test(spanText()), 'the span');
  const text = spanText();
  t.match(text, new RegExp(`traceId: '${first.traceId}'`), "in the first request's trace");
  t.match(text, new RegExp(`spanId: '${first.spanId}'`), 'the child of its span');
  t.match(text, new RegExp(`traceId: '${second.traceId}'`), "linked to the second request's trace");
  t.match(text, /'infergate\.request_ids': \[ 'a', 'b' \]/, 'with the request ids');
  t.match(text, /'infergate\.rows': 2/, 'and the rows');
  t.equal(await worker.stop(), 0, 'exits 0 once its spans are flushed');
});
