// The recorder aggregates on read: HDR percentiles, counts by status and by
// error kind, error rate, and a per-second timeline — driven by a fake clock.

import t from 'tap';
import { classifyError, Recorder } from '../../benchmarks/lib/recorder.ts';
import * as hdr from 'hdr-histogram-js';

t.test('percentiles, counts and the timeline', async (t) => {
  let now = 1000;
  const r = new Recorder(() => now);
  r.start();
  // Second 0: 99 fast answers and one slow one.
  for (let i = 0; i < 99; i++) r.response(200, 2, 100);
  r.response(200, 300, 100);
  now += 1500;
  // Second 1: two non-2xx and two errors.
  r.response(503, 1, 10);
  r.response(404, 1, 10);
  r.error('timeout');
  r.error('reset');
  now += 500;
  r.close();
  r.response(200, 1, 1); // after close: ignored
  const s = r.summary();
  t.equal(s.responses, 102);
  t.equal(s.ok, 100);
  t.equal(s.non2xx, 2);
  t.equal(s.errors, 2);
  t.equal(s.errorRate, 4 / 104);
  t.equal(s.elapsedS, 2);
  t.equal(s.responsesPerS, 51);
  t.equal(s.bytesRead, 100 * 100 + 20);
  t.same(s.statusCodes, { '200': 100, '404': 1, '503': 1 });
  t.same(s.errorKinds, { timeout: 1, reset: 1 });
  t.ok(Math.abs(s.latency.p50Ms - 2) < 0.01, `p50 ${s.latency.p50Ms}`);
  t.ok(Math.abs(s.latency.maxMs - 300) < 0.5, `max ${s.latency.maxMs}`);
  t.ok(s.latency.p999Ms >= 299, 'p99.9 sees the slow one');
  t.same(
    s.timeline.map((x) => [x.second, x.responses, x.errors, x.non2xx]),
    [
      [0, 100, 0, 0],
      [1, 2, 2, 2],
    ],
  );
  const decoded = hdr.decodeFromCompressedBase64(s.histogram, 32, false);
  t.equal(decoded.totalCount, 102, 'the stored histogram re-aggregates');
});

t.test('live counters for the progress line', async (t) => {
  let now = 0;
  const r = new Recorder(() => now);
  r.start();
  r.response(200, 1, 1);
  r.response(500, 1, 1);
  r.error('refused');
  now = 250;
  t.same(r.live(), { elapsedS: 0.25, responses: 2, errors: 1, non2xx: 1 });
});

t.test('errors are classified by code', async (t) => {
  const table: [unknown, string][] = [
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout'],
    [{ code: 'ECONNRESET' }, 'reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'reset'],
    [{ code: 'ECONNREFUSED' }, 'refused'],
    [new Error('request timed out'), 'other'],
    [null, 'other'],
  ];
  for (const [err, kind] of table) t.equal(classifyError(err), kind, JSON.stringify(err));
});
