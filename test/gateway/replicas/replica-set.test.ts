// The replica set as a changing membership, over fake replicas: replicas join
// and leave under load without losing a request, waiting requests are woken
// by a replica that joins, and the balancer's panic mode and slow start act
// on the set's members.

import t from 'tap';
import { RetryBudget } from '../../../gateway/resilience/retry-budget.ts';
import { Dispatcher } from '../../../gateway/upstream/dispatcher.ts';
import type { Replica } from '../../../gateway/replicas/replica.ts';
import { fakeFleet, type FakeFleet } from '../../helpers/fake-fleet.ts';
import { encodeFrame, type InferRequestHeader } from '../../../common/wire.ts';

const FRAME = encodeFrame<InferRequestHeader>({ model: 'm', version: '1' }, [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Uint8Array(8) }]);

function dispatcherOver(fleet: FakeFleet): Dispatcher {
  const now = () => performance.now();
  return new Dispatcher({ replicas: fleet.set, maxAttempts: 2, attemptTimeoutMs: 5_000, retryBudget: new RetryBudget({ percent: 20, minRetriesPerSecond: 10, windowMs: 10_000 }, now), now });
}

t.test('added and removed are announced, and a removed replica takes no new request', async (t) => {
  const fleet = fakeFleet();
  t.teardown(fleet.stop);
  const events: string[] = [];
  fleet.set.on('added', (r) => events.push(`added ${r.id}`));
  fleet.set.on('removed', (r) => events.push(`removed ${r.id}`));
  const [a, b] = fleet.startTogether(['a', 'b']);
  const taken = await fleet.set.acquire('m', '1', new Map(), 100);
  fleet.set.remove(taken.replica);
  fleet.set.remove(taken.replica);
  t.same(events, ['added a', 'added b', `removed ${taken.replica.id}`], 'each change once');
  const other = taken.replica === a ? b : a;
  for (let i = 0; i < 20; i++) t.equal(fleet.set.pick('m', '1')?.replica, other, 'only the member left is picked');
  fleet.set.release(taken.replica, null);
  t.equal(taken.replica.completed, 1, 'a request in flight on a removed replica still completes');
});

