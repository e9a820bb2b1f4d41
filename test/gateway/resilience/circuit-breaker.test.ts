import { once } from 'node:events';
import t from 'tap';
import { Breaker, BreakerClock, BreakerOpenError, BreakerTimeoutError, type BreakerConfig } from '../../../gateway/resilience/circuit-breaker.ts';

class Fault extends Error {}
class ClientMistake extends Error {}

const config: BreakerConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 4,
  resetTimeoutMs: 30,
  rollingWindowMs: 60_000,
  rollingBuckets: 10,
};

function breakerUnderTest(overrides: Partial<BreakerConfig> = {}) {
  const clock = new BreakerClock(60_000);
  const breaker = new Breaker('r0', { ...config, ...overrides }, clock, (err) => err instanceof Fault);
  t.teardown(() => {
    breaker.shutdown();
    clock.stop();
  });
  return breaker;
}

const fail = (err: Error) => () => Promise.reject(err);
const succeed = () => Promise.resolve('ok');

/** The error a promise rejects with (tap's `rejects` does not match by class). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The breaker's next state change; opossum's reset timer is unref'd, so hold the loop open meanwhile. */
async function nextState(breaker: Breaker): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await once(breaker, 'state');
  } finally {
    clearInterval(keepAlive);
  }
}

async function runAll(breaker: Breaker, actions: Array<() => Promise<unknown>>): Promise<void> {
  for (const action of actions) await breaker.run(action).catch(() => undefined);
}

t.test('stays closed below the volume threshold, however many of those calls fail', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, [fail(new Fault()), fail(new Fault()), fail(new Fault())]);
  t.equal(breaker.state, 'closed');
  t.ok(breaker.admits());
});

t.test('opens once the error share passes the threshold with enough volume', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, [succeed, fail(new Fault()), fail(new Fault()), fail(new Fault())]);
  t.equal(breaker.state, 'open');
  t.notOk(breaker.admits());
  let ran = false;
  const err = await rejection(
    breaker.run(async () => {
      ran = true;
    }),
  );
  t.ok(err instanceof BreakerOpenError);
  t.notOk(ran, 'an open breaker does not run the action');
  t.equal(breaker.snapshot().opened, 1);
});

t.test('failures that are not the protected side\'s fault never open it', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, Array.from({ length: 20 }, () => fail(new ClientMistake())));
  t.equal(breaker.state, 'closed');
  t.equal(breaker.snapshot().failures, 0);
  t.ok((await rejection(breaker.run(fail(new ClientMistake())))) instanceof ClientMistake, 'the caller still sees the error');
});

t.test('half-open lets exactly one probe through; its success closes the breaker', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, [fail(new Fault()), fail(new Fault()), fail(new Fault()), fail(new Fault())]);
  t.equal(breaker.state, 'open');
  await nextState(breaker);
  t.equal(breaker.state, 'half-open');
  t.ok(breaker.admits());

  let release!: () => void;
  const probe = breaker.run(() => new Promise<void>((resolve) => (release = resolve)));
  t.notOk(breaker.admits(), 'the probe is taken');
  t.ok((await rejection(breaker.run(succeed))) instanceof BreakerOpenError, 'a second call while the probe runs is rejected');
  release();
  await probe;
  t.equal(breaker.state, 'closed');
});

t.test('a failed probe opens it again', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, [fail(new Fault()), fail(new Fault()), fail(new Fault()), fail(new Fault())]);
  await nextState(breaker);
  await breaker.run(fail(new Fault())).catch(() => undefined);
  t.equal(breaker.state, 'open');
  t.equal(breaker.snapshot().opened, 2);
});

t.test('a call timeout counts as a failure when configured', async (t) => {
  const breaker = breakerUnderTest({ callTimeoutMs: 5, volumeThreshold: 1 });
  const slow = () => new Promise((resolve) => setTimeout(resolve, 100));
  t.ok((await rejection(breaker.run(slow))) instanceof BreakerTimeoutError);
  t.equal(breaker.state, 'open');
});

t.test('reset closes it with an empty window', async (t) => {
  const breaker = breakerUnderTest();
  await runAll(breaker, [fail(new Fault()), fail(new Fault()), fail(new Fault()), fail(new Fault())]);
  t.equal(breaker.state, 'open');
  breaker.reset();
  t.equal(breaker.state, 'closed');
  t.equal(breaker.snapshot().calls, 0);
  await runAll(breaker, [fail(new Fault())]);
  t.equal(breaker.state, 'closed', 'one failure after a reset is below the volume threshold again');
});

t.test('the shared clock rotates the window of every breaker', async (t) => {
  const clock = new BreakerClock(60_000);
  const a = new Breaker('a', { ...config, rollingBuckets: 2 }, clock, () => true);
  const b = new Breaker('b', { ...config, rollingBuckets: 2 }, clock, () => true);
  t.teardown(() => {
    a.shutdown();
    b.shutdown();
    clock.stop();
  });
  await runAll(a, [succeed]);
  await runAll(b, [succeed]);
  clock.emitter.emit('rotate');
  clock.emitter.emit('rotate');
  t.equal(a.snapshot().calls, 0, 'a: calls rotated out');
  t.equal(b.snapshot().calls, 0, 'b: calls rotated out');
});
