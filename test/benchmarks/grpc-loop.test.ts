// The gRPC loops account as the HTTP loops do: a non-OK status the gateway
// sent is a non-2xx answer (under its HTTP equivalent), a call without a
// status from the server is an error of a kind; the open loop counts latency
// from the intended send time (a stall reaches its p99), holds at most
// `connections` calls in flight (the rest wait, and the wait counts), and
// counts calls still unanswered at the drain deadline as timeouts. The server
// is a fixture in its own process (its stalls must not stall the loop).

import { status } from '@grpc/grpc-js';
import t from 'tap';
import { channelsFor, failedCallOutcome } from '../../benchmarks/lib/grpc-channels.ts';
import { runGrpcClosedLoop, runGrpcOpenLoop } from '../../benchmarks/lib/grpc-loop.ts';
import { Recorder } from '../../benchmarks/lib/recorder.ts';
import { startFixture } from './helpers.ts';

const body = Buffer.from([0x0a, 0x01, 0x6d]);
const bodies = { next: () => body };

async function grpcFixture(t: Parameters<typeof startFixture>[0], args: string[] = []): Promise<string> {
  return (await startFixture(t, 'grpc-server.ts', args)).replace(/^http:\/\//, '');
}

t.test('a failed call is an answer when the gateway sent its status, an error when no server status came', async (t) => {
  const table: [number, boolean, ReturnType<typeof failedCallOutcome>][] = [
    [status.UNAVAILABLE, true, { kind: 'answer', status: 503, bytes: 0 }],
    [status.RESOURCE_EXHAUSTED, true, { kind: 'answer', status: 429, bytes: 0 }],
    [status.DEADLINE_EXCEEDED, true, { kind: 'answer', status: 504, bytes: 0 }],
    [status.INVALID_ARGUMENT, true, { kind: 'answer', status: 400, bytes: 0 }],
    [status.NOT_FOUND, true, { kind: 'answer', status: 404, bytes: 0 }],
    // grpc-js's own: the client's deadline, a refused or dropped connection, our own cancel.
    [status.DEADLINE_EXCEEDED, false, { kind: 'error', error: 'timeout' }],
    [status.UNAVAILABLE, false, { kind: 'error', error: 'reset' }],
    [status.CANCELLED, false, { kind: 'error', error: 'other' }],
    // The server's gRPC layer (no gateway code): still the server's answer.
    [status.RESOURCE_EXHAUSTED, false, { kind: 'answer', status: 429, bytes: 0 }],
    [status.UNIMPLEMENTED, false, { kind: 'answer', status: 501, bytes: 0 }],
    [status.INTERNAL, false, { kind: 'answer', status: 500, bytes: 0 }],
  ];
  for (const [code, fromGateway, outcome] of table) t.same(failedCallOutcome(code, fromGateway), outcome, `${status[code]}${fromGateway ? ' from the gateway' : ''}`);
});

t.test('channels: one per callsPerChannel concurrent calls, at least one', async (t) => {
  const table: [number, number, number][] = [
    [16, 8, 2],
    [64, 8, 8],
    [1, 8, 1],
    [9, 8, 2],
    [4, 1, 4],
  ];
  for (const [calls, perChannel, channels] of table) t.equal(channelsFor(calls, perChannel), channels, `${calls} calls at ${perChannel} per channel`);
});

t.test('non-OK statuses from the gateway count as non-2xx answers under their HTTP equivalents', async (t) => {
  const address = await grpcFixture(t, ['--fail-every', '4']);
  const recorder = new Recorder();
  await runGrpcClosedLoop({ address, bodies, load: { mode: 'closed', connections: 4, pipelining: 1, durationS: 10, amount: 200 }, recorder, timeoutMs: 5_000, callsPerChannel: 2 });
  const s = recorder.summary();
  t.equal(s.responses, 200, 'an amount ends the run at its last answer');
  t.same(s.statusCodes, { '200': 150, '503': 50 });
  t.equal(s.non2xx, 50);
  t.equal(s.errors, 0);
  t.equal(s.errorRate, 0.25);
  t.equal(s.bytesRead, 150 * body.byteLength, 'answer bytes counted');
});

t.test('a 200 ms stall once a second reaches the open loop p99, not the closed loop p50', async (t) => {
  const address = await grpcFixture(t, ['--stall-ms', '200', '--every-ms', '1000']);
  const open = new Recorder();
  let startMs = -1;
  await runGrpcOpenLoop({ address, body: () => body, load: { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 8, durationS: 3.5 }, recorder: open, timeoutMs: 5_000, onStart: (ms) => (startMs = ms) });
  const o = open.summary();
  t.ok(startMs > 0, 'onStart got the start time');
  t.equal(o.errors, 0);
  t.equal(o.non2xx, 0);
  t.ok(o.responses >= 330 && o.responses <= 351, `about 350 answers (${o.responses})`);
  t.ok(o.latency.p99Ms >= 100, `corrected p99 ${o.latency.p99Ms} ms ≥ 100 ms`);
  t.type(o.sendLagP99Ms, 'number', 'records how late calls left');

  const closed = new Recorder();
  await runGrpcClosedLoop({ address, bodies, load: { mode: 'closed', connections: 4, pipelining: 1, durationS: 3 }, recorder: closed, timeoutMs: 5_000 });
  const c = closed.summary();
  t.equal(c.errors, 0);
  t.ok(c.responses > 200, `closed loop answered ${c.responses}`);
  t.ok(c.latency.p50Ms < 20, `closed-loop p50 ${c.latency.p50Ms} ms stays low`);
  t.ok(c.elapsedS < 3.5, `the closed loop stops at its duration (${c.elapsedS} s)`);
});

t.test('the open loop holds at most `connections` calls in flight: the others wait, and their wait counts', async (t) => {
  // Every call takes 100 ms; 2 in flight serve 20/s while 50/s are due, so the queue grows through the run.
  const address = await grpcFixture(t, ['--delay-ms', '100']);
  const recorder = new Recorder();
  await runGrpcOpenLoop({ address, body: () => body, load: { mode: 'open', ratePerS: 50, arrivals: 'constant', connections: 2, durationS: 1 }, recorder, timeoutMs: 10_000 });
  const s = recorder.summary();
  t.equal(s.responses, 50, 'every due call answered');
  // The last call is due at 0.98 s but answered only once all 50 have had their 100 ms, two at a time (about 2.5 s in).
  t.ok(s.latency.maxMs >= 1_300, `the last call waited its turn (max ${s.latency.maxMs} ms)`);
  t.ok(s.latency.minMs >= 95, `each call took its 100 ms (min ${s.latency.minMs} ms)`);
});

t.test('calls unanswered when the drain deadline passes count as timeouts', async (t) => {
  const address = await grpcFixture(t, ['--stall-ms', '1500', '--every-ms', '300']);
  const recorder = new Recorder();
  await runGrpcOpenLoop({ address, body: () => body, load: { mode: 'open', ratePerS: 50, arrivals: 'constant', connections: 4, durationS: 1 }, recorder, timeoutMs: 400 });
  const s = recorder.summary();
  t.ok((s.errorKinds.timeout ?? 0) > 0, `some calls timed out (${JSON.stringify(s.errorKinds)})`);
  t.ok(s.errorRate > 0);
  t.equal(s.responses + s.errors, 50, 'every due call counted once');
});
