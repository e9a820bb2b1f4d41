// The rollout's sliding window: what it counts and for how long, the p99 by
// nearest rank, and bounded memory under any traffic (reservoir sampling with
// a seeded PRNG, so every run keeps the same samples).

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { mulberry32 } from '../../../common/prng.ts';
import { GateWindow } from '../../../gateway/rollout/gate-window.ts';

// A full collection before each heap reading, so it shows what is retained, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const agreement = (maxAbsDiff: number, argmaxRows = 0, argmaxAgreeingRows = argmaxRows) => ({ maxAbsDiff, argmaxRows, argmaxAgreeingRows });

t.test('an event counts while its bucket reaches into (atMs − windowMs, atMs]', async (t) => {
  const w = new GateWindow({ windowMs: 10_000, bucketMs: 1_000, random: mulberry32(1) });
  w.record('candidate', 0, 5, false);
  w.record('candidate', 999, 6, true);
  w.record('candidate', 5_000, 7, false);
  w.record('stable', 5_500, 8, false);
  const rows: Array<{ atMs: number; candidate: [number, number]; stable: number }> = [
    { atMs: 999, candidate: [2, 1], stable: 0 },
    { atMs: 4_999, candidate: [2, 1], stable: 0 },
    { atMs: 5_000, candidate: [3, 1], stable: 1 }, // the bucket [5000, 6000) counts from its start
    { atMs: 10_999, candidate: [3, 1], stable: 1 },
    { atMs: 11_000, candidate: [1, 0], stable: 1 }, // bucket [0, 1000) has left (1000, 11000]
    { atMs: 15_999, candidate: [1, 0], stable: 1 },
    { atMs: 16_000, candidate: [0, 0], stable: 0 },
  ];
  for (const row of rows) {
    const r = w.readings(row.atMs);
    t.same([r.candidate.requests, r.candidate.errors, r.stable.requests], [...row.candidate, row.stable], `at ${row.atMs} ms`);
  }
  t.equal(w.readings(16_000).candidate.p99Ms, undefined, 'no sample: no p99');
});

t.test('buckets are reused as time moves on, and a late event for a reused bucket is dropped', async (t) => {
  const w = new GateWindow({ windowMs: 3_000, bucketMs: 1_000, random: mulberry32(1) });
  for (let atMs = 0; atMs < 100_000; atMs += 250) w.record('stable', atMs, atMs, false);
  // Four per bucket; (96999, 99999] touches buckets 96 … 99.
  t.same(w.readings(99_999).stable, { requests: 16, errors: 0, p99Ms: 99_750 });
  w.record('stable', 95_500, 1, false); // bucket 95's slot now holds bucket 99
  t.equal(w.readings(99_999).stable.requests, 16);
});

t.test('p99 is the nearest-rank 99th percentile of the window', async (t) => {
  const rows = [
    { count: 1, p99: 1 },
    { count: 50, p99: 50 },
    { count: 100, p99: 99 },
    { count: 101, p99: 100 },
    { count: 200, p99: 198 },
    { count: 1000, p99: 990 },
  ];
  for (const row of rows) {
    const w = new GateWindow({ windowMs: 30_000, random: mulberry32(1) });
    // Latencies 1 … count, shuffled over time so the order they arrive in does not matter.
    for (let i = 0; i < row.count; i++) w.record('candidate', (i * 7) % 20_000, ((i * 37) % row.count) + 1, false);
    t.equal(w.readings(20_000).candidate.p99Ms, row.p99, `${row.count} samples`);
  }
});

t.test('failed requests count as requests and errors, never as latency samples', async (t) => {
  const w = new GateWindow({ windowMs: 30_000, random: mulberry32(1) });
  for (let i = 1; i <= 10; i++) w.record('candidate', i * 100, i, false);
  for (let i = 0; i < 5; i++) w.record('candidate', 2_000, 30_000, true);
  t.same(w.readings(3_000).candidate, { requests: 15, errors: 5, p99Ms: 10 });
  const allFailed = new GateWindow({ windowMs: 30_000, random: mulberry32(1) });
  for (let i = 0; i < 3; i++) allFailed.record('stable', 100, 2, true);
  t.same(allFailed.readings(100).stable, { requests: 3, errors: 3, p99Ms: undefined });
});

