// Pure health policies of a replica; the mechanism (timers, calls, the
// replica set) applies them. Envoy's names where they exist.
//
//   active checks   healthy ──unhealthyThreshold failed checks in a row──▶ unhealthy
//                   unhealthy ──healthyThreshold passed checks in a row──▶ healthy
//   passive         consecutiveFailuresToEject replica failures in a row ──▶ ejected for
//                   min(maxEjectionMs, baseEjectionMs × ejections so far), unless that
//                   would eject more than maxEjectionPercent of the model's replicas
//   usable          healthy ∧ not ejected ∧ breaker admits (what the balancer's
//                   panic mode, balancer/panic-mode.ts, reads)

export type CheckThresholds = { healthyThreshold: number; unhealthyThreshold: number };

/** Active-check state of one replica: one flag plus the current run of results. */
export type CheckState = { healthy: boolean; passedInARow: number; failedInARow: number };

export const FRESH_CHECK_STATE: CheckState = { healthy: true, passedInARow: 0, failedInARow: 0 };

export function afterCheck(state: CheckState, passed: boolean, t: CheckThresholds): CheckState {
  if (passed) {
    const passedInARow = state.passedInARow + 1;
    return { healthy: state.healthy || passedInARow >= t.healthyThreshold, passedInARow, failedInARow: 0 };
  }
  const failedInARow = state.failedInARow + 1;
  return { healthy: state.healthy && failedInARow < t.unhealthyThreshold, passedInARow: 0, failedInARow };
}

/** The delay before the next check: intervalMs ± jitterPercent, uniformly (so checks of many replicas never align). */
export function nextCheckDelayMs(intervalMs: number, jitterPercent: number, random: () => number): number {
  return intervalMs * (1 + (jitterPercent / 100) * (2 * random() - 1));
}

/** How long the n-th ejection (n ≥ 1) of one replica lasts. */
export function ejectionMs(ejections: number, baseEjectionMs: number, maxEjectionMs: number): number {
  return Math.min(maxEjectionMs, baseEjectionMs * Math.max(1, ejections));
}

/**
 * Whether one more of `total` replicas may be ejected while `ejected` already
 * are. At least one may always be ejected (as in Envoy), so a small fleet can
 * still shed its bad replica; panic routing covers the rest.
 */
export function mayEject(ejected: number, total: number, maxEjectionPercent: number): boolean {
  if (maxEjectionPercent <= 0) return false;
  const allowed = Math.max(1, Math.floor((total * maxEjectionPercent) / 100));
  return ejected < allowed;
}
