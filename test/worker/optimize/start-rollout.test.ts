// The plan `optimize --rollout` posts: the --rollout-plan file's, with the new
// version and the report's agreement thresholds, which the file may not set.
// Posting it to a real gateway is test/e2e/optimize-rollout.test.ts.

import { join } from 'node:path';
import t from 'tap';
import { rolloutPlan, RolloutStartError } from '../../../worker/optimize/start-rollout.ts';

const gate = { maxAbsDiff: 0.0265, minArgmaxAgreement: 0.984, minComparisons: 484 };

t.test('no file: the version and the gate alone (the gateway fills in the defaults)', async (t) => {
  t.same(await rolloutPlan(undefined, '4', gate), { version: '4', gates: { agreement: gate } });
});

t.test('a file: its stages and other gates kept, the version and agreement gate added', async (t) => {
  const dir = t.testdir({ 'plan.json': JSON.stringify({ windowMs: 5000, stages: [{ kind: 'promote' }], gates: { errors: { minRequests: 5 } } }) });
  t.same(await rolloutPlan(join(dir, 'plan.json'), '4', gate), { windowMs: 5000, stages: [{ kind: 'promote' }], version: '4', gates: { errors: { minRequests: 5 }, agreement: gate } });
});

t.test('a file that sets what the command sets, or is no plan, is refused naming it', async (t) => {
  const dir = t.testdir({
    'version.json': '{"version": "3"}',
    'agreement.json': '{"gates": {"agreement": {"maxAbsDiff": 1}}}',
    'list.json': '[]',
    'broken.json': '{',
  });
  const cases: Array<[string, RegExp]> = [
    ['version.json', /version\.json: version is the new version's, leave it out$/],
    ['agreement.json', /agreement\.json: gates\.agreement comes from the report, leave it out$/],
    ['list.json', /list\.json: expected a JSON object \(a rollout plan\)$/],
    ['broken.json', /^--rollout-plan .*broken\.json: /],
    ['missing.json', /^--rollout-plan .*missing\.json: ENOENT$/],
  ];
  for (const [name, message] of cases) await t.rejects(rolloutPlan(join(dir, name), '4', gate), new RolloutStartError(''), name).then(() => t.rejects(rolloutPlan(join(dir, name), '4', gate), { message }, name));
});
