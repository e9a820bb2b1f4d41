// The open-loop generator counts latency from each request's intended send
// time, so a server that stalls 200 ms once a second shows in the tail;
// the closed loop against the same server barely sees it (coordinated
// omission). The server runs in its own process: its stalls must not stall
// the load generator.

import t from 'tap';
import { createBodySource } from '../../benchmarks/lib/bodies.ts';
import { runClosedLoop } from '../../benchmarks/lib/closed-loop.ts';
import { runOpenLoop, type OpenLoopAnswer } from '../../benchmarks/lib/open-loop.ts';
import { Recorder } from '../../benchmarks/lib/recorder.ts';
import { startFixture } from './helpers.ts';

const bodies = createBodySource({ format: 'json', model: 'm', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], rows: 1, mode: 'unique', seed: 1 });
const headers = { 'content-type': bodies.contentType };

t.test('a 200 ms stall once a second reaches the open loop p99, not the closed loop p50', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '200', '--every-ms', '1000']);

  const open = new Recorder();
  await runOpenLoop({ origin, path: '/infer', headers, body: () => bodies.next(), load: { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 8, durationS: 3.5 }, recorder: open, timeoutMs: 5_000 });
  const o = open.summary();
  t.equal(o.errors, 0, 'no open-loop errors');
  t.equal(o.non2xx, 0, 'no open-loop non-2xx');
  // 3.5 s at 100/s: 350 requests are due; every one is sent and answered.
  t.ok(o.responses >= 330 && o.responses <= 351, `about 350 answers (${o.responses})`);
  // ~20% of requests are due inside a stall and wait out its rest: p99 is close to the full 200 ms.
  t.ok(o.latency.p99Ms >= 100, `corrected p99 ${o.latency.p99Ms} ms ≥ 100 ms`);
  t.ok(o.latency.maxMs >= 150, `corrected max ${o.latency.maxMs} ms ≥ 150 ms`);
  t.ok(o.timeline.length >= 3, 'a per-second timeline');

  const closed = new Recorder();
  await runClosedLoop({ origin, path: '/infer', headers, bodies, load: { mode: 'closed', connections: 4, pipelining: 1, durationS: 3 }, recorder: closed, timeoutMs: 5_000 });
  const c = closed.summary();
  t.equal(c.errors, 0, 'no closed-loop errors');
  t.ok(c.responses > 200, `closed loop answered ${c.responses}`);
  // Only the ≤ 4 requests in flight when a stall begins wait for it.
  t.ok(c.latency.p50Ms < 20, `closed-loop p50 ${c.latency.p50Ms} ms stays low`);
});

t.test('poisson arrivals keep the mean rate', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '0', '--every-ms', '100000']);
  const recorder = new Recorder();
  await runOpenLoop({ origin, path: '/', headers, body: () => bodies.next(), load: { mode: 'open', ratePerS: 200, arrivals: 'poisson', connections: 8, durationS: 2 }, recorder, timeoutMs: 5_000, seed: 7 });
  const s = recorder.summary();
  t.ok(s.responses >= 300 && s.responses <= 500, `about 400 answers (${s.responses})`);
  t.equal(s.errorRate, 0);
  t.type(s.sendLagP99Ms, 'number', 'records how late requests left');
});

t.test('requests still unanswered when the drain deadline passes count as timeouts', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '1500', '--every-ms', '300']);
  const recorder = new Recorder();
  await runOpenLoop({ origin, path: '/', headers, body: () => bodies.next(), load: { mode: 'open', ratePerS: 50, arrivals: 'constant', connections: 4, durationS: 1 }, recorder, timeoutMs: 400 });
  const s = recorder.summary();
  t.ok(s.errors > 0, `some requests timed out (${s.errors})`);
  t.ok((s.errorKinds.timeout ?? 0) > 0, 'counted as kind timeout');
  t.ok(s.errorRate > 0);
});

t.test('onAnswer sees every complete answer with its status, headers, body and both latencies', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '0', '--every-ms', '100000']);
  const recorder = new Recorder();
  const answers: OpenLoopAnswer[] = [];
  await runOpenLoop({ origin, path: '/', headers, body: () => bodies.next(), load: { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 4, durationS: 0.5 }, recorder, timeoutMs: 5_000, onAnswer: (a) => answers.push(a) });
  const s = recorder.summary();
  t.equal(answers.length, s.responses, 'one call per recorded answer');
  t.ok(answers.every((a) => a.statusCode === 200 && a.body.byteLength > 0 && typeof a.headers['content-length'] === 'string'), 'status, headers and the buffered body');
  t.ok(answers.every((a) => a.sentLatencyMs > 0 && a.sentLatencyMs <= a.latencyMs), 'latency from the send is never more than from the intended send time');
});
