// Summaries of runs that a scenario repeats in interleaved rounds (A B C,
// A B C, …): on a machine whose speed drifts by up to 2× within minutes, one
// run per system compares moments as much as systems. The median of the
// rounds is the system's number, and a ratio between two systems is taken
// within each round (both measured moments apart) before its median.

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
  const ratios: number[] = [];
  for (const top of numerator) {
    const bottom = denominator.find((r) => r.round === top.round);
    if (bottom && bottom.summary.responsesPerS > 0) ratios.push(top.summary.responsesPerS / bottom.summary.responsesPerS);
  }
  return ratios;
}
