// The cache scenario end to end through the CLI with tiny durations (its own
// file: four gateways with the heavy model would push the other scenarios'
// file past tap's per-file timeout on a loaded 2-core machine). Its Redis is
// REDIS_URL or 127.0.0.1:6379; without one the scenario runs on the
// in-process tier and says so.

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const CACHE: SmokeCase = {
  name: 'cache',
  args: ['--connections', '4', '--duration', '0.3', '--warmup', '0', '--quiet'],
  expect: (t, r) => {
    t.same(r.runs.map((x) => x.system), ['cache 0% hits', 'cache 50% hits', 'cache 90% hits', 'cache 100% hits', 'hello']);
    t.same(r.runs.map((x) => x.body.hitRatio), [undefined, 0.5, 0.9, 1, 1]);
    t.ok(r.highlights.some((h) => h.includes('100%/0%')), 'a 100%/0% ratio');
    t.ok(r.highlights.some((h) => h.includes('hello ceiling')), "the load generator's ceiling from the same run");
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario cache writes a valid report', (t) => smokeScenario(t, CACHE, dirs));
