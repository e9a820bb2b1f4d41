// The access scenario end to end through the CLI with tiny durations (its own
// file: four gateways at once, as the cache scenario's). Its Redis is
// REDIS_URL or 127.0.0.1:6379; without one the keys+redis variant is skipped
// with a note, and the other three still run.

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const ACCESS: SmokeCase = {
  name: 'access',
  args: ['--connections', '4', '--duration', '0.3', '--warmup', '0', '--rounds', '2', '--quiet'],
  expect: (t, r) => {
    const redis = r.runs.some((x) => x.system === 'keys+redis');
    if (!redis) t.ok(r.notes.some((n) => n.startsWith('keys+redis skipped: no Redis answers')), 'the Redis variant skipped with a note');
    const variants = ['open', 'keys', 'keys+local', ...(redis ? ['keys+redis'] : [])];
    // roundPlan rotates the order by one each round.
    t.same(r.runs.map((x) => x.system), [...variants, ...variants.slice(1), variants[0]], 'every variant once per round, interleaved');
    t.same(r.runs.map((x) => x.round), [...variants.map(() => 1), ...variants.map(() => 2)]);
    t.ok(r.runs.every((x) => x.load.connections === 4 && x.model === 'classifier' && x.replicas === 2), 'classifier, 2 workers, --connections');
    t.ok(r.runs.every((x) => Object.keys(x.summary.statusCodes).join() === '200' && x.summary.errors === 0), 'every answer a 200');
    t.ok(r.runs.every((x) => x.cpu === undefined || x.cpu.usPerRequest.gateway !== undefined), 'gateway CPU per request recorded');
    for (const variant of variants.slice(1)) t.ok(r.highlights.some((h) => h.includes(`${variant}/open req/s`) && h.includes('gateway CPU')), `${variant} compared with open`);
    const medians = r.sections?.find((s) => s.includes('Medians of the rounds'));
    t.ok(medians !== undefined && variants.every((v) => medians.includes(`| ${v} | 4 | 2 |`)), 'a row of medians per variant');
    t.match(JSON.stringify(r.config.gatewayConfig), /"auth":\{"mode":"keys"/, 'the recorded gateway config has keys on');
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario access writes a valid report', (t) => smokeScenario(t, ACCESS, dirs));
