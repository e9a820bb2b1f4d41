// The batching scenario end to end through the CLI with tiny durations: the
// gateway with batching off and on, on the classifier and the heavy model,
// beside the in-process reference sessions it samples (their loading makes it
// the slowest smoke scenario, hence a file of its own).

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const BATCHING: SmokeCase = {
  name: 'batching',
  args: ['--systems', 'gateway', '--connections', '4', '--duration', '0.3', '--warmup', '0', '--quiet'],
  expect: (t, r) => {
    t.same([...new Set(r.runs.map((x) => `${x.model} ${x.system}`))], [
      'classifier gateway batching off',
      'classifier gateway batching on',
      'heavy gateway batching off',
      'heavy gateway batching on',
    ]);
    t.ok(r.highlights.some((h) => h.includes('on/off')), 'an on/off ratio');
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario batching writes a valid report', (t) => smokeScenario(t, BATCHING, dirs));
