// When the open loop's requests are due, for a rate that may change during a
// run (e.g. a 2× burst): a piecewise-constant rate λ(t) given as steps.
//
// Time rescaling: with Λ(t) = ∫₀ᵗ λ, request i is due at Λ⁻¹(uᵢ), where uᵢ
// are the arrivals of a unit-rate process — uᵢ = i for constant spacing, sums
// of Exp(1) gaps for Poisson arrivals. A rate change therefore takes effect
// exactly at its step, however long the gap that straddles it, and a single
// rate reproduces the plain i / rate (or exponential-gap) schedule.
//
//   λ:  ▁▁▁▁▁▁████▁▁▁     (steps)
//   Λ:  ╱╱╱╱╱╱ steeper ╱   request i due where Λ crosses uᵢ

import type { OpenLoad } from './results.ts';

type Segment = { fromMs: number; perMs: number; countBefore: number };

export class ArrivalSchedule {
  readonly #segments: Segment[] = [];
  readonly #endMs: number;
  readonly #gap: () => number;
  #unit = 0;
  #segment = 0;

  /** `random` in [0, 1) drives Poisson gaps; constant arrivals ignore it. */
  constructor(load: Pick<OpenLoad, 'ratePerS' | 'arrivals' | 'durationS' | 'schedule'>, random: () => number) {
    const steps = [{ fromS: 0, ratePerS: load.ratePerS }, ...(load.schedule ?? [])].filter((s) => s.fromS < load.durationS);
    for (const s of steps) {
      if (!(s.ratePerS >= 0) || !(s.fromS >= 0)) throw new Error(`rate schedule: bad step ${JSON.stringify(s)}`);
    }
    steps.sort((a, b) => a.fromS - b.fromS);
    let count = 0;
    for (const [i, s] of steps.entries()) {
      const fromMs = s.fromS * 1000;
      const perMs = s.ratePerS / 1000;
      // A later step at the same time replaces the earlier one.
      if (this.#segments.at(-1)?.fromMs === fromMs) this.#segments.pop();
      this.#segments.push({ fromMs, perMs, countBefore: count });
      const next = steps[i + 1];
      count += perMs * ((next ? next.fromS * 1000 : load.durationS * 1000) - fromMs);
    }
    this.#endMs = load.durationS * 1000;
    this.#gap = load.arrivals === 'poisson' ? () => -Math.log(1 - random()) : () => 1;
  }

  /** Milliseconds from the run's start at which the next request is due; Infinity once the run is over. */
  next(): number {
    const u = this.#unit;
    this.#unit += this.#gap();
    // Λ is non-decreasing, so the segment holding u only moves forward.
    // A pause (rate 0) keeps Λ flat, so u lands after it: no request is due during a pause.
    while (this.#segment + 1 < this.#segments.length && this.#segments[this.#segment + 1]!.countBefore <= u) this.#segment++;
    const s = this.#segments[this.#segment]!;
    if (s.perMs === 0) return Infinity;
    const dueMs = s.fromMs + (u - s.countBefore) / s.perMs;
    return dueMs < this.#endMs ? dueMs : Infinity;
  }
}

/** The rate in force `atS` seconds into the run. */
export function rateAt(load: Pick<OpenLoad, 'ratePerS' | 'schedule'>, atS: number): number {
  let rate = load.ratePerS;
  for (const s of [...(load.schedule ?? [])].sort((a, b) => a.fromS - b.fromS)) if (s.fromS <= atS) rate = s.ratePerS;
  return rate;
}
