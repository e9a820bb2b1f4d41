// Recorded traces for the autoscaling policy's tests: offered load (requests
// in flight or queued) as a function of time, and the observation windows a
// fleet would report under it. Deterministic: the same trace gives the same
// window on every run, so a failure replays exactly.

import type { AutoscaleObservation } from '../../../gateway/scaling/autoscale-policy.ts';

/** Offered load (whole requests) at tMs. */
export type Trace = (tMs: number) => number;

/** The autoscaler's tick in these tests. */
export const OBSERVE_EVERY_MS = 500;

export const constant =
  (load: number): Trace =>
  () =>
    load;

/** baseLoad until startMs, linearly to peakLoad over riseMs, peakLoad for holdMs, back over fallMs, then baseLoad. */
export function ramp(baseLoad: number, peakLoad: number, startMs: number, riseMs: number, holdMs: number, fallMs: number): Trace {
  return (tMs) => {
    const sinceMs = tMs - startMs;
    if (sinceMs <= 0) return baseLoad;
    if (sinceMs < riseMs) return Math.round(baseLoad + ((peakLoad - baseLoad) * sinceMs) / riseMs);
    if (sinceMs < riseMs + holdMs) return peakLoad;
    const fallenMs = sinceMs - riseMs - holdMs;
    if (fallenMs < fallMs) return Math.round(peakLoad - ((peakLoad - baseLoad) * fallenMs) / fallMs);
    return baseLoad;
  };
}

/** baseLoad, and peakLoad over [atMs, atMs + durationMs). */
export function spike(baseLoad: number, peakLoad: number, atMs: number, durationMs: number): Trace {
  return (tMs) => (tMs >= atMs && tMs < atMs + durationMs ? peakLoad : baseLoad);
}

/** Rises linearly from lowLoad toward highLoad over each period, then drops back at once. */
export function sawtooth(lowLoad: number, highLoad: number, periodMs: number): Trace {
  return (tMs) => Math.round(lowLoad + ((highLoad - lowLoad) * (tMs % periodMs)) / periodMs);
}

/** Observations every OBSERVE_EVERY_MS over [fromMs, toMs] of a fleet with `readyReplicas` under `load`. */
export function observe(
  load: Trace,
  fromMs: number,
  toMs: number,
  readyReplicas: number | ((tMs: number) => number),
  queueDelayMs: Trace = () => 0,
): AutoscaleObservation[] {
  const window: AutoscaleObservation[] = [];
  for (let atMs = fromMs; atMs <= toMs; atMs += OBSERVE_EVERY_MS) {
    const ready = typeof readyReplicas === 'number' ? readyReplicas : readyReplicas(atMs);
    window.push({ atMs, readyReplicas: ready, ongoingRequests: load(atMs), queueDelayMs: queueDelayMs(atMs) });
  }
  return window;
}
