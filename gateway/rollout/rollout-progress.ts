// Whether a rollout stage stays, advances to the next stage or rolls back: a
// pure function of the stage, how far it got and its gates' readings. The
// rollout mechanism calls it on each tick and acts on the move.
//
// A failed gate rolls back at once, even while the stage still waits for
// time or requests: a candidate already seen to break is not given longer.
// A stage advances only when its minimum duration and request count are met
// and every gate passes; a gate still waiting holds the stage.

import type { GatedStage } from './rollout-plan.ts';
import type { GateReading } from './rollout-gates.ts';

export type StageProgress = {
  stage: GatedStage;
  startedAtMs: number;
  /** Requests answered by the candidate in this stage, live or shadowed. */
  candidateRequests: number;
};

export type Move = { move: 'stay' | 'advance' | 'rollback'; reason: string };

/** `readings` are the stage's gates, judged on the current window. */
export function nextMove(progress: StageProgress, readings: readonly GateReading[], nowMs: number): Move {
  const failed = readings.filter((r) => r.status === 'fail');
  if (failed.length > 0) return { move: 'rollback', reason: failed.map((r) => `gate ${r.gate} failed: ${r.detail}`).join('; ') };

  const { stage, startedAtMs, candidateRequests } = progress;
  const elapsedMs = nowMs - startedAtMs;
  const waits: string[] = [];
  if (elapsedMs < stage.minDurationMs) {
    // Rounded up: "0.0 s more" would read as done.
    waits.push(`${(Math.ceil((stage.minDurationMs - elapsedMs) / 100) / 10).toFixed(1)} s more (minDurationMs ${stage.minDurationMs})`);
  }
  if (candidateRequests < stage.minRequests) {
    const left = stage.minRequests - candidateRequests;
    waits.push(`${left} more candidate request${left === 1 ? '' : 's'} (${candidateRequests} of minRequests ${stage.minRequests})`);
  }
  for (const r of readings) if (r.status === 'waiting') waits.push(`gate ${r.gate}: ${r.detail}`);
  if (waits.length > 0) return { move: 'stay', reason: `${describe(stage)} waits for ${waits.join('; ')}` };

  const passed = readings.map((r) => r.gate).join(', ');
  return {
    move: 'advance',
    reason: `${describe(stage)} done: ${(elapsedMs / 1000).toFixed(1)} s, ${candidateRequests} candidate requests${passed === '' ? '' : `, gates ${passed} pass`}`,
  };
}

function describe(stage: GatedStage): string {
  return stage.kind === 'shadow' ? 'shadow stage' : `canary ${stage.percent} % stage`;
}
