// The dispatcher and replica set over fake worker clients (no processes):
// which failures are retried where, the retry budget, attempt timeouts,
// breakers, outlier ejection with its cap, and panic routing.

import t, { type Test } from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { configSchema } from '../../../config/schema.ts';
import { ReplicaHealth } from '../../../gateway/health/replica-health.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { Replica } from '../../../gateway/replicas/replica.ts';
import { ReplicaSet } from '../../../gateway/replicas/replica-set.ts';
import { Breaker, BreakerClock } from '../../../gateway/resilience/circuit-breaker.ts';
import { RetryBudget } from '../../../gateway/resilience/retry-budget.ts';
import { Dispatcher } from '../../../gateway/upstream/dispatcher.ts';
import { isReplicaFault, UpstreamFailure } from '../../../gateway/upstream/failure.ts';
import type { ReplicaClient } from '../../../gateway/replicas/replica-client.ts';

/** How a fake replica answers: 'ok', a 5xx, a 4xx (client error), or never (until the attempt times out). */
type Behaviour = 'ok' | '5xx' | '4xx' | 'hang';

type FleetOptions = {
  behaviours: Behaviour[];
  budget?: { percent: number; minRetriesPerSecond: number };
  maxAttempts?: number;
  health?: Partial<ReturnType<typeof configSchema.parse>['health']>;
  breaker?: Partial<ReturnType<typeof configSchema.parse>['breaker']>;
};

function fleet(t: Test, o: FleetOptions) {
  const config = configSchema.parse({ health: o.health ?? {}, breaker: o.breaker ?? {} });
  const clock = new BreakerClock(1_000);
  const logs = captureLogger();
  const set = new ReplicaSet({
    random: () => 0.5,
    now: () => performance.now(),
    maxWaitingPerModel: 10,
    panicThresholdPercent: config.health.panicThresholdPercent,
    maxEjectionPercent: config.health.maxEjectionPercent,
    slowStart: { windowMs: config.health.slowStartWindowMs, minWeightPercent: config.health.slowStartMinWeightPercent },
    logger: logs.logger,
  });
  const calls: string[] = [];
  const replicas = o.behaviours.map((behaviour, i) => {
    const id = `r${i}`;
    const health = new ReplicaHealth({ breaker: new Breaker(id, config.breaker, clock, isReplicaFault), config: config.health, now: () => performance.now() });
    const state = { behaviour };
    const client = {
      infer: (_frame: Uint8Array, timeoutMs: number) => {
        calls.push(id);
        switch (state.behaviour) {
          case 'ok':
            return Promise.resolve(new Uint8Array([i]));
          case '5xx':
            return Promise.reject(new UpstreamFailure('replica', new InfergateError('GW_ERR_INJECTED_FAULT')));
          case '4xx':
            return Promise.reject(new UpstreamFailure('request', new InfergateError('GW_ERR_MODEL_EXECUTION')));
          case 'hang':
            return new Promise((_, reject) => setTimeout(() => reject(new UpstreamFailure('timeout', new InfergateError('GW_ERR_DEADLINE_EXCEEDED'))), timeoutMs));
        }
      },
      destroy: async () => {},
    } as unknown as ReplicaClient;
    const replica = new Replica({ id, address: { socketPath: `/nonexistent/${id}.sock` }, serving: [{ name: 'm' }], connect: () => client, health });
    set.add(replica);
    replica.transition('ready');
    return Object.assign(replica, { fake: state });
  });
  const budget = new RetryBudget({ percent: o.budget?.percent ?? 20, minRetriesPerSecond: o.budget?.minRetriesPerSecond ?? 10, windowMs: 10_000 }, () => performance.now());
  const dispatcher = new Dispatcher({ replicas: set, maxAttempts: o.maxAttempts ?? 3, attemptTimeoutMs: 30, retryBudget: budget, now: () => performance.now() });
  t.teardown(() => {
    for (const r of replicas) r.health.breaker.shutdown();
    clock.stop();
  });
  const budgets: number[] = [];
  const encode = (budgetMs: number) => (budgets.push(budgetMs), new Uint8Array(0));
  const send = (deadlineInMs = 5_000) => dispatcher.dispatch('m', undefined, encode, performance.now() + deadlineInMs);
  return { set, replicas, calls, budget, send, logs, budgets };
}

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (err: InfergateError) => err);

t.test('a 5xx is retried on another replica and counts against the one that failed', async (t) => {
  const { replicas, calls, send, budget } = fleet(t, { behaviours: ['5xx', 'ok'] });
  // Both idle: the pick is a tie; make the bad one the least loaded so it is tried first.
  replicas[1]!.outstanding = 1;
  const answer = await send();
  replicas[1]!.outstanding = 0;
  t.same([...answer], [1], 'answered by r1');
  t.same(calls, ['r0', 'r1']);
  t.equal(replicas[0]!.health.consecutiveFailures, 1);
  t.equal(budget.snapshot().retries, 1);
});

