// A hostile client against a real gateway process with two real workers:
// the amplifying shape (91 bytes asking for 67 M outputs), a huge valid body
// over the row limit, a large body within the limits (served: decoded and
// rendered in time slices), and a body trickled at 8 bytes a second. Each
// gets its answer while a health check and an inference on another model,
// each sent every PROBE_INTERVAL_MS, answer within their normal latency; the
// gateway's peak RSS stays within the configured request budget; no worker
// runs the refused requests.
//
// "Normal latency" is measured first, in the same run, with the same probes
// and no hostile traffic. The bound asserted for the probes during each
// hostile request: a median within NORMAL_P50_FACTOR × the normal median +
// SLACK_MS, and no probe slower than MAX_PROBE_MS. The machine has 2 cores
// shared by the gateway (decoding at full speed in 2 ms slices), two
// workers, the probes and the sender, and the gateway's garbage collector
// pauses it 10–20 ms now and then while 60 MB come and go, so single
// milliseconds cannot be promised; a request that held the event loop
// (4.5 s for the 60 MB body before it was decoded in slices, 21.7 s for the
// amplifying shape) misses the bound by orders of magnitude. The probes and
// the hostile sender run in processes of their own, uninstrumented, so that
// neither the test's coverage hooks nor sending 60 MB count as the gateway's.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { processCpuSeconds } from '../../../benchmarks/lib/proc.ts';
import { startGatewayProcess, uninstrumentedEnv } from '../../helpers/gateway-process.ts';
import type { ProbeOptions, ProbeResult } from '../../helpers/probe-latency.ts';
import type { SendOnceOptions, SendOnceResult } from '../../helpers/send-once.ts';

