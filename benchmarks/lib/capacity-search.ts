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
// p99 ≤ SLO and error rate ≤ the allowance; noise can make a lower rate fail
// after a higher one passed, so lo is taken below the lowest failure only.

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
  maxProbes: 12,
};

export function nextStep(probes: readonly ProbeOutcome[], s: SearchSettings): SearchStep {
  if (probes.length === 0) return probe(clamp(s.startRatePerS, s));
  const failed = probes.filter((p) => !p.passed).map((p) => p.ratePerS);
  const hi = failed.length > 0 ? Math.min(...failed) : null;
  const passedBelow = probes.filter((p) => p.passed && (hi === null || p.ratePerS < hi)).map((p) => p.ratePerS);
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
