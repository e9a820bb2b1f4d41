// The soak scenario's data and its verdict on memory growth: a pure function
// of the samples (no clock, no I/O), so a results.json can be judged again
// and the rule is tested with tables.
//
// The rule (all three must hold):
//   1. bounded  the highest RSS sampled ≤ 150 MiB + cache.memoryMaxBytes
//   2. flat     least-squares slope of RSS over the second half of the load
//               ≤ 1 MiB/min
//   3. settled  median RSS of the last quarter ≤ 1.05 × the median of the
//               second quarter
// With fewer than MIN_HALF_SAMPLES samples in the second half, or fewer than
// one in either quarter, the verdict is "inconclusive" (a run too short to say).
//
//   RSS │        ┌──── second half: slope ────┐
//       │   ╱‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾   ─ ─ limit
//       │  ╱  Q2 median          Q4 median
//       └──┴──────┴──────┴──────┴──────┴──▶ t
//          0     D/4    D/2   3D/4     D

/** One look at the gateway process, `atS` seconds after the load started. */
export type SoakSample = {
  atS: number;
  /** VmRSS of the gateway process (/proc/<pid>/status). */
  rssBytes: number;
  /** V8 heap used, from the gateway's /metrics (prom-client's nodejs_heap_size_used_bytes); null when the scrape failed. */
  heapUsedBytes: number | null;
  /** V8 heap committed (nodejs_heap_size_total_bytes) and memory outside it that V8 knows of (nodejs_external_memory_bytes: buffers, array buffers); null when the scrape failed, absent in runs from before they were sampled. */
  heapTotalBytes?: number | null;
  externalBytes?: number | null;
  /** Event-loop delay since the previous scrape (prom-client resets its histogram at each), p99 and max; null when the scrape failed. */
  lagP99Ms: number | null;
  lagMaxMs: number | null;
};

export type SoakVerdict = {
  outcome: 'pass' | 'fail' | 'inconclusive';
  /** One phrase per failed (or unjudgeable) condition. */
  reasons: string[];
  peakRssBytes: number;
  limitBytes: number;
  /** RSS slope over the second half, MiB per minute (null: too few samples). */
  secondHalfSlopeMiBPerMin: number | null;
  secondQuarterMedianBytes: number | null;
  lastQuarterMedianBytes: number | null;
};

/** What the soak run records beside its RunRecord (results.json: the run's `soak` field). */
export type SoakData = {
  sampleIntervalS: number;
  /** cache.memoryMaxBytes as the gateway was configured (its default unless the overlay sets it). */
  cacheMaxBytes: number;
  /** The open-loop rate as a share of the capacity found in the same run (null when --rate gave it). */
  capacityShare: number | null;
  capacityPerS: number | null;
  samples: SoakSample[];
  verdict: SoakVerdict;
};

export const MIB = 2 ** 20;
/** The gateway's own footprint allowed beside its cache bound. */
export const BASE_ALLOWANCE_BYTES = 150 * MIB;
export const MAX_SLOPE_MIB_PER_MIN = 1;
export const MAX_QUARTER_GROWTH = 0.05;
const MIN_HALF_SAMPLES = 4;

export function soakLimitBytes(cacheMaxBytes: number): number {
  return BASE_ALLOWANCE_BYTES + cacheMaxBytes;
}

export function judgeSoak(samples: readonly SoakSample[], options: { durationS: number; limitBytes: number }): SoakVerdict {
  const { durationS, limitBytes } = options;
  const peakRssBytes = Math.max(0, ...samples.map((s) => s.rssBytes));
  const within = (from: number, to: number): number[] => samples.filter((s) => s.atS >= from && s.atS < to).map((s) => s.rssBytes);
  const secondHalf = samples.filter((s) => s.atS >= durationS / 2);
  const q2 = median(within(durationS / 4, durationS / 2));
  const q4 = median(within((3 * durationS) / 4, Infinity));
  const slope = secondHalf.length >= MIN_HALF_SAMPLES ? leastSquaresSlope(secondHalf.map((s) => [s.atS, s.rssBytes])) : null;
  const slopeMiBPerMin = slope === null ? null : (slope * 60) / MIB;

  const reasons: string[] = [];
  let conclusive = true;
  if (peakRssBytes > limitBytes) reasons.push(`RSS peaked at ${mib(peakRssBytes)}, above the ${mib(limitBytes)} limit`);
  if (slopeMiBPerMin === null) {
    conclusive = false;
    reasons.push(`${secondHalf.length} samples in the second half, fewer than ${MIN_HALF_SAMPLES}: no slope`);
  } else if (slopeMiBPerMin > MAX_SLOPE_MIB_PER_MIN) reasons.push(`RSS still grows ${slopeMiBPerMin.toFixed(2)} MiB/min in the second half (at most ${MAX_SLOPE_MIB_PER_MIN})`);
  if (q2 === null || q4 === null) {
    conclusive = false;
    reasons.push('no sample in the second or the last quarter');
  } else if (q4 > q2 * (1 + MAX_QUARTER_GROWTH)) {
    reasons.push(`last-quarter median ${mib(q4)} is ${(((q4 - q2) / q2) * 100).toFixed(1)}% above the second quarter's ${mib(q2)} (at most ${MAX_QUARTER_GROWTH * 100}%)`);
  }
  // A breached limit fails even a short run; otherwise a run too short to judge growth says so.
  const failed = reasons.length > 0 && (peakRssBytes > limitBytes || conclusive);
  const outcome = failed ? 'fail' : conclusive ? 'pass' : 'inconclusive';
  return { outcome, reasons, peakRssBytes, limitBytes, secondHalfSlopeMiBPerMin: slopeMiBPerMin, secondQuarterMedianBytes: q2, lastQuarterMedianBytes: q4 };
}

/** Ordinary least squares slope of y on x (0 when every x is the same). */
export function leastSquaresSlope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((a, [x]) => a + x, 0) / n;
  const meanY = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