const SEND_ONCE = fileURLToPath(new URL('../../helpers/send-once.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('../../helpers/probe-latency.ts', import.meta.url));

const PROBE_INTERVAL_MS = 20;
const PROBE_WARMUP_MS = 500;
const NORMAL_P50_FACTOR = 3;
const SLACK_MS = 10;
const MAX_PROBE_MS = 250;
/** limits.maxBufferedRequestBytes for this gateway: the memory its requests in flight may hold. */
const REQUEST_BUDGET_BYTES = 512 * 1024 * 1024;

const gateway = await startGatewayProcess(t, {
  replicas: 2,
  config: {
    models: { include: ['classifier', 'pooler'] },
    cache: { enabled: false },
    limits: { maxBufferedRequestBytes: REQUEST_BUDGET_BYTES },
  },
});
const { origin } = gateway;

type Answer = SendOnceResult;

/** One hostile request from its own process: sending 60 MB must not cost the probes' process anything. */
async function sendApart(options: SendOnceOptions): Promise<Answer> {
  const child = spawn(process.execPath, [SEND_ONCE, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'], env: uninstrumentedEnv() });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`send-once exited ${code}: ${out}`);
  return JSON.parse(out) as SendOnceResult;
}

const classifierBody = (rows: number): Buffer => {
  const row = `[${Array.from({ length: 64 }, (_, i) => ((i % 7) / 7).toFixed(1)).join(',')}]`;
  return Buffer.from(`{"inputs":[{"name":"input","datatype":"FP32","shape":[${rows},64],"data":[${new Array(rows).fill(row).join(',')}]}]}`);
};
const probeBody = classifierBody(1);

/** The two probes, from their own process, every PROBE_INTERVAL_MS until stopped. */
function probes(): { stop: () => Promise<ProbeResult> } {
  const options: ProbeOptions = { origin, intervalMs: PROBE_INTERVAL_MS, inferPath: '/v2/models/classifier/infer', inferBody: probeBody.toString('utf8') };
  const child = spawn(process.execPath, [PROBE, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'], env: uninstrumentedEnv() });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const exited = once(child, 'exit');
  return {
    stop: async () => {
      child.stdin.end();
      const [code] = (await exited) as [number | null];
      if (code !== 0) throw new Error(`the probes exited ${code}: ${out}`);
      return JSON.parse(out) as ProbeResult;
    },
  };
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const summary = (values: number[]): string => `p50 ${quantile(values, 0.5).toFixed(1)} ms, p99 ${quantile(values, 0.99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (${values.length})`;

// Warm the gateway, its workers and these probes, then measure the normal latency.
for (let i = 0; i < 20; i++) await (await fetch(`${origin}/v2/models/classifier/infer`, { method: 'POST', body: probeBody, headers: { 'content-type': 'application/json' } })).arrayBuffer();
const normalProbes = probes();
await new Promise((resolve) => setTimeout(resolve, 3_000));
const normal = await normalProbes.stop();
t.comment(`normal: health ${summary(normal.health)}; classifier ${summary(normal.infer)}`);
const rssBefore = gateway.peakRssBytes();

// Written before the hostile phases, so that making them costs the probes nothing.
const dir = t.testdir({});
const huge = classifierBody(234_000);
const large = classifierBody(40_000);
writeFileSync(join(dir, 'huge.json'), huge);
writeFileSync(join(dir, 'large.json'), large);
const classifierUrl = `${origin}/v2/models/classifier/infer`;

const hostile: Array<{ name: string; run: () => Promise<Answer>; status: number; code?: RegExp; withinMs?: number }> = [
  {
    name: 'the amplifying shape [16777216, 0, 8] with empty data',
    run: () => sendApart({ url: `${origin}/v2/models/pooler/infer`, body: '{"inputs":[{"name":"tokens","datatype":"FP32","shape":[16777216,0,8],"data":[]}]}' }),
    status: 413,
    code: /"code":"GW_ERR_REQUEST_TOO_LARGE"/,
  },
  {
    name: `a valid ${(huge.byteLength / 2 ** 20).toFixed(0)} MiB body of 234,000 rows`,
    run: () => sendApart({ url: classifierUrl, bodyFile: join(dir, 'huge.json') }),
    status: 413,
    code: /limits\.maxRowsPerRequest.*"code":"GW_ERR_REQUEST_TOO_LARGE"/,
  },
  { name: `a ${(large.byteLength / 2 ** 20).toFixed(0)} MiB body of 40,000 rows within the limits`, run: () => sendApart({ url: classifierUrl, bodyFile: join(dir, 'large.json') }), status: 200 },
  {
    name: 'a body sent at 8 bytes a second',
    run: () => sendApart({ url: classifierUrl, trickleBytesPerS: 8, declaredBytes: 400, headers: { 'x-infergate-timeout-ms': '2000' } }),
    status: 408,
    code: /"code":"GW_ERR_BODY_TIMEOUT"/,
    // The deadline (2 s from the headers) ends the upload, not the client's patience.
    withinMs: 2_500,
  },
];

for (const c of hostile) {
  t.test(c.name, async (t) => {
    const running = probes();
    // The probes' own process warms up (sockets, code) before the hostile request, and keeps probing after it.
    await new Promise((resolve) => setTimeout(resolve, PROBE_WARMUP_MS));
    const cpuBefore = processCpuSeconds(gateway.handle.pid);
    const answer = await c.run();
    const cpu = processCpuSeconds(gateway.handle.pid) - cpuBefore;
    await new Promise((resolve) => setTimeout(resolve, PROBE_WARMUP_MS));
    const during = await running.stop();
    t.comment(`${c.name}: ${answer.status} after ${answer.ms.toFixed(0)} ms (gateway CPU ${cpu.toFixed(2)} s); probes meanwhile: health ${summary(during.health)}; classifier ${summary(during.infer)}`);
    t.equal(answer.status, c.status, `answered ${c.status}`);
    if (c.code) t.match(answer.body, c.code);
    if (c.withinMs !== undefined) t.ok(answer.ms <= c.withinMs, `answered after ${answer.ms.toFixed(0)} ms ≤ ${c.withinMs} ms`);
    if (c.status === 200) t.equal(JSON.parse(answer.body).outputs[0].shape.join(','), '40000,10', 'the whole answer');
    t.same(during.failures, [], 'every probe answered 200');
    for (const [name, values, reference] of [['health', during.health, normal.health], ['classifier', during.infer, normal.infer]] as const) {
      const bound = NORMAL_P50_FACTOR * quantile(reference, 0.5) + SLACK_MS;
      t.ok(quantile(values, 0.5) <= bound, `${name} probes p50 ${quantile(values, 0.5).toFixed(1)} ms ≤ ${bound.toFixed(1)} ms (${NORMAL_P50_FACTOR} × normal p50 + ${SLACK_MS} ms)`);
      t.ok(Math.max(...values) <= MAX_PROBE_MS, `${name} probes max ${Math.max(...values).toFixed(1)} ms ≤ ${MAX_PROBE_MS} ms`);
    }
  });
}

t.test('memory stayed within the request budget, and no worker ran a refused request', async (t) => {
  const grew = gateway.peakRssBytes() - rssBefore;
  t.comment(`gateway peak RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB (the huge body is ${(huge.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  t.ok(grew <= REQUEST_BUDGET_BYTES, `peak RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB ≤ limits.maxBufferedRequestBytes (${REQUEST_BUDGET_BYTES / 2 ** 20} MiB)`);
  const batching = (await (await fetch(`${origin}/admin/batching`)).json()) as Record<string, { requests?: number }>;
  t.equal(batching['pooler/1']?.requests ?? 0, 0, 'the amplifying request never reached a batch, nor a worker');
});
