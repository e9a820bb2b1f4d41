// Rollouts of new versions with real worker processes, under open-loop
// traffic (a request every 10 ms whatever the answers, half of them with an
// x-session-id): a candidate with other answers is rolled back by the
// agreement gate, a candidate that fails every request by the error gate, an
// identical one is promoted through shadow and canary stages (sticky per
// session), and a candidate worker killed mid-canary pauses the rollout with
// no client error. Conflicting calls get 409s, bad plans 400s naming the
// field.

import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { allReplicasReady, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { openLoopTraffic } from '../helpers/open-loop-traffic.ts';
import { classifierModel, failingClassifierModel, writeModel } from '../helpers/test-models.ts';
import { until } from '../helpers/until.ts';

const repository = mkdtempSync(join(tmpdir(), 'infergate-rollouts-'));
t.teardown(() => rmSync(repository, { recursive: true, force: true }));
writeModel(repository, 'classifier', '1', classifierModel(101));

const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 2 }, scaling: { maxWorkers: 6 } }, repository);
await allReplicasReady(gateway);

type Answer = { sentMs: number; receivedMs: number; status: number; version: string | undefined; session: string | undefined; code?: string };
const answers: Answer[] = [];
const random = seededRandom(16);
openLoopTraffic(t, 10, (sent) => {
  const session = sent % 2 === 0 ? `session-${(sent / 2) % 40}` : undefined;
  const sentMs = Date.now();
  const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] };
  return postJson(`${url}/v2/models/classifier/infer`, body, session ? { 'x-session-id': session } : {}).then(
    (a) => void answers.push({ sentMs, receivedMs: Date.now(), status: a.status, version: a.body.model_version, session, code: a.body.code }),
    () => void answers.push({ sentMs, receivedMs: Date.now(), status: 0, version: undefined, session }),
  );
});

type Status = { state: string; stage: { kind: string; percent: number } | null; paused: string | null; reason: string | null; gates: Array<{ gate: string; status: string; detail: string }>; history: Array<{ at: string; state: string; detail: string }> };
const current = async (): Promise<Status> => (await getJson(`${url}/admin/models/classifier/rollouts/current`)).body;
const start = (plan: unknown) => postJson(`${url}/admin/models/classifier/rollouts`, plan);
const ended = async (): Promise<Status> => {
  await until(async () => ['promoted', 'rolled-back'].includes((await current()).state), 60_000, 100);
  return current();
};

/** Stages short enough for a test, with gates that need a few requests each. */
const quickPlan = (version: string, canaryMs = 1_500) => ({
  version,
  shadow: { percent: 50, maxConcurrent: 4 },
  windowMs: 10_000,
  stages: [
    { kind: 'shadow', minDurationMs: 1_500, minRequests: 20 },
    { kind: 'canary', percent: 20, minDurationMs: canaryMs, minRequests: 10 },
    { kind: 'canary', percent: 50, minDurationMs: canaryMs, minRequests: 10 },
    { kind: 'promote' },
  ],
  // Latency on a loaded 2-core machine is noisy: the gate must only catch a gross regression here.
  gates: { errors: { minRequests: 10 }, latency: { minRequests: 20, maxP99Ratio: 5, toleranceMs: 100 }, agreement: { minComparisons: 10 } },
});

const failuresBetween = (fromMs: number, toMs: number) => answers.filter((a) => a.sentMs >= fromMs && a.sentMs <= toMs && a.status !== 200);
const logFile = process.env.INFERGATE_TEST_LOG;
const note = (line: string) => (logFile ? appendFileSync(logFile, `${line}\n`) : undefined);

t.test('bad plans are refused with the field named; no rollout yet is a 404', async (t) => {
  writeModel(repository, 'classifier', '3', classifierModel(102));
  const cases: Array<[string, unknown, RegExp]> = [
    ['no version', {}, /^.*version: expected the candidate version/],
    ['an unknown version', { version: '9' }, /version: model "classifier" has no version "9"/],
    ['the stable version', { version: '1' }, /version: 1 is already the stable version/],
    ['a percentage out of range', { version: '3', stages: [{ kind: 'canary', percent: 150 }, { kind: 'promote' }] }, /stages\[0\]\.percent: expected a percentage above 0 and below 100/],
    ['a stage without a gate', { version: '3', stages: [{ kind: 'shadow', gates: [] }, { kind: 'promote' }] }, /stages\[0\]\.gates: expected one or more of errors, latency, agreement/],
    ['no promote stage', { version: '3', stages: [{ kind: 'shadow' }] }, /stages\[0\]: the last stage must be \{"kind": "promote"\}/],
    ['an unknown gate setting', { version: '3', gates: { errors: { maxIncrease: 0.01, max: 1 } } }, /gates\.errors\.max: unknown field/],
  ];
  for (const [name, plan, message] of cases) {
    const answer = await start(plan);
    t.same([answer.status, answer.body.code], [400, 'GW_ERR_INVALID_ADMIN_REQUEST'], name);
    t.match(answer.body.error, message, `${name}: ${answer.body.error}`);
  }
  const none = await getJson(`${url}/admin/models/classifier/rollouts/current`);
  t.same([none.status, none.body.code], [404, 'GW_ERR_ROLLOUT_NOT_FOUND']);
  const abort = await fetch(`${url}/admin/models/classifier/rollouts/current`, { method: 'DELETE' });
  t.equal(abort.status, 404);
  t.equal((await postJson(`${url}/admin/models/nope/rollouts`, { version: '1' })).status, 404);
});