t.test('agreement: comparisons and rows summed, the largest difference kept, within the window', async (t) => {
  const w = new GateWindow({ windowMs: 10_000, random: mulberry32(1) });
  w.compare(500, agreement(0.5, 4, 3));
  w.compare(2_000, agreement(1e-4, 10, 10));
  w.compare(3_000, agreement(0));
  t.same(w.readings(3_000).agreement, { comparisons: 3, maxAbsDiff: 0.5, argmaxRows: 14, argmaxAgreeingRows: 13 });
  t.same(w.readings(11_000).agreement, { comparisons: 2, maxAbsDiff: 1e-4, argmaxRows: 10, argmaxAgreeingRows: 10 });
  w.compare(4_000, agreement(Infinity));
  t.equal(w.readings(11_000).agreement.maxAbsDiff, Infinity);
  t.same(w.readings(20_000).agreement, { comparisons: 0, maxAbsDiff: 0, argmaxRows: 0, argmaxAgreeingRows: 0 });
});

t.test('clear() forgets everything', async (t) => {
  const w = new GateWindow({ windowMs: 10_000, random: mulberry32(1) });
  w.record('stable', 1_000, 3, false);
  w.record('candidate', 1_000, 3, true);
  w.compare(1_000, agreement(1));
  w.clear();
  t.same(w.readings(1_000), {
    stable: { requests: 0, errors: 0, p99Ms: undefined },
    candidate: { requests: 0, errors: 0, p99Ms: undefined },
    agreement: { comparisons: 0, maxAbsDiff: 0, argmaxRows: 0, argmaxAgreeingRows: 0 },
  });
  w.record('stable', 1_000, 3, false);
  t.equal(w.readings(1_000).stable.requests, 1, 'and records again');
});

t.test('past the cap, a reservoir keeps a fair sample: p99 stays near the true one', async (t) => {
  const w = new GateWindow({ windowMs: 10_000, maxSamplesPerBucket: 256, random: mulberry32(42) });
  const latency = mulberry32(7);
  // The first 256 are slow: a keep-the-first-N buffer would read p99 = 1000 ms.
  for (let i = 0; i < 256; i++) w.record('candidate', 0, 1_000, false);
  for (let i = 0; i < 49_744; i++) w.record('candidate', 1 + (i % 999), latency() * 100, false);
  const { requests, p99Ms } = w.readings(999).candidate;
  t.equal(requests, 50_000);
  t.ok(p99Ms !== undefined && p99Ms >= 97 && p99Ms <= 100, `p99 ${p99Ms} ms, true p99 ≈ 99 ms`);
});

t.test('a kept sample weighs for the requests it stands for', async (t) => {
  // A busy bucket of 10 000 at 1 ms (100 kept) and a quiet one at 50 ms.
  const rows = [
    { slow: 50, p99: 1 }, // 50 of 10 050 requests are slow: under 1 %
    { slow: 150, p99: 50 }, // 150 of 10 150: over 1 %
  ];
  for (const row of rows) {
    const w = new GateWindow({ windowMs: 10_000, maxSamplesPerBucket: 100, random: mulberry32(3) });
    for (let i = 0; i < 10_000; i++) w.record('stable', 1_000, 1, false);
    for (let i = 0; i < row.slow; i++) w.record('stable', 2_000, 50, false);
    t.equal(w.readings(2_000).stable.p99Ms, row.p99, `${row.slow} slow requests`);
  }
});

t.test('memory stays bounded: a million requests inside one window retain nothing more than the first ten thousand', async (t) => {
  const w = new GateWindow({ windowMs: 30_000, maxSamplesPerBucket: 64, random: mulberry32(9) });
  // Latencies 0 … 19 ms, 100 requests per ms, all within 10 s of the 30 s window.
  const record = (from: number, to: number): void => {
    for (let i = from; i < to; i++) w.record(i % 3 === 0 ? 'stable' : 'candidate', Math.floor(i / 100), i % 20, i % 50 === 0);
  };
  record(0, 10_000);
  gc();
  const before = getHeapStatistics().used_heap_size;
  record(10_000, 1_000_000);
  gc();
  const grownBytes = getHeapStatistics().used_heap_size - before;
  // Kept as plain numbers, 990 000 latencies would hold ~8 MB.
  t.ok(grownBytes < 500_000, `heap retained ${grownBytes} more bytes after 990 000 more records`);
  const r = w.readings(10_000);
  t.same([r.stable.requests, r.candidate.requests, r.stable.errors + r.candidate.errors], [333_334, 666_666, 20_000]);
  t.same([r.stable.p99Ms, r.candidate.p99Ms], [19, 19]);
});
