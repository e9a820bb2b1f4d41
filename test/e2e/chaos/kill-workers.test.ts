// Chaos: 3 workers under a steady 200 req/s for 20 s while one worker is
// kill -9ed every 3 s (rotating). In-flight work on a killed worker is retried
// on another (transport failures are the replica's fault, retryable); the
// supervisor restarts the process; no client request may fail.

import t from 'tap';
import { postJson, randomFloats, seededRandom, startGateway } from '../../helpers/gateway.ts';
import { percentile, steadyLoad, tally } from '../../helpers/steady-load.ts';

t.test('kill -9 of a worker every 3 s under 200 req/s: zero failed requests', async (t) => {
  const { gateway, url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 3 },
    workers: { restartBackoffInitialMs: 100, restartBackoffMaxMs: 1_000 },
    cache: { enabled: false },
  });
  const random = seededRandom(5);
  const bodies = Array.from({ length: 256 }, () => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] }));
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, bodies[0])).status, 200);

  const load = steadyLoad({ url, path: '/v2/models/classifier/infer', ratePerS: 200, durationMs: 20_000, body: (i) => bodies[i % bodies.length]! });
  const kills: string[] = [];
  for (let round = 0; round < 6; round++) {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const victim = gateway.replicas.replicas.filter((r) => r.pid !== null && r.state === 'ready')[round % 3];
    if (!victim?.pid) continue;
    process.kill(victim.pid, 'SIGKILL');
    kills.push(`${victim.id}@${round * 3 + 3}s`);
  }
  const outcomes = await load.done;

  const counts = tally(outcomes);
  const latencies = outcomes.map((o) => o.latencyMs);
  const restarts = gateway.replicas.replicas.reduce((n, r) => n + r.generation, 0);
  t.comment(`kills: ${kills.join(', ')}; outcomes ${JSON.stringify(counts)}; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(0)} ms; restarts ${restarts}; retry budget ${JSON.stringify(gateway.retryBudget.snapshot())}`);
  t.ok(outcomes.length >= 3_900, `${outcomes.length} requests sent at 200 req/s`);
  t.ok(kills.length >= 5, `${kills.length} workers killed`);
  t.same(counts, { 200: outcomes.length }, 'every request answered 200');
  t.ok(restarts >= kills.length, 'every killed worker was restarted');
});