t.test('membership changes under load lose no request', async (t) => {
  const fleet = fakeFleet({ inferMs: 2 });
  t.teardown(fleet.stop);
  const dispatcher = dispatcherOver(fleet);
  const members: Replica[] = fleet.startTogether(['r0', 'r1']);
  let running = true;
  const outcomes = { ok: 0, failed: [] as string[] };
  const client = async (): Promise<void> => {
    while (running) {
      try {
        await dispatcher.dispatch('m', '1', () => FRAME, performance.now() + 2_000);
        outcomes.ok++;
      } catch (err) {
        outcomes.failed.push((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: 16 }, client);
  // Churn: every few ms one replica leaves and a new one joins, so the set never empties.
  for (let round = 2; round < 12; round++) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    const leaving = members.shift()!;
    fleet.set.remove(leaving);
    members.push(fleet.join(`r${round}`));
  }
  await new Promise((resolve) => setTimeout(resolve, 15));
  running = false;
  await Promise.all(clients);
  t.same(outcomes.failed, [], 'every request answered');
  t.ok(outcomes.ok > 100, `${outcomes.ok} requests`);
  const servedByLast = members.map((m) => fleet.served.get(m.id) ?? 0);
  t.ok(servedByLast.every((n) => n > 0), `the replicas that joined last took traffic: ${servedByLast.join(', ')}`);
  t.same(fleet.set.replicas.map((r) => r.id), members.map((r) => r.id), 'the set holds exactly the members left');
  t.ok(fleet.set.replicas.every((r) => r.outstanding === 0), 'nothing left outstanding');
});

t.test('a request waiting for a replica is served by one that joins', async (t) => {
  const fleet = fakeFleet();
  t.teardown(fleet.stop);
  const dispatcher = dispatcherOver(fleet);
  const waiting = dispatcher.dispatch('m', '1', () => FRAME, performance.now() + 2_000);
  await new Promise((resolve) => setTimeout(resolve, 10));
  fleet.join('late');
  await waiting;
  t.equal(fleet.served.get('late'), 1);
});

t.test('panic mode: with too few usable members, traffic spreads over every ready one', async (t) => {
  const fleet = fakeFleet({ panicThresholdPercent: 50, health: { consecutiveFailuresToEject: 1, maxEjectionPercent: 100 } });
  t.teardown(fleet.stop);
  const [a, b, c] = fleet.startTogether(['a', 'b', 'c']);
  const replicaFault = { replicaFault: true };
  const fail = (r: Replica): void => {
    r.outstanding++;
    fleet.set.release(r, replicaFault);
  };
  fail(a!);
  t.same(fleet.set.route('m', '1'), { replicas: [b, c], panic: false }, 'one of three ejected: the usable two');
  fail(b!);
  t.same(fleet.set.route('m', '1'), { replicas: [a, b, c], panic: true }, 'one of three usable (< 50 %): every ready one');
  const picked = new Set(Array.from({ length: 60 }, () => fleet.set.pick('m', '1')!.replica.id));
  t.same([...picked].sort(), ['a', 'b', 'c'], 'the ejected ones are picked too');
});

t.test('slow start: a member that joins a serving fleet ramps up; the first members share evenly', async (t) => {
  let nowMs = 0;
  const fleet = fakeFleet({ now: () => nowMs, health: { slowStartWindowMs: 1_000, slowStartMinWeightPercent: 10 } });
  t.teardown(fleet.stop);
  const [first, second] = fleet.startTogether(['first', 'second']) as [Replica, Replica];
  t.same([fleet.set.weightOf(first), fleet.set.weightOf(second)], [1, 1], 'started together: full shares');
  const late = fleet.join('late');
  t.equal(fleet.set.weightOf(late), 0.1, 'joined a serving fleet: the minimum share');
  nowMs = 500;
  t.equal(fleet.set.weightOf(late), 0.55, 'half way through the window');
  // Weighted least-connections compares (outstanding + 1) / weight.
  t.not(fleet.set.pick('m', '1')!.replica, late, 'all idle: 1 / 0.55 > 1 / 1, an old member is picked');
  first.outstanding = 1;
  second.outstanding = 1;
  t.equal(fleet.set.pick('m', '1')!.replica, late, 'the others hold one each: 1 / 0.55 < 2 / 1, the newcomer is picked');
  first.outstanding = 0;
  second.outstanding = 0;
  nowMs = 1_000;
  t.equal(fleet.set.weightOf(late), 1, 'a full share after the window');
  first.transition('exit');
  first.transition('restart');
  first.transition('ready');
  t.equal(fleet.set.weightOf(first), 0.1, 'a restarted member ramps up again');
  t.equal(fleet.set.snapshots().find((s) => s.id === 'first')!.health.weight, 0.1, 'the admin view shows the weight');
});

t.test('a replica set aside (loading a model) takes no request while another can serve, after the ones on it finish', async (t) => {
  const fleet = fakeFleet();
  t.teardown(fleet.stop);
  const [a, b] = fleet.startTogether(['a', 'b']) as [Replica, Replica];
  // One request on a, still running when a is set aside: the load waits for it.
  while (true) {
    const taken = await fleet.set.acquire('m', '1', new Map(), 100);
    if (taken.replica === a) break;
    fleet.set.release(taken.replica, null);
  }
  const steps: string[] = [];
  let capacityWakes = 0;
  fleet.set.onCapacityChange(() => capacityWakes++);
  const loading = fleet.set.aside(a, 5_000, async () => {
    steps.push(`load starts with ${a.outstanding} outstanding on a`);
    for (let i = 0; i < 20; i++) t.equal(fleet.set.pick('m', '1')?.replica, b, 'the other replica takes every request meanwhile');
    return 'loaded';
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(steps, [], 'the load waits for the request already on a');
  t.equal(fleet.set.pick('m', '1')?.replica, b, 'and a takes no new one while it waits');
  fleet.set.release(a, null);
  t.equal(await loading, 'loaded');
  t.same(steps, ['load starts with 0 outstanding on a']);
  t.notOk(a.aside, 'back in routing');
  t.ok(capacityWakes > 0, 'waiting batchers are told capacity came back');
  const picked = new Set<Replica>();
  for (let i = 0; i < 50; i++) picked.add(fleet.set.pick('m', '1')!.replica);
  t.same(picked.size, 2, 'both replicas take requests again');

  // Alone, a replica set aside still serves: its models have nowhere else to go.
  fleet.set.remove(b);
  await fleet.set.aside(a, 5_000, async () => t.equal(fleet.set.pick('m', '1')?.replica, a, 'the only replica of a model keeps serving it'));
  // The drain wait is bounded: a request that never ends does not hold the load forever.
  await fleet.set.acquire('m', '1', new Map(), 100);
  const startedMs = performance.now();
  await fleet.set.aside(a, 30, async () => undefined);
  t.ok(performance.now() - startedMs < 2_000, 'the load went ahead after the drain wait');
});
