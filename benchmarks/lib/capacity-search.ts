// Capacity search policy: a pure function from the probes so far to the next
// decision ("probe rate R" or "done: capacity C"). The caller runs the probes
// (open-loop runs) and owns every timer; this file only decides, so it is
// tested with tables of outcomes.
//
// Bounded search in two phases:
//
//   growth      start, start·g, start·g², … until a probe fails or maxRate passes
//   bisection   between the highest passing rate below the lowest failing one
//               (lo) and that failing rate (hi), until hi − lo ≤ precision·lo
//
// (or, when the very first probe fails, shrinking by g until one passes or
// minRate fails). Every path stops after maxProbes probes. A probe passes when
// p99 ≤ SLO and error rate ≤ the allowance.
//
// Noise: on a shared machine one probe can fail by accident (a neighbour's
// burst, a GC pause) and bound the bracket far below the real capacity. So a
// failure is confirmed by probing the same rate again, and a rate counts as
// failed only when no probe at it passed. Should a lower rate still fail
// after a higher one passed, lo is taken below the lowest failure.

import type { RunSummary } from './results.ts';

export type SearchSettings = {
  startRatePerS: number;
  minRatePerS: number;
  maxRatePerS: number;
  /** Growth (and shrink) factor of the first phase. */
  growth: number;
  /** Stop bisecting when (hi − lo) / lo is at most this. */
  precision: number;
  maxProbes: number;
  /** Re-probe a rate once after its first failure; it fails only if it fails again. */
  confirmFailures: boolean;
};

export type ProbeOutcome = { ratePerS: number; passed: boolean };

export type SearchStep =
  | { kind: 'probe'; ratePerS: number }
  | { kind: 'done'; capacityPerS: number; bracket: [number, number | null]; reason: string };

export const DEFAULT_SEARCH: SearchSettings = {
  startRatePerS: 100,
  minRatePerS: 5,
  maxRatePerS: 100_000,
  growth: 2,
  precision: 0.05,
  maxProbes: 16,
  confirmFailures: true,
};

export function nextStep(probes: readonly ProbeOutcome[], s: SearchSettings): SearchStep {
  if (probes.length === 0) return probe(clamp(s.startRatePerS, s));
  const passedRates = new Set(probes.filter((p) => p.passed).map((p) => p.ratePerS));
  const last = probes[probes.length - 1]!;
  if (s.confirmFailures && !last.passed && probes.length < s.maxProbes && !passedRates.has(last.ratePerS)) {
    if (probes.filter((p) => p.ratePerS === last.ratePerS).length === 1) return probe(last.ratePerS);
  }
  const failed = probes.filter((p) => !p.passed && !passedRates.has(p.ratePerS)).map((p) => p.ratePerS);
  const hi = failed.length > 0 ? Math.min(...failed) : null;
  const passedBelow = [...passedRates].filter((rate) => hi === null || rate < hi);
  const lo = passedBelow.length > 0 ? Math.max(...passedBelow) : null;
  const done = (reason: string): SearchStep => ({ kind: 'done', capacityPerS: lo ?? 0, bracket: [lo ?? 0, hi], reason });

  if (hi === null) {
    // Everything passed so far: grow.
    if (lo! >= s.maxRatePerS) return done(`every probe passed up to the maximum rate ${s.maxRatePerS}/s`);
    if (probes.length >= s.maxProbes) return done(`probe budget (${s.maxProbes}) spent while still growing`);
    return probe(clamp(lo! * s.growth, s));
  }
  if (lo === null) {
    // Nothing passed: shrink.
    if (hi <= s.minRatePerS) return done(`even the minimum rate ${s.minRatePerS}/s failed`);
    if (probes.length >= s.maxProbes) return done(`probe budget (${s.maxProbes}) spent; nothing passed`);
    return probe(clamp(hi / s.growth, s));
  }
  if (hi - lo <= s.precision * lo) return done(`converged: ${lo}/s passed, ${hi}/s failed`);
  if (probes.length >= s.maxProbes) return done(`probe budget (${s.maxProbes}) spent; ${lo}/s passed, ${hi}/s failed`);
  const mid = roundRate((lo + hi) / 2);
  if (mid <= lo || mid >= hi) return done(`converged: ${lo}/s passed, ${hi}/s failed`);
  return probe(mid);
}

/** A probe passes when it answered anything, p99 ≤ SLO and the error rate is within the allowance. */
export function probePassed(summary: RunSummary, sloP99Ms: number, maxErrorRate: number): boolean {
  return summary.responses > 0 && summary.latency.p99Ms <= sloP99Ms && summary.errorRate <= maxErrorRate;
}

function probe(ratePerS: number): SearchStep {
  return { kind: 'probe', ratePerS };
}

function clamp(rate: number, s: SearchSettings): number {
  return roundRate(Math.min(s.maxRatePerS, Math.max(s.minRatePerS, rate)));
}

/** Whole req/s above 20/s, tenths below: finer steps than that are noise. */
export function roundRate(rate: number): number {
  return rate >= 20 ? Math.round(rate) : Math.round(rate * 10) / 10;
}
