// The chaos scenario end to end through the CLI against real gateway and
// worker processes, with tiny durations: every event happens in order, each
// run has its per-second timeline, and the report has its tables and charts.
// (Its own file: the other scenarios' smoke test is long enough already.)

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

// 2 s of chaos (events at a fifteenth of their 30 s times) and 1 s with a 5xx worker.
const CHAOS: SmokeCase = {
  name: 'chaos',
  args: ['--duration', '2', '--replicas', '2', '--rate', '100', '--open-connections', '4', '--warmup', '0', '--quiet'],
  expect: (t, r) => {
    t.same(r.runs.map((x) => x.system), ['gateway chaos', 'gateway, worker-1 answers 5xx']);
    const [chaos, faulty] = r.runs.map((x) => x.eventTimeline!);
    t.same(chaos!.events.map((e) => e.kind), ['kill', 'kill', 'kill', 'stop', 'cont', 'burst', 'burst-end', 'sigterm'], 'every event, in order');
    t.equal(chaos!.seconds.length, 2, 'one row per second');
    t.ok(chaos!.drain, 'the drain is counted');
    t.equal(faulty!.seconds.length, 1);
    t.same(faulty!.events.map((e) => e.kind), ['fault']);
    t.ok(r.highlights.some((h) => h.startsWith('time to recover')), 'recovery times');
    t.equal(r.sections?.length, 2, 'a per-second table per run');
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario chaos writes a valid report', (t) => smokeScenario(t, CHAOS, dirs));
