// The autoscaler with real workers. On: a burst of concurrent clients makes
// it scale the model up (to its maxReplicas), and once the burst ends it
// scales back down to minReplicas; no request fails. Dry-run: it decides the
// same way and reports it, and the fleet does not change.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { allReplicasReady, demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/until.ts';

const random = seededRandom(27);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

async function autoscaledGateway(t: { teardown(fn: () => unknown): void }, mode: 'on' | 'dry-run') {
  const repository = await demoRepository(t);
  writeFileSync(
    join(repository, 'classifier', 'config.yaml'),
    `versionPolicy: all\nminReplicas: 1\nmaxReplicas: 3\nautoscaling:\n  mode: ${mode}\n  targetOngoingRequests: 2\n  upscaleDelayMs: 1000\n  downscaleDelayMs: 3000\n  cooldownMs: 1000\n  maxStepUp: 2\n  maxStepDown: 2\n`,
  );
  const started = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 1 }, batching: { enabled: false }, scaling: { autoscaleIntervalMs: 250 } }, repository);
  await allReplicasReady(started.gateway);
  return started;
}

/** Closed-loop clients until `stop()`; every status kept. */
function burst(url: string, clients: number): { statuses: number[]; stop: () => Promise<void> } {
  let running = true;
  const statuses: number[] = [];
  const loops = Promise.all(
    Array.from({ length: clients }, async () => {
      while (running) statuses.push((await postJson(`${url}/v2/models/classifier/infer`, body())).status);
    }),
  );
  return {
    statuses,
    stop: async () => {
      running = false;
      await loops;
    },
  };
}

t.test('on: scales up under a burst, back down after it, and no request fails', async (t) => {
  const { gateway, url } = await autoscaledGateway(t, 'on');
  const ready = (): number => gateway.supervisor.replicas.filter((r) => r.state === 'ready' && r.serves('classifier')).length;
  const load = burst(url, 24);
  t.ok(await until(() => ready() === 3, 60_000), `3 replicas under the burst (${ready()} ready)`);
  const status = (await getJson(`${url}/admin/models/classifier`)).body.scaling;
  t.match(status.autoscaler, { mode: 'on', lastDecision: { reason: String } }, 'the last decision is shown');
  await load.stop();
  t.ok(await until(() => ready() === 1 && gateway.supervisor.replicas.length === 1, 60_000), `back to 1 replica after the burst (${ready()} ready)`);
  t.ok(load.statuses.length > 100, `${load.statuses.length} requests in the burst`);
  t.same(load.statuses.filter((s) => s !== 200), [], 'all answered 200');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /infergate_autoscaler_desired_replicas\{model="classifier",mode="on"\} 1/, 'the decision is a metric');
});

t.test('dry-run: decides and reports, and changes nothing', async (t) => {
  const { gateway, url } = await autoscaledGateway(t, 'dry-run');
  const load = burst(url, 24);
  const decidedUp = async (): Promise<boolean> => ((await getJson(`${url}/admin/models/classifier`)).body.scaling.autoscaler?.lastDecision?.desiredReplicas ?? 0) > 1;
  t.ok(await until(decidedUp, 60_000), 'it would scale up');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await load.stop();
  t.equal(gateway.supervisor.replicas.length, 1, 'still one worker');
  t.same((await getJson(`${url}/admin/models/classifier`)).body.scaling.desiredReplicas, 1, 'the desired count is untouched');
  t.same(load.statuses.filter((s) => s !== 200), []);
});
