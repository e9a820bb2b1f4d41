// The open-loop generator counts latency from each request's intended send
// time, so a server that stalls 200 ms once a second shows in the tail;
// the closed loop against the same server barely sees it (coordinated
// omission). The server runs in its own process: its stalls must not stall
// the load generator.

import t from 'tap';
import { createBodySource } from '../../benchmarks/lib/bodies.ts';
import { runClosedLoop } from '../../benchmarks/lib/closed-loop.ts';
import { runOpenLoop, type Answer, type OpenLoopAnswer } from '../../benchmarks/lib/open-loop.ts';
import { Recorder } from '../../benchmarks/lib/recorder.ts';
import type { OpenLoad } from '../../benchmarks/lib/results.ts';
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

t.test('an observer sees every request: due time, outcome, error code and Retry-After', async (t) => {
  // Two tokens, never refilled: the first two requests are answered 200, every later one 503 GW_ERR_OVERLOADED.
  const origin = await startFixture(t, 'token-bucket-server.ts', ['--rate', '0.000001', '--burst', '2']);
  const recorder = new Recorder();
  const answers: Answer[] = [];
  let startMs = -1;
  await runOpenLoop({
    origin, path: '/', headers, body: () => bodies.next(), recorder, timeoutMs: 5_000,
    load: { mode: 'open', ratePerS: 20, arrivals: 'constant', connections: 1, durationS: 0.5 },
    onStart: (ms) => (startMs = ms),
    observe: (a) => answers.push(a),
  });
  t.ok(startMs > 0, 'onStart got the start time');
  t.equal(answers.length, 10, 'one observation per request');
  t.same(answers.map((a) => a.dueMs).sort((a, b) => a - b), [0, 50, 100, 150, 200, 250, 300, 350, 400, 450], 'due times from the start');
  t.ok(answers.every((a) => a.doneMs >= a.dueMs), 'done after due');
  t.same(answers.filter((a) => a.status === 200).length, 2);
  const refused = answers.filter((a) => a.status === 503);
  t.equal(refused.length, 8);
  t.ok(refused.every((a) => a.code === 'GW_ERR_OVERLOADED' && a.retryAfter === true), 'code from the body, Retry-After from the headers');
  t.equal(recorder.summary().non2xx, 8, 'the recorder counts as before');
});

t.test('a rate schedule changes the rate mid-run', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '0', '--every-ms', '100000']);
  const answers: Answer[] = [];
  await runOpenLoop({
    origin, path: '/', headers, body: () => bodies.next(), recorder: new Recorder(), timeoutMs: 5_000,
    load: { mode: 'open', ratePerS: 50, arrivals: 'constant', connections: 4, durationS: 1, schedule: [{ fromS: 0.5, ratePerS: 100 }] },
    observe: (a) => answers.push(a),
  });
  t.equal(answers.filter((a) => a.dueMs < 500).length, 25, '50/s for the first half');
  t.equal(answers.filter((a) => a.dueMs >= 500).length, 50, '100/s for the second');
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

t.test('a warm-up sends at the first rate before the measured run and is counted nowhere', async (t) => {
  const origin = await startFixture(t, 'stall-server.ts', ['--stall-ms', '0', '--every-ms', '100000']);
  const recorder = new Recorder();
  const answers: OpenLoopAnswer[] = [];
  let sent = 0;
  const body = (): ReturnType<typeof bodies.next> => (sent++, bodies.next());
  const load: OpenLoad = { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 4, durationS: 0.5, schedule: [{ fromS: 0.2, ratePerS: 200 }] };
  await runOpenLoop({ origin, path: '/', headers, body, load, recorder, timeoutMs: 5_000, onAnswer: (a) => answers.push(a), warmupS: 0.5 });
  const s = recorder.summary();
  // Measured: 0.2 s at 100/s + 0.3 s at 200/s = 80 requests; the warm-up's 50 (at the first rate, no schedule) are sent but not recorded.
  t.ok(s.responses >= 75 && s.responses <= 81, `the recorder counts the measured run only (${s.responses})`);
  t.equal(answers.length, s.responses, 'onAnswer sees the measured run only');
  t.ok(sent >= s.responses + 45 && sent <= s.responses + 51, `the warm-up sent its own requests too (${sent} sent in all)`);
});
