// The soak verdict as a table: sampled RSS curves → pass, fail or
// inconclusive, and why.

import t from 'tap';
import { judgeSoak, leastSquaresSlope, median, MIB, soakLimitBytes, type SoakSample } from '../../benchmarks/lib/soak-verdict.ts';

const LIMIT = soakLimitBytes(64 * MIB);
/** Samples every 5 s over `durationS`, RSS in MiB from `rssMiB(t)`. */
const curve = (durationS: number, rssMiB: (t: number) => number): SoakSample[] =>
  Array.from({ length: durationS / 5 + 1 }, (_, i) => ({ atS: i * 5, rssBytes: Math.round(rssMiB(i * 5) * MIB), heapUsedBytes: null, lagP99Ms: null, lagMaxMs: null }));

const CASES = [
  { name: 'ramps up while the cache fills, then flat', samples: curve(600, (s) => 150 + Math.min(s, 120) / 2), outcome: 'pass', reasons: [] },
  { name: 'flat with noise of ±2 MiB', samples: curve(600, (s) => 200 + ((s / 5) % 3) - 1), outcome: 'pass', reasons: [] },
  { name: 'flat but above 150 MiB + the cache bound', samples: curve(600, () => 300), outcome: 'fail', reasons: [/RSS peaked at 300\.0 MiB, above the 214\.0 MiB limit/] },
  { name: 'a steady leak of 2 MiB/min', samples: curve(600, (s) => 150 + s / 30), outcome: 'fail', reasons: [/grows 2\.00 MiB\/min/, /last-quarter median .* above the second quarter/] },
  { name: 'a slow leak of 0.9 MiB/min in a small process: flat enough by slope, not by quarters', samples: curve(600, (s) => 80 + (s * 0.9) / 60), outcome: 'fail', reasons: [/last-quarter median 87\.9 MiB is 5\.4% above the second quarter's 83\.3 MiB/] },
  { name: 'too short for a slope', samples: curve(10, () => 160), outcome: 'inconclusive', reasons: [/2 samples in the second half, fewer than 4: no slope/, /no sample in the second or the last quarter/] },
  { name: 'too short, and already above the limit', samples: curve(10, () => 400), outcome: 'fail', reasons: [/above the 214\.0 MiB limit/, /no slope/, /no sample/] },
] as const;

t.test('the verdict on a sampled RSS curve', async (t) => {
  for (const c of CASES) {
    const durationS = c.samples.at(-1)!.atS;
    const verdict = judgeSoak(c.samples, { durationS, limitBytes: LIMIT });
    t.equal(verdict.outcome, c.outcome, c.name);
    t.equal(verdict.reasons.length, c.reasons.length, `${c.name}: ${verdict.reasons.join('; ')}`);
    c.reasons.forEach((pattern, i) => t.match(verdict.reasons[i], pattern, `${c.name}: reason ${i + 1}`));
  }
});

t.test('least squares and medians', async (t) => {
  t.equal(leastSquaresSlope([[0, 1], [1, 3], [2, 5]]), 2);
  t.equal(leastSquaresSlope([[3, 1], [3, 9]]), 0, 'one x: no slope');
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([]), null);
});
