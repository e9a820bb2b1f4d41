// Systems measured in interleaved rounds: all started once and kept running
// (Harness.withSystems), then every round runs each system at each load in
// the order of roundPlan (rounds.ts: A B at every load, B A the next round).
// Each run is recorded with its round, for medians and paired ratios.

import type { Harness, SystemSettings } from './harness.ts';
import type { LoadSpec } from './results.ts';
import { roundPlan } from './rounds.ts';
import type { SystemName } from './systems.ts';

/** The part of the Harness this needs (a test passes a fake). */
export type RoundsHarness = Pick<Harness, 'withSystems' | 'measure' | 'aborted'>;

export async function measureInterleaved(
  h: RoundsHarness,
  systems: ReadonlyArray<readonly [SystemName, SystemSettings]>,
  loads: readonly LoadSpec[],
  rounds: number,
): Promise<void> {
  await h.withSystems(systems, async (targets) => {
    for (const step of roundPlan(rounds, loads.length, targets.length)) {
      await h.measure(targets[step.system]!, loads[step.load]!, { round: step.round });
      if (h.aborted) return;
    }
  });
}
