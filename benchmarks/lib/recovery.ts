// Time to recover after each event of a timeline (policy only: seconds in,
// numbers out). A second is healthy when none of its requests failed or were
// shed and its p99 is within the threshold; the system has recovered from an
// event at the first healthy second (from the event's own second on) that the
// next second confirms — within the event's window, which ends where the next
// event begins.
//
//   event ▼                 next event ▼
//   ✓ ✓ ✗ ✗ ✗ ✓ ✓ ✓ ✓ ✓ … ✓ ✓ ✓ ✓ ✓ ✓
//         └─────┘ recovered here: 2 healthy seconds in a row

import type { TimelineEvent, TimelineSecond } from './results.ts';

export type Recovery = {
  event: TimelineEvent;
  /** Seconds from the event to the start of the first healthy second; 0 = no visible effect; null = not within its window. */
  secondsToRecover: number | null;
  /** Requests due between the event and recovery (or the window's end) that failed or were shed, and their worst p99. */
  failed: number;
  shed: number;
  worstP99Ms: number | null;
};

/** Median per-second p99 before the first event (all seconds when no event leaves any before it). */
export function baselineP99(seconds: readonly TimelineSecond[], events: readonly TimelineEvent[]): number | null {
  const first = Math.min(...events.map((e) => e.atS));
  const quiet = seconds.filter((s) => s.second + 1 <= first && s.p99Ms !== null);
  const values = (quiet.length > 0 ? quiet : seconds.filter((s) => s.p99Ms !== null)).map((s) => s.p99Ms!).sort((a, b) => a - b);
  return values.length === 0 ? null : values[Math.floor((values.length - 1) / 2)]!;
}

/** p99 a healthy second may reach: twice the baseline, and never less than baseline + 10 ms (per-second p99 jitters on a shared machine). */
export function p99Threshold(baselineMs: number | null): number {
  return baselineMs === null ? Infinity : Math.max(2 * baselineMs, baselineMs + 10);
}

export function isHealthy(s: TimelineSecond, thresholdMs: number): boolean {
  return s.failed === 0 && s.shed === 0 && s.ok > 0 && s.p99Ms !== null && s.p99Ms <= thresholdMs;
}

/** One Recovery per event, in time order. */
export function recoveries(seconds: readonly TimelineSecond[], events: readonly TimelineEvent[], thresholdMs: number): Recovery[] {
  const ordered = [...events].sort((a, b) => a.atS - b.atS);
  return ordered.map((event, i) => {
    const from = Math.floor(event.atS);
    const next = ordered.slice(i + 1).find((e) => Math.floor(e.atS) > from);
    const to = Math.min(seconds.length, next ? Math.floor(next.atS) : seconds.length);
    const window = seconds.filter((s) => s.second >= from && s.second < to);
    const at = window.findIndex((s, j) => isHealthy(s, thresholdMs) && (j + 1 >= window.length || isHealthy(window[j + 1]!, thresholdMs)));
    const disturbed = at === -1 ? window : window.slice(0, at);
    const p99s = disturbed.map((s) => s.p99Ms).filter((v): v is number => v !== null);
    return {
      event,
      secondsToRecover: at === -1 ? null : at === 0 ? 0 : window[at]!.second - event.atS,
      failed: disturbed.reduce((n, s) => n + s.failed, 0),
      shed: disturbed.reduce((n, s) => n + s.shed, 0),
      worstP99Ms: p99s.length === 0 ? null : Math.max(...p99s),
    };
  });
}