t.test('a candidate whose answers differ is rolled back by the agreement gate, and conflicting calls get 409', async (t) => {
  const startedMs = Date.now();
  const started = await start(quickPlan('3'));
  t.equal(started.status, 202, JSON.stringify(started.body).slice(0, 200));
  t.equal(started.body.state, 'preparing');
  const conflicts = [
    await start(quickPlan('3')),
    await fetch(`${url}/admin/models/classifier/replicas`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replicas: 3 }) }).then(async (r) => ({ status: r.status, body: await r.json() })),
    await postJson(`${url}/v2/repository/models/classifier/load`, {}),
  ];
  for (const conflict of conflicts) {
    t.same([conflict.status, conflict.body.code], [409, 'GW_ERR_ADMIN_CONFLICT']);
    t.match(conflict.body.error, /rollout of version 3 in progress/);
  }
  const status = await ended();
  const rolledBackMs = Date.parse(status.history.at(-1)!.at);
  note(`agreement rollback after ${rolledBackMs - startedMs} ms: ${status.reason}`);
  t.equal(status.state, 'rolled-back');
  t.match(status.reason, /gate agreement failed/);
  t.ok(rolledBackMs - startedMs < 30_000, `rolled back in ${rolledBackMs - startedMs} ms`);
  // Answers of requests sent once the rollback began come from stable alone.
  const rollingBackMs = Date.parse(status.history.find((e) => e.state === 'rolling-back')!.at);
  await until(() => answers.some((a) => a.sentMs > rolledBackMs + 500), 10_000);
  t.same(answers.filter((a) => a.sentMs > rollingBackMs && a.version === '3'), [], 'no answer from the candidate after the rollback began');
  const during = answers.filter((a) => a.sentMs >= startedMs && a.sentMs <= rolledBackMs);
  t.ok(failuresBetween(startedMs, rolledBackMs).length <= during.length * 0.001, `${failuresBetween(startedMs, rolledBackMs).length} of ${during.length} client requests failed`);
  await until(() => gateway.replicas.replicas.length === 2, 30_000);
  t.same(gateway.registry.status('classifier').map((v) => v.version), ['1'], 'the model serves version 1 alone again');
});

t.test('a candidate that fails every request is rolled back by the error gate; clients get the stable answer', async (t) => {
  writeModel(repository, 'classifier', '4', failingClassifierModel());
  const startedMs = Date.now();
  t.equal((await start(quickPlan('4'))).status, 202);
  const status = await ended();
  const rolledBackMs = Date.parse(status.history.at(-1)!.at);
  note(`error rollback after ${rolledBackMs - startedMs} ms: ${status.reason}`);
  t.equal(status.state, 'rolled-back');
  t.match(status.reason, /gate errors failed/);
  t.ok(rolledBackMs - startedMs < 30_000, `rolled back in ${rolledBackMs - startedMs} ms`);
  const during = answers.filter((a) => a.sentMs >= startedMs && a.sentMs <= rolledBackMs);
  t.same(failuresBetween(startedMs, rolledBackMs), [], `none of ${during.length} client requests failed`);
  t.notOk(during.some((a) => a.version === '4'), 'no client got an answer from the failing candidate');
  await until(() => gateway.replicas.replicas.length === 2, 30_000);
});

