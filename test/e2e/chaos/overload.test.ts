// Twice the measured capacity for 10 s, against a real gateway process with
// one real worker: the excess is answered 503 (with Retry-After) instead of
// queueing, admitted requests get full answers within their deadline and a
// p99 within twice the p99 at capacity, and the gateway's memory stays
// bounded.
//
//   capacity (closed loop, 2 s) ─▶ baseline (open loop at capacity, 5 s) ─▶ 2× capacity for 10 s   (each after 1 s of warm-up)
//
// The capacity must be the worker's, so that the excess reaches the gateway's
// queue, where its shedding acts. The test writes its own model for that: a
// deep MLP (64 → 2048 → 2048 → 2048 → 10, 32 MB of weights) whose 16-row
// requests take the worker about 4 ms each, against tens of microseconds of
// gateway and load-generator time. With a cheap model (the demo heavy model,
// one row: 0.5 ms) the worker idled 60% of the time at "capacity", which was
// then set by the round trip of one batch in flight on a 2-core machine that
// the load generator shares: at 2× the generator's own CPU slowed the round
// trip, and the tail measured the machine, not the gateway. Each request is a
// batch of its own (maxBatchSize = its rows), so batching cannot raise the
// capacity under the overload. Bodies repeat from a pool of 64 (the result
// cache is off) so that making them costs the load generator little.
//
// Latency is taken from the moment a request is handed to the client pool
// (it has a socket for most requests in flight); the open loop's latency from
// the intended send time is printed too. Each load generator process first
// sends for WARMUP_S unmeasured: a fresh process opening its sockets and
// compiling its code made the first 100 ms of every phase its p99.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { processCpuSeconds } from '../../../benchmarks/lib/proc.ts';
import type { LatencySummary } from '../../../benchmarks/lib/results.ts';
import { startGatewayProcess, uninstrumentedEnv } from '../../helpers/gateway-process.ts';
import type { CapacityPhase, OverloadClientOptions, OverloadPhase } from '../../helpers/overload-client.ts';
import { encodeModel } from '../../../scripts/demo-models/onnx-builder.ts';
import { mlpGraph, mlpWeights } from '../../../scripts/demo-models/specs.ts';

const CLIENT = fileURLToPath(new URL('../../helpers/overload-client.ts', import.meta.url));

const MODEL = 'deep';
const INPUT_WIDTH = 64;
const OUTPUT = { name: 'logits', width: 10 };
/** Rows per request: one request is one batch, about 4 ms of the worker's one thread. */
const ROWS = 16;
/** The client's deadline, sent with every request (x-infergate-timeout-ms). */
const DEADLINE_MS = 500;
/** batching.maxQueueWaitMs: the longest expected queue wait the gateway admits a request to, about one batch's run. */
const QUEUE_WAIT_TARGET_MS = 5;
const DEADLINE_EXCEEDED = '504 GW_ERR_DEADLINE_EXCEEDED';
const PEAK_RSS_LIMIT_BYTES = 600 * 1024 * 1024;
/** Sockets the open loop may open: more than are in flight most of the time, so requests seldom queue in the client. */
const CLIENT_SOCKETS = 128;
/**
 * Closed-loop clients that measure capacity: more than the worker needs to
 * never idle (one running, one queued, the rest arriving). Those the
 * queue-delay target refuses back off for a while, so they do not spin.
 */
const CAPACITY_CLIENTS = 4;
/** Each load generator process first sends at its rate this long, unmeasured: its sockets open and its code compiles. */
const WARMUP_S = 1;
/** The open loop at capacity whose p99 is the bound's reference: long enough for a p99 of about a thousand answers. */
const BASELINE_S = 5;
const CAPACITY_S = 2;
const OVERLOAD_S = 10;

/** A model repository holding only the deep MLP, written from a fixed seed. */
function writeDeepModel(): string {
  const repository = mkdtempSync(join(tmpdir(), 'infergate-overload-models-'));
  t.teardown(() => rmSync(repository, { recursive: true, force: true }));
  const dir = join(repository, MODEL, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), encodeModel(mlpGraph(MODEL, mlpWeights(17, [INPUT_WIDTH, 2048, 2048, 2048, OUTPUT.width]), OUTPUT.name, false)));
  return repository;
}

const gateway = await startGatewayProcess(t, {
  repository: writeDeepModel(),
  replicas: 1,
  config: {
    models: { include: [MODEL] },
    cache: { enabled: false },
    // A queue-delay target: beyond it a request is refused at once rather than admitted to wait out its deadline.
    batching: { maxBatchSize: ROWS, maxQueueWaitMs: QUEUE_WAIT_TARGET_MS },
    server: { shutdownGraceMs: 5_000 },
  },
});

/**
 * One phase from a load generator in its own process: inside this test
 * process tap's async-hook bookkeeping made the generator lag by tens of
 * milliseconds at 2 000 req/s, which showed up as gateway latency.
 */
