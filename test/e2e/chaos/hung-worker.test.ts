// Chaos: one of 3 workers is SIGSTOPped (alive, answering nothing) under a
// steady load with a 3 s client deadline. Attempts on it time out after
// upstream.attemptTimeoutMs and are retried on the others, so every request
// still completes within its deadline; its breaker opens (every call in its
// window fails) and active checks take it out of rotation; after SIGCONT the
// checks pass, the breaker's probe succeeds and it serves again.

import t from 'tap';
import { postJson, randomFloats, seededRandom, startGateway } from '../../helpers/gateway.ts';
import { percentile, steadyLoad, tally } from '../../helpers/steady-load.ts';

const DEADLINE_MS = 3_000;

t.test('a SIGSTOPped worker: requests complete via the others, its breaker opens, it rejoins after SIGCONT', async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 3 },
    upstream: { attemptTimeoutMs: 300 },
    breaker: { volumeThreshold: 3, rollingWindowMs: 1_000, rollingBuckets: 10, resetTimeoutMs: 1_000 },
    // Checks every 500 ms; restarts off, so the worker must rejoin by itself after SIGCONT.
    health: { checkIntervalMs: 500, checkTimeoutMs: 400, unhealthyThreshold: 3, healthyThreshold: 2, restartAfterFailedChecks: 0 },
    cache: { enabled: false },
  });
  const random = seededRandom(9);
  const bodies = Array.from({ length: 256 }, () => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] }));
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, bodies[0])).status, 200);

  const victim = gateway.replicas.replicas[1]!;
  await untilTrue(() => gateway.replicas.replicas.every((r) => r.state === 'ready'), 15_000);
  const breakerStates: string[] = [];
  victim.health.breaker.on('state', (to: string) => breakerStates.push(to));
  const load = steadyLoad({
    url,
    path: '/v2/models/classifier/infer',
    ratePerS: 150,
    durationMs: 14_000,
    headers: { 'x-infergate-timeout-ms': String(DEADLINE_MS) },
    body: (i) => bodies[i % bodies.length]!,
  });

  await sleep(2_000);
  process.kill(victim.pid!, 'SIGSTOP');
  const stoppedAtMs = performance.now();
  await untilTrue(() => victim.health.breaker.state === 'open', 8_000);
  const openedAfterMs = performance.now() - stoppedAtMs;
  await untilTrue(() => !victim.health.passesChecks, 8_000);
  const completedWhileStopped = victim.completed;
  await sleep(Math.max(0, 6_000 - (performance.now() - stoppedAtMs)));
  process.kill(victim.pid!, 'SIGCONT');
  const resumedAtMs = performance.now();
  await untilTrue(() => victim.health.usable && victim.completed > completedWhileStopped + 10, 6_000);
  const rejoinedAfterMs = performance.now() - resumedAtMs;
  const outcomes = await load.done;

  const counts = tally(outcomes);
  const latencies = outcomes.map((o) => o.latencyMs);
  t.comment(
    `outcomes ${JSON.stringify(counts)}; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(0)} ms; ` +
      `breaker opened ${openedAfterMs.toFixed(0)} ms after SIGSTOP (states ${breakerStates.join(' → ')}); rejoined ${rejoinedAfterMs.toFixed(0)} ms after SIGCONT; ` +
      `victim completed ${victim.completed}, failed ${victim.failed}; retry budget ${JSON.stringify(gateway.retryBudget.snapshot())}`,
  );
  t.same(counts, { 200: outcomes.length }, 'every request answered 200');
  t.ok(percentile(latencies, 100) < DEADLINE_MS, 'every request completed within its deadline');
  t.ok(breakerStates.includes('open'), 'the hung replica\'s breaker opened');
  t.equal(victim.generation, 0, 'it was not restarted (restarts are off here): it rejoined by itself');
  t.ok(victim.completed > completedWhileStopped + 10, 'after SIGCONT it serves again');
});

t.test('a hung worker is restarted after restartAfterFailedChecks failed checks', async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 2 },
    workers: { restartBackoffInitialMs: 100 },
    upstream: { attemptTimeoutMs: 300 },
    health: { checkIntervalMs: 300, checkTimeoutMs: 300, unhealthyThreshold: 2, restartAfterFailedChecks: 3 },
    cache: { enabled: false },
  });
  const victim = gateway.replicas.replicas[0]!;
  // A starting worker is the supervisor's (startupTimeoutMs); checks begin once it is ready.
  await untilTrue(() => victim.state === 'ready', 15_000);
  const oldPid = victim.pid!;
  process.kill(oldPid, 'SIGSTOP');
  await untilTrue(() => victim.generation === 1 && victim.state === 'ready', 15_000);
  t.not(victim.pid, oldPid, 'a new process serves the replica');
  t.throws(() => process.kill(oldPid, 0), 'the hung process is gone');
  const answer = await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.5) }] });
  t.equal(answer.status, 200);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls a condition of the gateway's own state (no fixed sleeps for outcomes); fails after `timeoutMs`. */
async function untilTrue(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await sleep(25);
  }
}

