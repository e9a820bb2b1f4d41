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
// and no hostile traffic. The bound asserted for the probes during the
// hostile phases is a p99 within NORMAL_P99_FACTOR × the normal p99 plus
// SLACK_MS, and a maximum within MAX_PROBE_MS: a 2-core machine shared with
// the workers and the test itself cannot promise single milliseconds, but a
// request holding the event loop (4.5 s for a 60 MB body before slicing,
// 21.7 s for the amplifying shape) fails it by orders of magnitude.

import { request } from 'node:http';
import t from 'tap';
import { startGatewayProcess } from '../../helpers/gateway-process.ts';

const PROBE_INTERVAL_MS = 20;
const NORMAL_P99_FACTOR = 4;
const SLACK_MS = 40;
const MAX_PROBE_MS = 300;
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

type Answer = { status: number; body: string; ms: number };

function send(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const classifierBody = (rows: number): Buffer => {
  const row = `[${Array.from({ length: 64 }, (_, i) => ((i % 7) / 7).toFixed(6)).join(',')}]`;
  return Buffer.from(`{"inputs":[{"name":"input","datatype":"FP32","shape":[${rows},64],"data":[${new Array(rows).fill(row).join(',')}]}]}`);
};
const probeBody = classifierBody(1);

/** Latencies of the two probes, sent every PROBE_INTERVAL_MS until stopped. */
function probes(): { stop: () => Promise<{ health: number[]; infer: number[]; failures: string[] }> } {
  const health: number[] = [];
  const infer: number[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = async (path: string, body: Buffer | undefined, into: number[]): Promise<void> => {
    while (running) {
      const answer = await send(body ? 'POST' : 'GET', path, body);
      if (answer.status !== 200) failures.push(`${path}: ${answer.status} ${answer.body.slice(0, 200)}`);
      into.push(answer.ms);
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  };
  const loops = [loop('/v2/health/live', undefined, health), loop('/v2/models/classifier/infer', probeBody, infer)];
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { health, infer, failures };
    },
  };
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const summary = (values: number[]): string => `p50 ${quantile(values, 0.5).toFixed(1)} ms, p99 ${quantile(values, 0.99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (${values.length})`;

// Warm the gateway, its workers and these probes, then measure the normal latency.
for (let i = 0; i < 20; i++) await send('POST', '/v2/models/classifier/infer', probeBody);
const normalProbes = probes();
await new Promise((resolve) => setTimeout(resolve, 3_000));
const normal = await normalProbes.stop();
t.comment(`normal: health ${summary(normal.health)}; classifier ${summary(normal.infer)}`);
const rssBefore = gateway.peakRssBytes();

// Built before the hostile phases, so that making them costs the probes nothing.
const huge = classifierBody(234_000);
const large = classifierBody(40_000);

const hostile: Array<{ name: string; run: () => Promise<Answer>; status: number; code?: RegExp }> = [
  {
    name: 'the amplifying shape [16777216, 0, 8] with empty data',
    run: () => send('POST', '/v2/models/pooler/infer', '{"inputs":[{"name":"tokens","datatype":"FP32","shape":[16777216,0,8],"data":[]}]}'),
    status: 413,
    code: /GW_ERR_REQUEST_TOO_LARGE/,
  },
  { name: `a valid ${(huge.byteLength / 2 ** 20).toFixed(0)} MiB body of 234,000 rows`, run: () => send('POST', '/v2/models/classifier/infer', huge), status: 413, code: /GW_ERR_REQUEST_TOO_LARGE.*maxRowsPerRequest/ },
  { name: `a ${(large.byteLength / 2 ** 20).toFixed(0)} MiB body of 40,000 rows within the limits`, run: () => send('POST', '/v2/models/classifier/infer', large), status: 200 },
  { name: 'a body sent at 8 bytes a second', run: trickle, status: 408, code: /GW_ERR_BODY_TIMEOUT/ },
];

/** A body of 400 bytes, 8 bytes a second, with a 2-second deadline. */
function trickle(): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/v2/models/classifier/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '400', 'x-infergate-timeout-ms': '2000' } }, (res) => {
      clearInterval(timer);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
    });
    req.on('error', (err) => (clearInterval(timer), reject(err)));
    const timer = setInterval(() => req.write('        '), 1000);
  });
}

for (const c of hostile) {
  t.test(c.name, async (t) => {
    const running = probes();
    const answer = await c.run();
    const during = await running.stop();
    t.comment(`${c.name}: ${answer.status} after ${answer.ms.toFixed(0)} ms; probes meanwhile: health ${summary(during.health)}; classifier ${summary(during.infer)}`);
    t.equal(answer.status, c.status, `answered ${c.status}`);
    if (c.code) t.match(answer.body, c.code);
    if (c.status === 200) t.equal(JSON.parse(answer.body).outputs[0].shape.join(','), '40000,10', 'the whole answer');
    t.same(during.failures, [], 'every probe answered 200');
    for (const [name, values, reference] of [['health', during.health, normal.health], ['classifier', during.infer, normal.infer]] as const) {
      const bound = NORMAL_P99_FACTOR * quantile(reference, 0.99) + SLACK_MS;
      t.ok(quantile(values, 0.99) <= bound, `${name} probes p99 ${quantile(values, 0.99).toFixed(1)} ms ≤ ${bound.toFixed(1)} ms (${NORMAL_P99_FACTOR} × normal p99 + ${SLACK_MS} ms)`);
      t.ok(Math.max(...values) <= MAX_PROBE_MS, `${name} probes max ${Math.max(...values).toFixed(1)} ms ≤ ${MAX_PROBE_MS} ms`);
    }
  });
}

t.test('memory stayed within the request budget, and no worker ran a refused request', async (t) => {
  const grew = gateway.peakRssBytes() - rssBefore;
  t.comment(`gateway peak RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB (the huge body is ${(huge.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  t.ok(grew <= REQUEST_BUDGET_BYTES, `peak RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB ≤ limits.maxBufferedRequestBytes (${REQUEST_BUDGET_BYTES / 2 ** 20} MiB)`);
  const batching = JSON.parse((await send('GET', '/admin/batching')).body) as Record<string, { requests?: number }>;
  t.equal(batching['pooler/1']?.requests ?? 0, 0, 'the amplifying request never reached a batch, nor a worker');
});
