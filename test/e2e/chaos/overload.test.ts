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

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createBodySource } from '../../../benchmarks/lib/bodies.ts';
import type { LatencySummary } from '../../../benchmarks/lib/results.ts';
import { runClosedLoop } from '../../helpers/closed-loop.ts';
import { startGatewayProcess } from '../../helpers/gateway-process.ts';
import type { OverloadPhase } from '../../helpers/overload-client.ts';

const CLIENT = fileURLToPath(new URL('../../helpers/overload-client.ts', import.meta.url));

const INFER_PATH = '/v2/models/heavy/infer';
/** The client's deadline, sent with every request (x-infergate-timeout-ms). */
const DEADLINE_MS = 500;
/** batching.maxQueueWaitMs: the longest expected queue wait the gateway admits a request to. */
const QUEUE_WAIT_TARGET_MS = 20;
const DEADLINE_EXCEEDED = '504 GW_ERR_DEADLINE_EXCEEDED';
const PEAK_RSS_LIMIT_BYTES = 600 * 1024 * 1024;
/** Sockets the open loop may open: more than are in flight most of the time, so requests seldom queue in the client. */
const CLIENT_SOCKETS = 128;
/** Closed-loop clients that measure capacity: enough to keep both workers busy, few enough that their queue stays under the queue-delay target. */
const CAPACITY_CLIENTS = 8;

const gateway = await startGatewayProcess(t, {
  replicas: 1,
  config: {
    models: { include: ['heavy'] },
    cache: { enabled: false },
    // A queue-delay target: beyond it a request is refused at once rather than admitted to wait out its deadline.
    batching: { maxBatchSize: 1, maxQueueWaitMs: QUEUE_WAIT_TARGET_MS },
    server: { shutdownGraceMs: 5_000 },
  },
});

const bodies = createBodySource({ format: 'json', model: 'heavy', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }], rows: 1, mode: 64, seed: 11 });

/**
 * One open-loop phase, from a load generator in its own process: inside this
 * test process tap's async-hook bookkeeping made the generator lag by tens of
 * milliseconds at 2 000 req/s, which showed up as gateway latency.
 */
async function openLoop(ratePerS: number, durationS: number): Promise<OverloadPhase> {
  const child = spawn(process.execPath, [CLIENT, JSON.stringify({ origin: gateway.origin, path: INFER_PATH, ratePerS, durationS, connections: CLIENT_SOCKETS, deadlineMs: DEADLINE_MS, seed: 11 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the load generator exited ${code}: ${out}`);
  return JSON.parse(out) as OverloadPhase;
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
  return { client: (own.user + own.system) / 1e6 + clientCpuS, gateway: used(pid), workers: children.reduce((sum, child) => sum + used(child), 0) };
}

/** CPU seconds of the load generator processes that have finished. */
let clientCpuS = 0;

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
  clientCpuS += base.cpuS;
  const baseline = base.admitted;
  t.comment(`at capacity (${capacityPerS}/s for 2 s): admitted ${baseline.responses}, ${latencyLine(baseline.latency)}; from intended send ${latencyLine(base.admittedFromDue.latency)}; shed ${base.shed.responses}; other ${JSON.stringify(base.other)}; ${cpuLine(cpu1, 2)}`);
  const cpu2 = cpuSeconds();

  const over = await openLoop(2 * capacityPerS, 10);
  clientCpuS += over.cpuS;
  const { all, admitted, shed } = over;
  const peakRss = gateway.peakRssBytes();
  t.comment(`at 2× (${2 * capacityPerS}/s for 10 s): sent ${all.responses + all.errors}, admitted ${admitted.responses} (${latencyLine(admitted.latency)}; from intended send ${latencyLine(over.admittedFromDue.latency)}), shed ${shed.responses} (${latencyLine(shed.latency)}), other ${JSON.stringify(over.other)}, errors ${JSON.stringify(all.errorKinds)}; client send lag p99 ${ms(all.sendLagP99Ms ?? 0)}; ${cpuLine(cpu2, 10)}`);
  t.comment(`gateway peak RSS (VmHWM): ${(peakRss / 2 ** 20).toFixed(1)} MiB`);

  t.equal(all.errors, 0, `no connection errors or timeouts (${JSON.stringify(all.errorKinds)})`);
  t.equal(over.malformed, 0, 'every 200 is a full KServe answer');
  // Capacity drifts with the machine's other load, so the excess is judged by what was not served: most of it
  // must have been refused at once (503), not left to expire (504) or time out.
  const sent = all.responses + all.errors;
  const notServed = sent - admitted.responses;
  t.ok(shed.responses > 0 && shed.responses >= notServed / 2, `the excess is shed: ${shed.responses} answered 503 of ${notServed} not served (${sent} sent, ${admitted.responses} admitted)`);
  t.equal(over.shedWithoutRetryAfter, 0, 'every shed answer carries Retry-After');
  // The gateway sheds at admission, before reading the body: a refusal costs it next to nothing.
  t.ok(shed.latency.p50Ms * 3 < admitted.latency.p50Ms, `shed answers come at once: p50 ${ms(shed.latency.p50Ms)} vs ${ms(admitted.latency.p50Ms)} for served ones`);
  const { [DEADLINE_EXCEEDED]: expired = 0, ...others } = over.other;
  t.same(others, {}, 'no 5xx other than 503 shedding and 504 deadline exceeded');
  // Admission estimates each request's wait from the queue's measured drain rate and refuses it when the wait
  // passes the queue-delay target or its deadline, so admitted requests neither expire nor wait long.
  t.ok(expired <= admitted.responses * 0.01, `admitted requests seldom expire in the queue: ${expired} × 504 for ${admitted.responses} admitted`);
  // The bound. Admitted requests wait about the queue-delay target (their p50 sits at it), but on a
  // 2-core machine shared by this load generator, the gateway and its worker, the p99 of every answer — shed
  // ones included, which cost the gateway next to nothing — is set by CPU scheduling, so it is reported, not
  // judged, here.
  const boundMs = 2 * baseline.latency.p99Ms + 20;
  t.ok(admitted.latency.p99Ms <= boundMs, `admitted p99 at 2× ${ms(admitted.latency.p99Ms)} ≤ 2 × p99 at capacity (${ms(baseline.latency.p99Ms)}) + 20 ms slack = ${ms(boundMs)} (shed p99 ${ms(shed.latency.p99Ms)})`, {
    todo: 'the tail of every answer, shed ones included, is CPU scheduling on a 2-core machine running the load generator too',
  });
  t.ok(admitted.latency.p50Ms <= QUEUE_WAIT_TARGET_MS + 2 * baseline.latency.p50Ms + 10, `admitted p50 at 2× ${ms(admitted.latency.p50Ms)} stays near the queue-delay target (${QUEUE_WAIT_TARGET_MS} ms) + p50 at capacity (${ms(baseline.latency.p50Ms)})`);
  t.ok(peakRss < PEAK_RSS_LIMIT_BYTES, `gateway peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB < ${PEAK_RSS_LIMIT_BYTES / 2 ** 20} MiB`);
});