t.test('an identical candidate is promoted through shadow and canary stages; canary traffic is sticky per session', async (t) => {
  writeModel(repository, 'classifier', '2', classifierModel(101));
  const startedMs = Date.now();
  t.equal((await start(quickPlan('2'))).status, 202);
  const stages = new Set<string>();
  await until(async () => {
    const s = await current();
    if (s.stage) stages.add(`${s.stage.kind} ${s.stage.percent}`);
    return s.state === 'promoted' || s.state === 'rolled-back';
  }, 60_000, 100);
  const status = await current();
  t.equal(status.state, 'promoted', status.reason ?? '');
  t.same(
    status.history.map((e) => e.state),
    ['preparing', 'shadow', 'canary', 'canary', 'promoting', 'promoted'],
    'every stage in order',
  );
  t.ok(stages.has('canary 20') && stages.has('canary 50'), `stages seen: ${[...stages].join(', ')}`);
  const promotingMs = Date.parse(status.history.find((e) => e.state === 'promoting')!.at);
  const endMs = Date.parse(status.history.at(-1)!.at);
  note(`promoted in ${endMs - startedMs} ms`);
  // Until promotion, a session that sent x-session-id and reached the candidate stayed on it (as the percentage
  // grows, sessions move from stable to the candidate, never back).
  const bySession = new Map<string, string[]>();
  const canary = answers.filter((a) => a.session && a.version && a.sentMs >= startedMs && a.receivedMs < promotingMs).sort((a, b) => a.sentMs - b.sentMs);
  for (const a of canary) (bySession.get(a.session!) ?? bySession.set(a.session!, []).get(a.session!)!).push(a.version!);
  const backToStable = [...bySession].filter(([, versions]) => versions.lastIndexOf('1') > versions.indexOf('2') && versions.includes('2')).map(([s]) => s);
  t.same(backToStable, [], `${bySession.size} sessions: none went back from the candidate to stable`);
  const onCandidate = [...bySession.values()].filter((v) => v.includes('2')).length;
  t.ok(onCandidate > 0 && onCandidate < bySession.size, `${onCandidate} of ${bySession.size} sessions reached the candidate`);
  t.same(failuresBetween(startedMs, endMs), [], 'no client request failed');
  // Version 2 serves every request that names none; the `stable` label names it; version 1 is retired.
  await until(() => answers.some((a) => a.sentMs > endMs + 300), 10_000);
  const after = answers.filter((a) => a.sentMs > endMs);
  t.same([...new Set(after.map((a) => a.version))], ['2']);
  t.same((await getJson(`${url}/v2/models/classifier/versions/stable`)).body.versions, ['2'], 'the stable label moved');
  t.same(gateway.registry.status('classifier').map((v) => [v.version, v.state]), [['2', 'READY']]);
  t.equal((await getJson(`${url}/v2/models/classifier/versions/1`)).status, 404, 'version 1 retired');
  await until(() => gateway.replicas.replicas.length === 2, 30_000);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /infergate_rollouts_total\{model="classifier",outcome="promoted"\} 1/);
  t.match(metrics, /infergate_rollouts_total\{model="classifier",outcome="rolled_back"\} 2/);
});

t.test('a candidate worker killed mid-canary: no client error, the rollout pauses, then ends with a clear reason', async (t) => {
  writeModel(repository, 'classifier', '5', classifierModel(101));
  const startedMs = Date.now();
  t.equal((await start(quickPlan('5', 60_000))).status, 202);
  await until(async () => (await current()).stage?.kind === 'canary', 30_000, 100);
  const candidate = gateway.replicas.replicas.find((r) => r.serving.some((s) => s.name === 'classifier' && s.versions?.join() === '5'));
  t.ok(candidate?.pid, 'the candidate worker runs');
  process.kill(candidate!.pid!, 'SIGKILL');
  let paused: string | null = null;
  await until(async () => {
    const s = await current();
    paused ??= s.paused;
    return paused !== null || s.state === 'rolled-back';
  }, 10_000, 20);
  t.match(paused ?? (await current()).reason, /candidate replica/, `paused: ${paused}`);
  // The supervisor restarts it and the rollout resumes, unless the canary requests it failed (answered by stable)
  // or those that waited for the restart failed a gate; still running, it is aborted.
  await until(async () => {
    const s = await current();
    return (s.paused === null && s.state === 'canary') || !['preparing', 'shadow', 'canary'].includes(s.state);
  }, 30_000, 100);
  if ((await current()).state === 'canary') t.equal((await fetch(`${url}/admin/models/classifier/rollouts/current`, { method: 'DELETE' })).status, 202, 'aborted');
  const status = await ended();
  note(`killed candidate: ${status.reason}`);
  t.equal(status.state, 'rolled-back');
  t.match(status.reason, /aborted by DELETE|gate (latency|errors) failed/);
  t.ok(status.history.some((e) => /paused: no candidate replica is ready/.test(e.detail)), 'the pause is in the history');
  const endMs = Date.parse(status.history.at(-1)!.at);
  t.same(failuresBetween(startedMs, endMs), [], 'no client request failed');
  t.same(gateway.registry.status('classifier').map((v) => v.version), ['2'], 'version 2 stays stable');
});