t.test('a client error is not retried and never counts against the replica', async (t) => {
  const { replicas, calls, send } = fleet(t, { behaviours: ['4xx'] });
  t.equal((await errorOf(send()))?.code, 'GW_ERR_MODEL_EXECUTION');
  t.same(calls, ['r0']);
  t.same([replicas[0]!.health.consecutiveFailures, replicas[0]!.health.breaker.snapshot().failures], [0, 0]);
});

t.test('an attempt that times out is retried elsewhere while the deadline allows', async (t) => {
  const { replicas, calls, send, budgets } = fleet(t, { behaviours: ['hang', 'ok'] });
  replicas[1]!.outstanding = 1;
  const answer = await send(2_000);
  replicas[1]!.outstanding = 0;
  t.same([...answer], [1]);
  t.same(calls, ['r0', 'r1']);
  // The retry's frame carries the time left after the first attempt's 30 ms timeout, not the first budget.
  t.equal(budgets.length, 2, 'a frame per attempt');
  t.ok(budgets[0]! <= 2_000 && budgets[0]! > 1_900, `first frame: the whole budget (${budgets[0]!.toFixed(1)} ms)`);
  // The first attempt timed out after 30 ms (a timer may fire a fraction of a millisecond early).
  t.ok(budgets[1]! <= budgets[0]! - 29, `the retry's frame: what is left (${budgets[1]!.toFixed(1)} ms)`);
});

t.test('when the retry budget is spent, the failure goes back to the client', async (t) => {
  const { send, budget } = fleet(t, { behaviours: ['5xx', '5xx', '5xx'], budget: { percent: 0, minRetriesPerSecond: 0 }, health: { consecutiveFailuresToEject: 0 } });
  const err = await errorOf(send());
  t.equal(err?.code, 'GW_ERR_INJECTED_FAULT', 'the first failure, not retried');
  t.equal(budget.snapshot().exhausted, 1);
});

t.test('consecutive failures eject a replica, but never more than maxEjectionPercent of the model', async (t) => {
  const { replicas, send, logs } = fleet(t, {
    behaviours: ['5xx', '5xx', 'ok', 'ok'],
    health: { consecutiveFailuresToEject: 2, maxEjectionPercent: 25 },
    breaker: { volumeThreshold: 1_000 },
  });
  for (let i = 0; i < 20; i++) await send();
  const ejected = replicas.filter((r) => r.health.ejected).map((r) => r.id);
  t.equal(ejected.length, 1, `one of four ejected (${ejected})`);
  const wouldEject = () => logs.lines().filter((line) => line.msg.startsWith('would eject'));
  t.ok(wouldEject().length > 0, 'the refused ejection is logged');
  t.match(wouldEject()[0], { level: 'warn', replica: String, model: String, ejected: 1, replicas: 4 }, 'with the replica, its model and the share ejected');
  const refused = replicas.reduce((n, r) => n + r.health.snapshot().ejectionsRefused, 0);
  t.ok(refused >= 1, `detected but not enforced, counted apart (${refused})`);
  t.ok(wouldEject().length <= refused, 'logged once per detection, not once per failure');
});

t.test('an open breaker takes a replica out of the choice while others are usable', async (t) => {
  const { replicas, calls, send } = fleet(t, { behaviours: ['5xx', 'ok', 'ok'], breaker: { volumeThreshold: 2, errorThresholdPercentage: 50 }, health: { consecutiveFailuresToEject: 0 } });
  replicas[1]!.outstanding = replicas[2]!.outstanding = 5;
  await send();
  await send();
  replicas[1]!.outstanding = replicas[2]!.outstanding = 0;
  t.equal(replicas[0]!.health.breaker.state, 'open');
  calls.length = 0;
  for (let i = 0; i < 10; i++) await send();
  t.notOk(calls.includes('r0'), 'r0 is never picked while open');
});

t.test('panic: with every breaker open, traffic still spreads over all ready replicas', async (t) => {
  const { replicas, calls, send, set } = fleet(t, { behaviours: ['5xx', '5xx'], breaker: { volumeThreshold: 1 }, health: { consecutiveFailuresToEject: 0 } });
  await errorOf(send());
  t.same(replicas.map((r) => r.health.breaker.state), ['open', 'open']);
  for (const r of replicas) r.fake.behaviour = 'ok';
  calls.length = 0;
  t.same(set.route('m', undefined).panic, true);
  const answer = await send();
  t.ok(answer.length === 1, 'answered although every breaker is open');
  t.equal(calls.length, 1);
});
