// Twice the measured capacity for 10 s, against a real gateway process with
// two real workers: the excess is answered 503 (with Retry-After) instead of
// queueing, admitted requests get full answers within their deadline, and
// the gateway's memory stays bounded.
//
//   warm-up ─▶ capacity (closed loop) ─▶ baseline (open loop at capacity, 2 s) ─▶ 2× capacity for 10 s
//
// The heavy model in batches of one row: its workers' inference sets the
// capacity, so the excess reaches the gateway's batching queue, where its
// shedding acts. With a model that is cheap to run (the classifier, or any
// model with batching on) the capacity is the CPU of the gateway and of this
// load generator, which share two cores: at 2× the excess then waits in the
// load generator itself, where no gateway could see it. Bodies repeat from a
// pool of 64 (the result cache is off) so that making them costs the load
// generator little.
//
// Latency is taken from the moment a request is handed to the client pool
// (it has a socket for most requests in flight); the open loop's latency from
// the intended send time is printed too, but on a loaded 2-core machine it
// mostly measures the load generator's own lag.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { createBodySource } from '../../../benchmarks/lib/bodies.ts';
import { runOpenLoop, type OpenLoopAnswer } from '../../../benchmarks/lib/open-loop.ts';
import { Recorder } from '../../../benchmarks/lib/recorder.ts';
import type { LatencySummary } from '../../../benchmarks/lib/results.ts';
import { runClosedLoop } from '../../helpers/closed-loop.ts';
import { startGatewayProcess } from '../../helpers/gateway-process.ts';

const INFER_PATH = '/v2/models/heavy/infer';
/** The client's deadline, sent with every request (x-infergate-timeout-ms). */
const DEADLINE_MS = 500;
/** batching.maxQueueWaitMs: the longest expected queue wait the gateway admits a request to. */
const QUEUE_WAIT_TARGET_MS = 20;
const SHED_CODES = new Set(['GW_ERR_OVERLOADED', 'GW_ERR_QUEUE_FULL']);
const DEADLINE_EXCEEDED = '504 GW_ERR_DEADLINE_EXCEEDED';
const PEAK_RSS_LIMIT_BYTES = 600 * 1024 * 1024;
/** Sockets the open loop may open: more than are in flight most of the time, so requests seldom queue in the client. */
const CLIENT_SOCKETS = 128;
/** Closed-loop clients that measure capacity: enough to keep both workers busy, few enough that their queue stays under the queue-delay target. */
const CAPACITY_CLIENTS = 8;

const gateway = await startGatewayProcess(t, {
  replicas: 2,
  config: {
    models: { include: ['heavy'] },
    cache: { enabled: false },
    // A queue-delay target: beyond it a request is refused at once rather than admitted to wait out its deadline.
    batching: { maxBatchSize: 1, maxQueueWaitMs: QUEUE_WAIT_TARGET_MS },
    server: { shutdownGraceMs: 5_000 },
  },
});

const bodies = createBodySource({ format: 'json', model: 'heavy', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }], rows: 1, mode: 64, seed: 11 });
const headers = { 'content-type': bodies.contentType, 'x-infergate-timeout-ms': String(DEADLINE_MS) };

/** What an open-loop phase got back, by kind. */
class Tally {
  readonly admitted = new Recorder();
  readonly admittedFromDue = new Recorder();
  readonly shed = new Recorder();
  shedWithoutRetryAfter = 0;
  malformed = 0;
  /** Anything else, by "status code", e.g. "504 GW_ERR_DEADLINE_EXCEEDED". */
  readonly other = new Map<string, number>();

