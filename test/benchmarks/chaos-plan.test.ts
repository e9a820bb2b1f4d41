// The chaos plan: the events in order at their reference times for a 30 s
// run, scaled with the duration, kills rotating over the workers, and the
// burst as a rate schedule the open loop follows.

import t from 'tap';
import { actionLabel, chaosPlan } from '../../benchmarks/lib/chaos-plan.ts';
import { rateAt } from '../../benchmarks/lib/rate-schedule.ts';

t.test('the reference layout for a 30 s run over 3 workers', async (t) => {
  const plan = chaosPlan({ durationS: 30, ratePerS: 1000, replicas: 3 });
  t.same(
    plan.events.map((e) => [e.atS, actionLabel(e.action)]),
    [
      [4, 'kill -9 worker-0'],
      [7, 'kill -9 worker-1'],
      [10, 'kill -9 worker-2'],
      [13, 'SIGSTOP worker-0'],
      [18, 'SIGCONT worker-0'],
      [21, 'burst to 2000/s'],
      [25, 'back to 1000/s'],
      [28.5, 'SIGTERM gateway'],
    ],
  );
  t.same(plan.schedule, [{ fromS: 21, ratePerS: 2000 }, { fromS: 25, ratePerS: 1000 }]);
  const load = { ratePerS: 1000, schedule: plan.schedule };
  t.same([0, 20.9, 21, 24.9, 25, 29].map((s) => rateAt(load, s)), [1000, 1000, 2000, 2000, 1000, 1000]);
});

t.test('times scale with the duration and keep their order', async (t) => {
  const plan = chaosPlan({ durationS: 3, ratePerS: 100, replicas: 3 });
  t.same(plan.events.map((e) => e.atS), [0.4, 0.7, 1, 1.3, 1.8, 2.1, 2.5, 2.85]);
  t.ok(plan.events.every((e) => e.atS < 3), 'everything happens during the run');
});

t.test('kills rotate over however many workers there are; the drain and the burst factor are options', async (t) => {
  const two = chaosPlan({ durationS: 30, ratePerS: 10, replicas: 2, burstFactor: 3, drain: false });
  t.same(
    two.events.map((e) => actionLabel(e.action)),
    ['kill -9 worker-0', 'kill -9 worker-1', 'kill -9 worker-0', 'SIGSTOP worker-1', 'SIGCONT worker-1', 'burst to 30/s', 'back to 10/s'],
  );
  t.same(chaosPlan({ durationS: 30, ratePerS: 10, replicas: 1 }).events.filter((e) => e.action.kind === 'kill').map((e) => actionLabel(e.action)), ['kill -9 worker-0', 'kill -9 worker-0', 'kill -9 worker-0']);
});
