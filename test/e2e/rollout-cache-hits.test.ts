// A rollout sees every request of its model, cache hits included: a body sent
// again is answered from the cache (the raw-body index answers such repeats
// without decoding them otherwise), and still counts in the stable version's
// readings and is shadowed to the candidate. Otherwise traffic that repeats
// itself, common behind a cache, would starve the gates and the stages.

import t from 'tap';
import { allReplicasReady, getJson, postJson, startGateway } from '../helpers/gateway.ts';
import { classifierModel, writeModel } from '../helpers/test-models.ts';
import { until } from '../helpers/until.ts';

const repository = t.testdir({});
writeModel(repository, 'classifier', '1', classifierModel(101));
writeModel(repository, 'classifier', '2', classifierModel(202));
const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 1 }, scaling: { maxWorkers: 3 } }, repository);
await allReplicasReady(gateway);

type Status = { state: string; readings: { stable: { requests: number }; agreement: { comparisons: number } }; shadow: { sent: number; inFlight: number }; paused: string | null; history: unknown[] };
const current = async (): Promise<Status> => (await getJson(`${url}/admin/models/classifier/rollouts/current`)).body;

t.test('forty sends of one body during a shadow stage: 39 cache hits, all 40 counted and shadowed', async (t) => {
  // A shadow stage that outlasts the test, and gates that cannot fail (the two versions answer differently, which
  // the agreement gate would roll back): the serving version (2) is stable, version 1 the candidate.
  const started = await postJson(`${url}/admin/models/classifier/rollouts`, {
    version: '1',
    shadow: { percent: 100, maxConcurrent: 64 },
    stages: [{ kind: 'shadow', minDurationMs: 600_000, minRequests: 100_000, gates: ['errors'] }, { kind: 'promote' }],
    gates: { errors: { maxIncrease: 1 }, agreement: { maxAbsDiff: 1e9, minArgmaxAgreement: 0 } },
  });
  t.equal(started.status, 202);
  t.teardown(() => fetch(`${url}/admin/models/classifier/rollouts/current`, { method: 'DELETE' }));
  t.ok(await until(async () => (await current()).state === 'shadow', 30_000), 'the candidate is shadowed');

  const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.5) }] };
  const cache: string[] = [];
  for (let i = 0; i < 40; i++) {
    const answer = await postJson(`${url}/v2/models/classifier/infer`, body);
    t.equal(answer.status, 200);
    cache.push(answer.headers.get('x-infergate-cache') ?? '');
  }
  t.same(cache, ['miss', ...new Array(39).fill('hit')], 'answered from the cache after the first');
  t.ok(await until(async () => (await current()).shadow.inFlight === 0, 10_000), 'the shadow copies ran');
  const status = await current();
  const diagnosis = { paused: status.paused, shadow: status.shadow, history: status.history };
  t.equal(status.readings.stable.requests, 40, 'every request counts for the stable version', diagnosis);
  t.equal(status.shadow.sent, 40, 'every stable answer, hits included, went to the candidate too');
  t.equal(status.readings.agreement.comparisons, 40, 'and was compared');
});