  add(answer: OpenLoopAnswer): void {
    const body = parse(answer.body);
    if (answer.statusCode === 200) {
      const output = (body as { outputs?: Array<{ name?: string; shape?: number[] }> } | null)?.outputs?.[0];
      if (output?.name !== 'logits' || output.shape?.join() !== '1,10') this.malformed++;
      this.admitted.response(200, answer.sentLatencyMs, answer.body.byteLength);
      this.admittedFromDue.response(200, answer.latencyMs, answer.body.byteLength);
      return;
    }
    const code = (body as { code?: string } | null)?.code ?? '';
    if (answer.statusCode === 429 || (answer.statusCode === 503 && SHED_CODES.has(code))) {
      if (answer.headers['retry-after'] === undefined) this.shedWithoutRetryAfter++;
      this.shed.response(answer.statusCode, answer.sentLatencyMs, answer.body.byteLength);
      return;
    }
    const key = `${answer.statusCode} ${code}`;
    this.other.set(key, (this.other.get(key) ?? 0) + 1);
  }
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

async function openLoop(ratePerS: number, durationS: number): Promise<{ all: Recorder; tally: Tally }> {
  const all = new Recorder();
  const tally = new Tally();
  tally.admitted.start();
  tally.admittedFromDue.start();
  tally.shed.start();
  await runOpenLoop({
    origin: gateway.origin,
    path: INFER_PATH,
    headers,
    body: () => bodies.next(),
    load: { mode: 'open', ratePerS, arrivals: 'constant', connections: CLIENT_SOCKETS, durationS },
    recorder: all,
    timeoutMs: 10_000,
    onAnswer: (answer) => tally.add(answer),
  });
  for (const r of [tally.admitted, tally.admittedFromDue, tally.shed]) r.close();
  return { all, tally };
}

/** CPU seconds used so far by this process (the load generator), the gateway and its workers. */
function cpuSeconds(): { client: number; gateway: number; workers: number } {
  const used = (pid: number): number => {
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat, counted after the ")" that ends the command name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const pid = gateway.handle.pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const own = process.cpuUsage();
  return { client: (own.user + own.system) / 1e6, gateway: used(pid), workers: children.reduce((sum, child) => sum + used(child), 0) };
}

function cpuLine(since: ReturnType<typeof cpuSeconds>, elapsedS: number): string {
  const now = cpuSeconds();
  const share = (key: keyof typeof now): string => `${Math.round(((now[key] - since[key]) / elapsedS) * 100)}%`;
  return `CPU of one core: load generator ${share('client')}, gateway ${share('gateway')}, workers ${share('workers')}`;
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;
const latencyLine = (l: LatencySummary): string => `p50 ${ms(l.p50Ms)}, p99 ${ms(l.p99Ms)}, max ${ms(l.maxMs)}`;

t.test('twice the capacity: the excess is shed at once with Retry-After, every answer is whole, memory stays bounded', async (t) => {
  // Warm-up (JIT, sockets, onnxruntime's first runs), then capacity: 200s per second of a closed loop of
  // CAPACITY_CLIENTS clients with no deadline (the workers never idle, the queue stays short).
  const closed = async (durationMs: number): Promise<{ ok: number; other: number; elapsedS: number }> => {
    const counts = { ok: 0, other: 0 };
    const startMs = performance.now();
    await runClosedLoop({
      origin: gateway.origin,
      path: INFER_PATH,
      headers: { 'content-type': bodies.contentType },
      body: () => bodies.next(),
      concurrency: CAPACITY_CLIENTS,
      onOutcome: (o) => (o.kind === 'answer' && o.statusCode === 200 ? counts.ok++ : counts.other++, 'continue'),
      signal: AbortSignal.timeout(durationMs),
      timeoutMs: 10_000,
    });
    return { ...counts, elapsedS: (performance.now() - startMs) / 1000 };
  };
  await closed(1_000);
  const cpu0 = cpuSeconds();
  const measured = await closed(2_000);
  const capacityPerS = Math.round(measured.ok / measured.elapsedS);
  t.comment(`capacity: ${capacityPerS} req/s (closed loop of ${CAPACITY_CLIENTS} clients for ${measured.elapsedS.toFixed(1)} s; ${measured.ok} answered 200, ${measured.other} not; ${cpuLine(cpu0, measured.elapsedS)})`);
  t.ok(capacityPerS > 50, `the gateway serves at all (${capacityPerS} req/s)`);

  const cpu1 = cpuSeconds();
  const base = await openLoop(capacityPerS, 2);
  const baseline = base.tally.admitted.summary();
  t.comment(`at capacity (${capacityPerS}/s for 2 s): admitted ${baseline.responses}, ${latencyLine(baseline.latency)}; from intended send ${latencyLine(base.tally.admittedFromDue.summary().latency)}; shed ${base.tally.shed.summary().responses}; other ${JSON.stringify(Object.fromEntries(base.tally.other))}; ${cpuLine(cpu1, 2)}`);
  const cpu2 = cpuSeconds();

  const over = await openLoop(2 * capacityPerS, 10);
  const all = over.all.summary();
  const admitted = over.tally.admitted.summary();
  const shed = over.tally.shed.summary();
  const peakRss = gateway.peakRssBytes();
  t.comment(`at 2× (${2 * capacityPerS}/s for 10 s): sent ${all.responses + all.errors}, admitted ${admitted.responses} (${latencyLine(admitted.latency)}; from intended send ${latencyLine(over.tally.admittedFromDue.summary().latency)}), shed ${shed.responses} (${latencyLine(shed.latency)}), other ${JSON.stringify(Object.fromEntries(over.tally.other))}, errors ${JSON.stringify(all.errorKinds)}; client send lag p99 ${ms(all.sendLagP99Ms ?? 0)}; ${cpuLine(cpu2, 10)}`);
  t.comment(`gateway peak RSS (VmHWM): ${(peakRss / 2 ** 20).toFixed(1)} MiB`);

  t.equal(all.errors, 0, `no connection errors or timeouts (${JSON.stringify(all.errorKinds)})`);
  t.equal(over.tally.malformed, 0, 'every 200 is a full KServe answer');
  // Capacity drifts with the machine's other load, so the excess is judged by what was not served: most of it
  // must have been refused at once (503), not left to expire (504) or time out.
  const sent = all.responses + all.errors;
  const notServed = sent - admitted.responses;
  t.ok(shed.responses > 0 && shed.responses >= notServed / 2, `the excess is shed: ${shed.responses} answered 503 of ${notServed} not served (${sent} sent, ${admitted.responses} admitted)`);
  t.equal(over.tally.shedWithoutRetryAfter, 0, 'every shed answer carries Retry-After');
  // The gateway sheds at admission; what the client sees on top is how this machine schedules the load generator.
  t.ok(shed.latency.p99Ms < admitted.latency.p99Ms, `shed answers come sooner than served ones: p99 ${ms(shed.latency.p99Ms)} < ${ms(admitted.latency.p99Ms)}`);
  const { [DEADLINE_EXCEEDED]: expired = 0, ...others } = Object.fromEntries(over.tally.other);
  t.same(others, {}, 'no 5xx other than 503 shedding and 504 deadline exceeded');
  // Admission estimates each request's wait from the queue's measured drain rate and refuses it when the wait
  // passes the queue-delay target or its deadline, so admitted requests neither expire nor wait long.
  t.ok(expired <= admitted.responses * 0.01, `admitted requests seldom expire in the queue: ${expired} × 504 for ${admitted.responses} admitted`);
  const boundMs = 2 * baseline.latency.p99Ms + 20;
  t.ok(admitted.latency.p99Ms <= boundMs, `admitted p99 at 2× ${ms(admitted.latency.p99Ms)} ≤ 2 × p99 at capacity (${ms(baseline.latency.p99Ms)}) + 20 ms slack = ${ms(boundMs)}`);
  t.ok(peakRss < PEAK_RSS_LIMIT_BYTES, `gateway peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB < ${PEAK_RSS_LIMIT_BYTES / 2 ** 20} MiB`);
});
