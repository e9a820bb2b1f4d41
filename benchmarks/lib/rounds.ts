// Runs that a scenario repeats in interleaved rounds (A B C, A B C, …): on a
// machine whose speed drifts by up to 2× within minutes, one run per system
// compares moments as much as systems. The median of the rounds is the
// system's number, and a ratio between two systems is taken within each
// round (both measured moments apart) before its median.

import type { RunRecord } from './results.ts';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The completed runs of one system at one connection count, by round. */
export function roundsOf(runs: readonly RunRecord[], system: string, connections: number): RunRecord[] {
  return runs
    .filter((r) => r.system === system && r.load.connections === connections && !r.failure)
    .sort((a, b) => (a.round ?? 0) - (b.round ?? 0));
}

/** The run whose throughput is the median (the lower of the middle two for an even count): a real run to chart. */
export function medianRun(runs: readonly RunRecord[]): RunRecord | undefined {
  const sorted = [...runs].sort((a, b) => a.summary.responsesPerS - b.summary.responsesPerS);
  return sorted[(sorted.length - 1) >> 1];
}

/** numerator / denominator throughput within each round both completed. */
export function pairedRatios(numerator: readonly RunRecord[], denominator: readonly RunRecord[]): number[] {
  return pairedRatiosOf(numerator, denominator, (r) => r.summary.responsesPerS);
}

/** numerator / denominator of `value` within each round both completed and both have it (undefined: not measured). */
export function pairedRatiosOf(numerator: readonly RunRecord[], denominator: readonly RunRecord[], value: (r: RunRecord) => number | undefined): number[] {
  return paired(numerator, denominator, value, (a, b) => (b > 0 ? a / b : undefined));
}

/** numerator − denominator of `value` within each round both completed and both have it (e.g. the CPU µs a setting adds per request). */
export function pairedDifferencesOf(numerator: readonly RunRecord[], denominator: readonly RunRecord[], value: (r: RunRecord) => number | undefined): number[] {
  return paired(numerator, denominator, value, (a, b) => a - b);
}

function paired(numerator: readonly RunRecord[], denominator: readonly RunRecord[], value: (r: RunRecord) => number | undefined, combine: (a: number, b: number) => number | undefined): number[] {
  const results: number[] = [];
  for (const top of numerator) {
    const bottom = denominator.find((r) => r.round === top.round);
    const a = value(top);
    const b = bottom && value(bottom);
    const combined = a !== undefined && b !== undefined ? combine(a, b) : undefined;
    if (combined !== undefined) results.push(combined);
  }
  return results;
}

/**
 * The order of an interleaved measurement: every round runs each system at
 * each load, the systems alternating at every load; the systems' order
 * rotates by one each round (A B, then B A) so no system always runs first.
 */
export function roundPlan(rounds: number, loads: number, systems: number): { round: number; load: number; system: number }[] {
  const plan: { round: number; load: number; system: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (let load = 0; load < loads; load++) {
      for (let i = 0; i < systems; i++) plan.push({ round, load, system: (i + round - 1) % systems });
    }
  }
  return plan;
}

/**
 * One run per system, model and load for charts and one-per-system
 * summaries: the median round's run (medianRun) where runs were repeated in
 * rounds, else the runs as recorded (the same array).
 */
export function representativeRuns(runs: readonly RunRecord[]): readonly RunRecord[] {
  if (!runs.some((r) => r.round !== undefined)) return runs;
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.failure) continue;
    const key = JSON.stringify([r.system, r.model, r.replicas, r.load]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => medianRun(group)!);
}

/** The median of a value over runs that have it; null when none has. */
export function medianOf(runs: readonly RunRecord[], value: (r: RunRecord) => number | undefined): number | null {
  const values = runs.map(value).filter((v): v is number => v !== undefined);
  return values.length > 0 ? median(values) : null;
}

/** The median of paired ratios for a table ("1.23×"); a dash for none. */
export function times(ratios: readonly number[]): string {
  return ratios.length > 0 ? `${median(ratios).toFixed(2)}×` : '—';
}

/** Microseconds for a table: whole from 100 on, one decimal below; a dash for none. */
export function us(value: number | null): string {
  if (value === null) return '—';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}
