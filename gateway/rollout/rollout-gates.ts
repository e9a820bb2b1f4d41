// The rollout gates, judged on a window of readings: a pure function from the
// plan's thresholds and what both versions did to pass / fail / waiting, each
// with a sentence carrying the numbers (the admin API shows it, and it is
// logged when a rollout rolls back). A gate waits, rather than passes, until
// it has seen enough to judge: too few requests prove nothing either way.

import type { GateName, RolloutGates } from './rollout-plan.ts';
import type { ArmReadings, WindowReadings } from './gate-window.ts';

export type GateReading = { gate: GateName; status: 'pass' | 'fail' | 'waiting'; detail: string };

/** One reading per name, in the order given. */
export function judgeGates(gates: RolloutGates, names: readonly GateName[], readings: WindowReadings): GateReading[] {
  return names.map((gate) => {
    switch (gate) {
      case 'errors': return errorsGate(gates.errors, readings);
      case 'latency': return latencyGate(gates.latency, readings);
      case 'agreement': return agreementGate(gates.agreement, readings);
    }
  });
}

function errorsGate(limits: RolloutGates['errors'], { stable, candidate }: WindowReadings): GateReading {
  if (candidate.requests < limits.minRequests) {
    return { gate: 'errors', status: 'waiting', detail: `candidate ${candidate.requests} of the ${limits.minRequests} requests needed` };
  }
  const candidateRatio = errorRatio(candidate);
  const stableRatio = errorRatio(stable);
  const points = short(limits.maxIncrease * 100);
  const detail = `candidate ${percent(candidateRatio)} errors vs stable ${percent(stableRatio)} (max increase ${points} point${points === '1' ? '' : 's'}), ${candidate.requests} requests`;
  return { gate: 'errors', status: above(candidateRatio - stableRatio, limits.maxIncrease) ? 'fail' : 'pass', detail };
}

function latencyGate(limits: RolloutGates['latency'], { stable, candidate }: WindowReadings): GateReading {
  const c = candidate.p99Ms;
  const s = stable.p99Ms;
  if (c === undefined || s === undefined || candidate.requests < limits.minRequests || stable.requests < limits.minRequests) {
    const arm = (a: ArmReadings): string => `${a.requests}${a.p99Ms === undefined ? ' (no latency sample)' : ''}`;
    return { gate: 'latency', status: 'waiting', detail: `${limits.minRequests} requests with a p99 needed on each side: candidate ${arm(candidate)}, stable ${arm(stable)}` };
  }
  const slower = above(c, s * limits.maxP99Ratio) && above(c - s, limits.toleranceMs);
  const detail = `candidate p99 ${c.toFixed(1)} ms vs stable ${s.toFixed(1)} ms (max ×${short(limits.maxP99Ratio)} and +${short(limits.toleranceMs)} ms), ${candidate.requests} requests`;
  return { gate: 'latency', status: slower ? 'fail' : 'pass', detail };
}

function agreementGate(limits: RolloutGates['agreement'], { agreement }: WindowReadings): GateReading {
  if (agreement.comparisons < limits.minComparisons) {
    return { gate: 'agreement', status: 'waiting', detail: `${agreement.comparisons} of the ${limits.minComparisons} compared answers needed` };
  }
  const { maxAbsDiff, argmaxRows, argmaxAgreeingRows } = agreement;
  const diffFails = maxAbsDiff > limits.maxAbsDiff;
  const shared = argmaxRows === 0 ? 1 : argmaxAgreeingRows / argmaxRows;
  const argmaxFails = argmaxRows > 0 && above(limits.minArgmaxAgreement, shared);
  const diff = maxAbsDiff === Infinity ? 'Infinity (an output missing or of another datatype, shape or value)' : short(maxAbsDiff);
  const top1 = argmaxRows === 0 ? '' : `, top-1 agrees on ${percent(shared)} of ${argmaxRows} rows (min ${short(limits.minArgmaxAgreement * 100)} %)`;
  const detail = `max abs diff ${diff} (max ${short(limits.maxAbsDiff)})${top1}, ${agreement.comparisons} comparisons`;
  return { gate: 'agreement', status: diffFails || argmaxFails ? 'fail' : 'pass', detail };
}

function errorRatio(arm: ArmReadings): number {
  return arm.requests === 0 ? 0 : arm.errors / arm.requests;
}

/**
 * value > limit, give or take the last bits: the compared quantities are differences and ratios of floats
 * (0.07 − 0.06 = 0.010000000000000009), and a reading exactly at its limit must pass.
 */
function above(value: number, limit: number): boolean {
  return value > limit + 1e-12 * Math.max(1, Math.abs(limit));
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Three significant digits, without trailing zeros: 0.001 → "0.001", 2 → "2", 1.23456e-7 → "1.23e-7". */
function short(value: number): string {
  return String(Number(value.toPrecision(3)));
}
