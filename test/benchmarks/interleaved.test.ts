// Interleaved rounds: every system started once, then each round runs every
// system at every load in the round plan's order, each run recorded with its
// round; an interruption stops the rounds.

import t from 'tap';
import type { MeasureExtras, SystemSettings, Target } from '../../benchmarks/lib/harness.ts';
import { measureInterleaved, type RoundsHarness } from '../../benchmarks/lib/interleaved.ts';
import type { LoadSpec, RunRecord } from '../../benchmarks/lib/results.ts';
import type { SystemName } from '../../benchmarks/lib/systems.ts';

function fakeHarness(abortAfter = Infinity): RoundsHarness & { started: string[]; measured: string[] } {
  const started: string[] = [];
  const measured: string[] = [];
  return {
    started,
    measured,
    get aborted() {
      return measured.length >= abortAfter;
    },
    async withSystems(systems: ReadonlyArray<readonly [SystemName, SystemSettings]>, fn: (targets: Target[]) => Promise<void>) {
      const targets = systems.map(([name, settings]) => {
        started.push(settings.label ?? name);
        return { label: settings.label ?? name } as Target;
      });
      await fn(targets);
    },
    async measure(target: Target, load: LoadSpec, extras: MeasureExtras = {}) {
      measured.push(`${extras.round} ${target.label} ${load.connections}`);
      return {} as RunRecord;
    },
  };
}

const loads: LoadSpec[] = [16, 64].map((connections) => ({ mode: 'closed', connections, pipelining: 1, durationS: 1 }));
const systems = [['gateway', {}], ['baseline', { label: 'base' }]] as const;

t.test('all systems start once; each round runs both at each load, alternating, the first rotating', async (t) => {
  const h = fakeHarness();
  await measureInterleaved(h, systems, loads, 2);
  t.same(h.started, ['gateway', 'base']);
  t.same(h.measured, ['1 gateway 16', '1 base 16', '1 gateway 64', '1 base 64', '2 base 16', '2 gateway 16', '2 base 64', '2 gateway 64']);
});

t.test('an interruption ends the rounds after the run in progress', async (t) => {
  const h = fakeHarness(3);
  await measureInterleaved(h, systems, loads, 5);
  t.equal(h.measured.length, 3);
});
