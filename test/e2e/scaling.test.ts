// Scaling a model's replicas while it serves, with real worker processes and
// open-loop traffic (a request every 10 ms, whatever the answers): 2 → 6
// replicas (new processes start, warm up and join), then 6 → 1 (replicas are
// taken off the model, their requests finish, their processes stop). No
// request fails at any point. Bad scale calls get 400s naming the field.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { allReplicasReady, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { openLoopTraffic } from '../helpers/open-loop-traffic.ts';
import { until } from '../helpers/until.ts';

const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 2 }, batching: { enabled: false }, scaling: { maxStepReplicas: 2, maxWorkers: 8 } });
await allReplicasReady(gateway);
const random = seededRandom(15);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

type ScalingView = { desiredReplicas: number; replicas: Record<string, string[]>; scaling: boolean; lastActions: Array<{ kind: string; replicas: string[]; outcome: string }> };
const scalingOf = async (): Promise<ScalingView> => (await getJson(`${url}/admin/models/classifier`)).body.scaling;
const put = async (payload: unknown, model = 'classifier') => {
  const res = await fetch(`${url}/admin/models/${model}/replicas`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as { code?: string; error?: string; [field: string]: unknown } };
};
const readyReplicas = async (): Promise<string[]> => (await scalingOf()).replicas.ready ?? [];
const settledAt = async (count: number): Promise<boolean> => {
  const view = await scalingOf();
  return !view.scaling && (view.replicas.ready ?? []).length === count && Object.keys(view.replicas).length === 1;
};

// Open loop: the offered rate does not slow down when answers do.
const statuses: number[] = [];
const traffic = openLoopTraffic(t, 10, () =>
  postJson(`${url}/v2/models/classifier/infer`, body()).then(
    (answer) => void statuses.push(answer.status),
    () => void statuses.push(0),
  ),
);

t.test('bad scale calls are refused with the field named, and change nothing', async (t) => {
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['not JSON', '{replicas', 400, /body: not JSON/],
    ['not a number', { replicas: 'six' }, 400, /replicas: expected a number/],
    ['missing', {}, 400, /replicas: expected a number/],
    ['an unknown field', { replicas: 2, replica: 3 }, 400, /replica: unknown field/],
    ['fractional', { replicas: 1.5 }, 400, /replicas: expected a whole number/],
    ['negative', { replicas: -1 }, 400, /replicas: expected a whole number/],
    ['above scaling.maxWorkers', { replicas: 9 }, 400, /scaling.maxWorkers 8/],
  ];
  for (const [name, payload, status, message] of cases) {
    const answer = await put(payload);
    t.same([answer.status, answer.body.code], [status, 'GW_ERR_INVALID_ADMIN_REQUEST'], name);
    t.match(answer.body.error, message, `${name}: ${answer.body.error}`);
  }
  const unknown = await put({ replicas: 2 }, 'nope');
  t.same([unknown.status, unknown.body.code], [404, 'GW_ERR_MODEL_NOT_FOUND']);
  t.same((await scalingOf()).desiredReplicas, 2, 'the desired count is still the running one');
});

t.test('2 → 6: new workers start, warm up and take traffic; 6 → 1: the others let go; no request fails', async (t) => {
  const up = await put({ replicas: 6 });
  t.equal(up.status, 202);
  t.match(up.body, { model: 'classifier', desiredReplicas: 6, currentReplicas: 2, nextStep: { load: [], spawn: ['worker-2', 'worker-3'], release: [] } }, 'the plan: two new processes first (maxStepReplicas 2)');
  t.ok(await until(() => settledAt(6), 120_000), `6 replicas ready: ${JSON.stringify(await scalingOf())}`);
  // New replicas ramp up (slow start): within seconds each has served some of the traffic.
  const servedBy = (): string[] => gateway.replicas.replicas.filter((r) => r.completed > 0).map((r) => r.id);
  t.ok(await until(async () => servedBy().length === 6, 30_000), `traffic reaches the new replicas: ${servedBy().join(', ')}`);
  const spawned = (await scalingOf()).lastActions.filter((a) => a.kind === 'spawn');
  t.same(spawned.map((a) => a.replicas.length), [2, 2], 'in steps of 2');

  const down = await put({ replicas: 1 });
  t.equal(down.status, 202);
  t.ok(await until(() => settledAt(1), 120_000), `1 replica left: ${JSON.stringify(await scalingOf())}`);
  t.same(await readyReplicas(), ['worker-0'], 'the first worker stays');
  t.equal(gateway.supervisor.replicas.length, 1, 'the other processes stopped (they hosted nothing else)');

  await new Promise((resolve) => setTimeout(resolve, 500));
  await traffic.stop();
  t.ok(statuses.length > 200, `${statuses.length} requests sent meanwhile`);
  t.same(statuses.filter((s) => s !== 200), [], 'every one answered 200');
});

