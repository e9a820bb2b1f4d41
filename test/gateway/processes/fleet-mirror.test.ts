// The leader's mirror of its fleet and a front's registry brought in line
// with it: models added, rescanned and removed, unloads, the stable pin, a
// version reloaded from a new file, and the rollout split a front applies.

import t from 'tap';
import type { WorkerModelsBody } from '../../../common/wire.ts';
import { ModelRegistry } from '../../../gateway/models/registry.ts';
import { applyMirror, mirroredTraffic, mirrorOf, type FleetMirror } from '../../../gateway/processes/fleet-mirror.ts';
import type { Replica } from '../../../gateway/replicas/replica.ts';
import { splitsToCandidate } from '../../../gateway/rollout/traffic-split.ts';
import { model, replica, report, sig } from '../../helpers/registry-fixtures.ts';

const view = (id: string, body: WorkerModelsBody) => replica(id, 'ready', body);
/** The parts of a replica the mirror reads. */
const local = (id: string, state: string, body: WorkerModelsBody | null) => ({ id, state, report: body, address: { socketPath: `/run/${id}.sock` } }) as unknown as Replica;

t.test('the mirror: ready and starting workers (a ready one with its report), pins, unloads, files served, splits', async (t) => {
  const registry = new ModelRegistry([model('a', ['1', '2']), model('b', ['1'])]);
  const body = report([sig('a', '1'), sig('a', '2'), sig('b', '1')]);
  registry.learn('w0', body);
  registry.pinStable('a', '1');
  registry.beginUnload('b');
  registry.observe([view('w0', body)]);
  const mirror = mirrorOf({
    registry,
    localReplicas: [local('w0', 'ready', body), local('w1', 'starting', null), local('w2', 'draining', body), local('w3', 'stopped', null)],
    split: (name) => (name === 'a' ? { stable: '1', candidate: '2', percent: 25 } : undefined),
  });
  t.same(mirror.workers, [
    { id: 'w0', address: { socketPath: '/run/w0.sock' }, report: body },
    { id: 'w1', address: { socketPath: '/run/w1.sock' } },
  ], 'a worker the leader drains or lost is not mirrored');
  t.same(mirror.models.map((m) => m.name), ['a', 'b']);
  t.same(mirror.stable, { a: '1' });
  t.same(mirror.unloading, ['b']);
  t.same(mirror.fingerprints, { 'a/1': 'fp-a-1', 'a/2': 'fp-a-2', 'b/1': 'fp-b-1' });
  t.same(mirror.rollouts, { a: { stable: '1', candidate: '2', percent: 25 } });
  t.same(JSON.parse(JSON.stringify(mirror)), mirror, 'plain data: it crosses the IPC channel as JSON');
});

t.test("a front's registry follows the mirror", async (t) => {
  const front = new ModelRegistry([model('a', ['1']), model('gone', ['1'])]);
  const old = report([sig('a', '1')]);
  front.learn('w0', old);
  front.observe([view('w0', old)]);
  const mirror: FleetMirror = {
    workers: [],
    models: [model('a', ['1', '2']), model('new', ['1'])],
    unloading: ['new'],
    stable: { a: '1' },
    fingerprints: { 'a/1': 'fp-a-1-reloaded' },
    rollouts: {},
  };
  applyMirror(mirror, front);
  const reloaded = report([sig('a', '1', 'fp-a-1-reloaded'), sig('a', '2')]);
  t.same(front.learn('w0', reloaded), [], 'the file the leader reloaded is learned anew, not refused as another file');
  front.observe([view('w0', reloaded)]);
  t.same(front.models.map((m) => m.name), ['a', 'new'], 'a model the leader removed is gone; one it added is there');
  t.same(front.status('a').map((v) => v.version), ['1', '2'], 'a rescanned model has its new versions');
  t.equal(front.resolve('a', undefined).version, '1', 'the pin holds over the latest version');
  t.equal(front.status('new')[0]!.state, 'UNLOADING');

  applyMirror({ ...mirror, unloading: [], stable: {} }, front);
  front.observe([view('w0', reloaded)]);
  t.equal(front.status('new')[0]!.state, 'LOADING', 'an unload the leader undid (a load again) is undone');
  t.equal(front.resolve('a', undefined).version, '2', 'unpinned: the version policy decides again');
});

t.test('a mirrored split sends the same sessions to the candidate as the leader does', async (t) => {
  const traffic = mirroredTraffic({ stable: '1', candidate: '2', percent: 30 }, () => 0.5);
  t.equal(traffic.stable, '1');
  t.equal(traffic.candidate, '2');
  for (const key of ['user-1', 'user-2', 'user-3', 'user-17', 'session-abc']) t.equal(traffic.toCandidate(key), splitsToCandidate(30, key, Math.random), key);
  t.equal(mirroredTraffic({ stable: '1', candidate: '2', percent: 0 }, () => 0).toCandidate(undefined), false, 'no share in a shadow stage');
});