async function loadPhase<T extends { cpuS: number }>(extra: Partial<OverloadClientOptions> & { durationS: number }): Promise<T> {
  const options: OverloadClientOptions = { origin: gateway.origin, model: MODEL, inputWidth: INPUT_WIDTH, output: OUTPUT, rows: ROWS, ratePerS: 0, connections: CLIENT_SOCKETS, deadlineMs: DEADLINE_MS, seed: 11, warmupS: WARMUP_S, ...extra };
  const child = spawn(process.execPath, [CLIENT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'], env: uninstrumentedEnv() });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the load generator exited ${code}: ${out}`);
  const result = JSON.parse(out) as T;
  clientCpuS += result.cpuS;
  return result;
}

const openLoop = (ratePerS: number, durationS: number): Promise<OverloadPhase> => loadPhase<OverloadPhase>({ ratePerS, durationS });

/** CPU seconds used so far by the load generator processes (once they finished), the gateway and its workers. */
function cpuSeconds(): { client: number; gateway: number; workers: number } {
  const pid = gateway.handle.pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return { client: clientCpuS, gateway: processCpuSeconds(pid), workers: children.reduce((sum, child) => sum + processCpuSeconds(child), 0) };
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
  // Capacity: 200s per second of a closed loop of CAPACITY_CLIENTS clients with no deadline, after a warm-up
  // (JIT, sockets, onnxruntime's first runs).
  const cpu0 = cpuSeconds();
  const measured = await loadPhase<CapacityPhase>({ closedClients: CAPACITY_CLIENTS, durationS: CAPACITY_S });
  const capacityPerS = Math.round(measured.ok / measured.elapsedS);
  t.comment(`capacity: ${capacityPerS} req/s (closed loop of ${CAPACITY_CLIENTS} clients for ${measured.elapsedS.toFixed(1)} s; ${measured.ok} answered 200, ${measured.other} not; ${cpuLine(cpu0, CAPACITY_S + WARMUP_S)})`);
  t.ok(capacityPerS > 50, `the gateway serves at all (${capacityPerS} req/s)`);

  const cpu1 = cpuSeconds();
  const base = await openLoop(capacityPerS, BASELINE_S);
  const baseline = base.admitted;
  t.comment(`at capacity (${capacityPerS}/s for ${BASELINE_S} s): admitted ${baseline.responses}, ${latencyLine(baseline.latency)}; from intended send ${latencyLine(base.admittedFromDue.latency)}; shed ${base.shed.responses}; other ${JSON.stringify(base.other)}; ${cpuLine(cpu1, BASELINE_S + WARMUP_S)}`);
  const cpu2 = cpuSeconds();

  const over = await openLoop(2 * capacityPerS, OVERLOAD_S);
  const { all, admitted, shed } = over;
  const peakRss = gateway.peakRssBytes();
  t.comment(`at 2× (${2 * capacityPerS}/s for ${OVERLOAD_S} s): sent ${all.responses + all.errors}, admitted ${admitted.responses} (${latencyLine(admitted.latency)}; from intended send ${latencyLine(over.admittedFromDue.latency)}), shed ${shed.responses} (${latencyLine(shed.latency)}), other ${JSON.stringify(over.other)}, errors ${JSON.stringify(all.errorKinds)}; client send lag p99 ${ms(all.sendLagP99Ms ?? 0)}; ${cpuLine(cpu2, OVERLOAD_S + WARMUP_S)}`);
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
  // The bound: admitted requests wait at most about the queue-delay target, so their tail at 2× stays
  // near the tail at capacity: twice it, plus the target itself (the wait admission allows). Without the target's
  // slack a quiet 5 s at capacity (p99 16.6 ms once, 21–25 ms usually) failed a 35 ms tail at 2×; without admission
  // control the tail at 2× runs to the deadline (500 ms), far beyond either. A fifth of the deadline is the floor of
  // the bound: on a machine busy with other work a 5 s p99 swings by tens of ms between the two phases (45 ms
  // against a 17 ms baseline once, under a spinning process), while the failure this guards against is 500 ms.
  const admittedP99LimitMs = Math.max(2 * baseline.latency.p99Ms + QUEUE_WAIT_TARGET_MS, DEADLINE_MS / 5);
  t.ok(admitted.latency.p99Ms <= admittedP99LimitMs, `admitted p99 at 2× ${ms(admitted.latency.p99Ms)} ≤ ${ms(admittedP99LimitMs)}: 2 × p99 at capacity (${ms(baseline.latency.p99Ms)}) + ${QUEUE_WAIT_TARGET_MS} ms, at least ${DEADLINE_MS / 5} ms (shed p99 ${ms(shed.latency.p99Ms)})`);
  // Shedding keeps the worker busy with the admitted work: the overload does not cost throughput.
  const goodputPerS = admitted.responses / OVERLOAD_S;
  t.ok(goodputPerS >= 0.75 * capacityPerS, `admitted at 2×: ${Math.round(goodputPerS)} req/s, ≥ 0.75 × capacity (${capacityPerS} req/s)`);
  t.ok(admitted.latency.p50Ms <= QUEUE_WAIT_TARGET_MS + 2 * baseline.latency.p50Ms + 10, `admitted p50 at 2× ${ms(admitted.latency.p50Ms)} stays near the queue-delay target (${QUEUE_WAIT_TARGET_MS} ms) + p50 at capacity (${ms(baseline.latency.p50Ms)})`);
  t.ok(peakRss < PEAK_RSS_LIMIT_BYTES, `gateway peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB < ${PEAK_RSS_LIMIT_BYTES / 2 ** 20} MiB`);
});