t.test('a worker that hosts other models lets go of one and loads it again, and keeps serving the others', async (t) => {
  const shared = await startGateway(t, { models: { include: ['classifier', 'ranker'], defaultReplicas: 2 }, batching: { enabled: false } });
  await allReplicasReady(shared.gateway);
  const pids = shared.gateway.supervisor.replicas.map((r) => r.pid);
  let running = true;
  const classifierStatuses: number[] = [];
  const traffic = Promise.all(
    Array.from({ length: 3 }, async () => {
      while (running) classifierStatuses.push((await postJson(`${shared.url}/v2/models/classifier/infer`, body())).status);
    }),
  );
  const rankerScaling = async (): Promise<ScalingView> => (await getJson(`${shared.url}/admin/models/ranker`)).body.scaling;
  const scaleRanker = (replicas: number) => fetch(`${shared.url}/admin/models/ranker/replicas`, { method: 'PUT', body: JSON.stringify({ replicas }) }).then((r) => r.status);
  const rankerAt = async (ids: string[]): Promise<boolean> => {
    const view = await rankerScaling();
    return !view.scaling && JSON.stringify(view.replicas) === JSON.stringify({ ready: ids });
  };

  t.equal(await scaleRanker(1), 202);
  t.ok(await until(() => rankerAt(['worker-0']), 60_000), `ranker on worker-0 only: ${JSON.stringify(await rankerScaling())}`);
  t.same(shared.gateway.supervisor.replicas.find((r) => r.id === 'worker-1')?.models, ['classifier'], 'worker-1 keeps the classifier');
  t.equal(await scaleRanker(2), 202);
  t.ok(await until(() => rankerAt(['worker-0', 'worker-1']), 60_000), `ranker back on both: ${JSON.stringify(await rankerScaling())}`);
  t.same((await rankerScaling()).lastActions.map((a) => `${a.kind} ${a.replicas.join(',')} ${a.outcome}`), ['release worker-1 done', 'load worker-1 done']);
  const ranked = await postJson(`${shared.url}/v2/models/ranker/infer`, {
    inputs: [
      { name: 'features', datatype: 'FP32', shape: [1, 16], data: randomFloats(random, 16) },
      { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] },
    ],
  });
  t.equal(ranked.status, 200, `the ranker serves: ${JSON.stringify(ranked.body).slice(0, 200)}`);

  // config.yaml's count applies on reload, beyond the running workers too.
  appendFileSync(join(shared.gateway.config.models.repository, 'ranker', 'config.yaml'), '\nreplicas: 3\n');
  t.equal((await postJson(`${shared.url}/v2/repository/models/ranker/load`, {})).status, 200);
  t.ok(await until(() => rankerAt(['worker-0', 'worker-1', 'worker-2']), 60_000), `a reload with replicas: 3 starts a third worker: ${JSON.stringify(await rankerScaling())}`);

  running = false;
  await traffic;
  t.same(shared.gateway.supervisor.replicas.slice(0, 2).map((r) => r.pid), pids, 'no worker process restarted');
  t.ok(classifierStatuses.length > 20, `${classifierStatuses.length} classifier requests meanwhile`);
  t.same(classifierStatuses.filter((s) => s !== 200), [], 'all answered 200');
});
