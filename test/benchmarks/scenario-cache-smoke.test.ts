// The cache scenario end to end through the CLI with tiny durations (its own
// file: four gateways with the heavy model would push the other scenarios'
// file past tap's per-file timeout on a loaded 2-core machine). Its Redis is
// REDIS_URL or 127.0.0.1:6379; without one the scenario runs on the
// in-process tier and says so.

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const CACHE: SmokeCase = {
  name: 'cache',
  args: ['--connections', '4', '--duration', '0.3', '--warmup', '0', '--rounds', '2', '--quiet'],
  expect: (t, r) => {
    const systems = ['cache 0% hits', 'cache 50% hits', 'cache 90% hits', 'cache 100% hits', 'hello'];
    t.same(r.runs.map((x) => x.system), [...systems, ...systems], 'every system once per round, interleaved');
    t.same(r.runs.map((x) => x.round), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    t.same(r.runs.map((x) => x.body.hitRatio), [undefined, 0.5, 0.9, 1, 1, undefined, 0.5, 0.9, 1, 1]);
    t.ok(r.highlights.some((h) => /100%\/0% [\d.]+× \(median of 2 rounds/.test(h)), 'a 100%/0% ratio paired by round');
    t.ok(r.sections?.some((s) => s.includes('Medians of the rounds')), 'a table of medians');
    t.ok(r.highlights.some((h) => h.includes('hello ceiling')), "the load generator's ceiling from the same run");
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario cache writes a valid report', (t) => smokeScenario(t, CACHE, dirs));
