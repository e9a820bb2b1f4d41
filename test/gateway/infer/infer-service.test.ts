// The infer service without HTTP: a call of tensors goes through the cache
// (miss, hit, joined, bypass), the batcher or the dispatcher, over a fleet of
// fake replicas; the result says how it was served. Errors carry a
// protocol-neutral kind.

import t, { type Test } from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import type { RepositoryModel } from '../../../common/model-repository.ts';
import { answerFromFrame, decodeFrame, encodeFrame, frameOfAnswer, type FrameBytes, type InferAnswer, type InferRequestHeader, type InferResponseHeader, type Tensor } from '../../../common/wire.ts';
import { configSchema } from '../../../config/schema.ts';
import { ModelBatching } from '../../../gateway/batching/model-batching.ts';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';
import { ResultCache } from '../../../gateway/cache/result-cache.ts';
import { InferService, type InferCall, type InferTarget, type RolloutTraffic } from '../../../gateway/infer/infer-service.ts';
import { ModelRegistry } from '../../../gateway/models/registry.ts';
import { RetryBudget } from '../../../gateway/resilience/retry-budget.ts';
import { newRequestRecord, type RequestRecord } from '../../../gateway/telemetry/request-record.ts';
import { Dispatcher } from '../../../gateway/upstream/dispatcher.ts';
import { fakeFleet, SIGNATURE } from '../../helpers/fake-fleet.ts';

function service(t: Test, settings: { batching: boolean; inferMs?: number }) {
  const config = configSchema.parse({ batching: { enabled: settings.batching, maxQueueDelayMs: 5 } });
  const now = () => performance.now();
  const fleet = fakeFleet({ inferMs: settings.inferMs ?? 0 });
  t.teardown(fleet.stop);
  // The batcher's timer does not hold the process open (a server does): this test's own handle does.
  const keepAlive = setInterval(() => {}, 1_000);
  t.teardown(() => clearInterval(keepAlive));
  const model: RepositoryModel = { name: 'm', versions: [{ version: '1', path: '/repo/m/1/model.onnx', missing: false }], config: {} };
  const registry = new ModelRegistry([model]);
  const replicas = fleet.startTogether(['r0', 'r1']);
  for (const r of replicas) registry.learn(r.id, r.report!);
  registry.observe(fleet.set.replicas);
  const dispatcher = new Dispatcher({ replicas: fleet.set, maxAttempts: 2, attemptTimeoutMs: 5_000, retryBudget: new RetryBudget({ percent: 20, minRetriesPerSecond: 10, windowMs: 10_000 }, now), now });
  const batching = new ModelBatching({ defaults: config.batching, requestTimeoutMs: 5_000, maxResponseBytes: 1 << 20, modelOf: () => model, dispatcher, capacity: fleet.set, now });
  t.teardown(() => batching.destroy(new InfergateError('GW_ERR_SHUTTING_DOWN')));
  const cache = memoryCache(now);
  const infer = new InferService({ registry, batching, cache, dispatcher, maxResponseBytes: 1 << 20, now });
  const call = (values: number[], extra: Partial<InferCall> = {}): InferCall => ({
    target: infer.target('m', undefined) as InferTarget, // m is READY: no wait
    tensors: [fp32('x', [values.length / 2, 2], values)],
    outputs: undefined,
    deadlineMs: now() + 5_000,
    priority: 1,
    bypassCache: false,
    requestId: undefined,
    record: undefined,
    ...extra,
  });
  return { infer, call, fleet };
}

function fp32(name: string, shape: number[], values: number[]): Tensor {
  return { name, datatype: 'FP32', shape, data: new Uint8Array(new Float32Array(values).buffer) };
}

function values(answer: InferAnswer): number[] {
  const data = answer.tensors[0]!.data;
  return [...new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))];
}

const servedCount = (served: Map<string, number>): number => [...served.values()].reduce((a, b) => a + b, 0);

t.test('a call is computed once, then answered from the cache, and a bypass computes it again', async (t) => {
  const { infer, call, fleet } = service(t, { batching: false });
  const first = await infer.infer(call([1, 2]));
  t.same(values(first.answer), [2, 4], 'the replica doubled the input');
  t.same([first.cache, first.batched], ['miss', false]);
  t.type(first.cacheKey, 'string');
  const second = await infer.infer(call([1, 2]));
  t.same([second.cache, second.batched, second.cacheKey], ['hit', false, first.cacheKey]);
  t.same(values(second.answer), [2, 4]);
  t.same(values((await infer.stored(first.cacheKey!))!), [2, 4], 'the stored answer can be read without computing');
  const fresh = await infer.infer(call([1, 2], { bypassCache: true }));
  t.equal(fresh.cache, 'bypass');
  t.equal(servedCount(fleet.served), 2, 'computed for the miss and the bypass only');
});

t.test('identical calls in flight share one computation', async (t) => {
  const { infer, call, fleet } = service(t, { batching: false, inferMs: 20 });
  const results = await Promise.all([1, 2, 3, 4].map(() => infer.infer(call([5, 6]))));
  t.same(results.map((r) => r.cache).sort(), ['joined', 'joined', 'joined', 'miss']);
  t.equal(servedCount(fleet.served), 1);
});

t.test('a batchable model runs concurrent calls in batches, each answered with its own rows', async (t) => {
  const { infer, call, fleet } = service(t, { batching: true, inferMs: 20 });
  const calls = Array.from({ length: 8 }, (_, i) => call([i, i + 0.5]));
  const results = await Promise.all(calls.map((c) => infer.infer(c)));
  results.forEach((r, i) => t.same(values(r.answer), [2 * i, 2 * i + 1], `call ${i} got its own row`));
  t.ok(results.every((r) => r.batched && r.cache === 'miss'), 'every call went through the batcher');
  t.ok(servedCount(fleet.served) < 8, `8 calls in ${servedCount(fleet.served)} inferences`);
});

t.test('errors have protocol-neutral kinds', async (t) => {
  const { infer, call } = service(t, { batching: false });
  t.throws(() => infer.target('nope', undefined), { code: 'GW_ERR_MODEL_NOT_FOUND', kind: 'not_found' });
  t.throws(() => infer.target('m', '9'), { code: 'GW_ERR_VERSION_NOT_FOUND', kind: 'not_found' });
  await t.rejects(infer.infer(call([1, 2], { deadlineMs: performance.now() - 1 })), { code: 'GW_ERR_DEADLINE_EXCEEDED', kind: 'deadline_exceeded' });
});

// While a rollout runs: a fake traffic split (stable 1, candidate 2) decides
// the legs, and a scripted dispatcher on a hand-advanced clock answers or
// fails each version, so the legs' latencies and deadlines are exact.

type Dispatched = { version: string | undefined; deadlineMs: number; header: InferRequestHeader };

function fakeTraffic(toCandidate: boolean[], candidate = '2') {
  const keys: Array<string | undefined> = [];
  const settled: Array<[boolean, number | undefined, boolean]> = [];
  const shadowed: Array<{ call: InferCall; answer: InferAnswer }> = [];
  const traffic: RolloutTraffic = {
    stable: '1',
    candidate,
    toCandidate: (key) => {
      keys.push(key);
      return toCandidate.shift() ?? false;
    },
    settled: (isCandidate, latencyMs, failed) => void settled.push([isCandidate, latencyMs, failed]),
    shadow: (call, answer) => void shadowed.push({ call, answer }),
  };
  return { traffic, keys, settled, shadowed };
}

function rolloutService(t: Test, traffic: RolloutTraffic, options: { readyVersions?: string[] } = {}) {
  const clock = { ms: 1_000 };
  const now = () => clock.ms;
  const script: { latencyMs: number; fail: Map<string, InfergateError> } = { latencyMs: 7, fail: new Map() };
  const dispatched: Dispatched[] = [];
  // Echoes the inputs as output `y`, under the version asked for, `latencyMs` later on the clock.
  const dispatcher = {
    dispatch: async (model: string, version: string | undefined, encode: (budgetMs: number) => FrameBytes, deadlineMs: number): Promise<Uint8Array> => {
      const { header, tensors } = decodeFrame<InferRequestHeader>(encode(deadlineMs - clock.ms) as Uint8Array);
      dispatched.push({ version, deadlineMs, header });
      clock.ms += script.latencyMs;
      const failure = script.fail.get(version ?? '');
      if (failure) throw failure;
      return encodeFrame<InferResponseHeader>({ model, version: version ?? '?' }, tensors.map((tensor) => ({ ...tensor, name: 'y' })));
    },
  } as unknown as Dispatcher;
  const model: RepositoryModel = {
    name: 'm',
    versions: ['1', '2'].map((version) => ({ version, path: `/repo/m/${version}/model.onnx`, missing: false })),
    config: {},
  };
  const registry = new ModelRegistry([model]);
  // A version no replica has reported yet is LOADING, without a signature: it cannot be resolved.
  const ready = new Set(options.readyVersions ?? ['1', '2']);
  const signatures = [SIGNATURE, { ...SIGNATURE, version: '2', fingerprint: 'fp-m-2' }].filter((s) => ready.has(s.version));
  const report = { models: signatures, unavailable: [], warnings: [] };
  registry.learn('r0', report);
  registry.pinStable('m', '1');
  registry.observe([{ id: 'r0', state: 'ready', report, runs: (_name, version) => ready.has(version) }]);
  const config = configSchema.parse({ batching: { enabled: false } });
  const batching = new ModelBatching({
    defaults: config.batching,
    requestTimeoutMs: 5_000,
    maxResponseBytes: 1 << 20,
    modelOf: () => model,
    dispatcher,
    capacity: { routable: () => [], onCapacityChange: () => () => {} },
    now,
  });
  t.teardown(() => batching.destroy(new InfergateError('GW_ERR_SHUTTING_DOWN')));
  const cache = memoryCache(now);
  const asked: string[] = [];
  const rollouts = { traffic: (name: string) => (asked.push(name), name === 'm' ? traffic : undefined) };
  const infer = new InferService({ registry, batching, cache, dispatcher, maxResponseBytes: 1 << 20, rollouts, now });
  const target = (version: string | undefined, sessionKey?: string): InferTarget => {
    const targeted = infer.target('m', version, sessionKey);
    if (targeted instanceof Promise) throw new Error('every version is resolved: no wait');
    return targeted;
  };
  const call = (on: InferTarget, extra: Partial<InferCall> = {}): InferCall => ({
    target: on,
    tensors: [fp32('x', [1, 2], [1, 2])],
    outputs: undefined,
    deadlineMs: clock.ms + 5_000,
    priority: 1,
    bypassCache: false,
    requestId: undefined,
    record: undefined,
    ...extra,
  });
  return { infer, target, call, clock, script, dispatched, asked };
}

/** A record as the front leaves it before infer(): the version its target named. */
function recordFor(target: InferTarget): RequestRecord {
  const record = newRequestRecord('req-1', 'rest', 0, undefined);
  record.model = 'm';
  record.version = target.model.version;
  return record;
}

t.test('rollout: the split picks a leg by session key; a request naming a version is no leg', async (t) => {
  const fake = fakeTraffic([true, false]);
  const { target, asked } = rolloutService(t, fake.traffic);
  const candidate = target(undefined, 'user-7');
  t.equal(candidate.model.version, '2');
  t.equal(candidate.leg?.candidate, true);
  t.equal(candidate.leg?.traffic, fake.traffic);
  t.equal(candidate.leg?.stableTarget, target('1'), 'the stable target to fall back on');
  const stable = target(undefined);
  t.equal(stable.model.version, '1');
  t.equal(stable.leg?.candidate, false);
  t.same(fake.keys, ['user-7', undefined], 'the session key goes to the split');

  const named = target('2', 'user-7');
  t.equal(named.model.version, '2');
  t.equal(named.leg, undefined);
  t.equal(fake.keys.length, 2, 'a named version asks no split');
  t.same(asked, ['m', 'm'], 'the rollout is looked up for requests naming no version only');
});

t.test('rollout: a leg that answers settles with its latency; a stable answer is offered to the shadow', async (t) => {
  const fake = fakeTraffic([false, true]);
  const { infer, target, call, dispatched } = rolloutService(t, fake.traffic);
  const stableCall = call(target(undefined));
  const stable = await infer.infer(stableCall);
  t.equal(stable.answer.version, '1');
  t.same(fake.settled, [[false, 7, false]]);
  t.equal(fake.shadowed.length, 1);
  t.equal(fake.shadowed[0]!.call, stableCall);
  t.equal(fake.shadowed[0]!.answer, stable.answer);

  const candidate = await infer.infer(call(target(undefined)));
  t.equal(candidate.answer.version, '2');
  t.same(fake.settled, [[false, 7, false], [true, 7, false]]);
  t.equal(fake.shadowed.length, 1, 'a candidate answer is not shadowed');
  t.same(dispatched.map((d) => d.version), ['1', '2']);
});

t.test('rollout: a candidate leg that fails before the deadline is answered by stable', async (t) => {
  const fake = fakeTraffic([true]);
  const { infer, target, call, script, dispatched } = rolloutService(t, fake.traffic);
  script.fail.set('2', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', 'candidate crashed'));
  const on = target(undefined);
  const record = recordFor(on);
  t.equal(record.version, '2');
  const result = await infer.infer(call(on, { record }));
  t.equal(result.answer.version, '1');
  t.same(values(result.answer), [1, 2]);
  t.same(dispatched.map((d) => d.version), ['2', '1']);
  t.same(fake.settled, [[true, 7, true]], 'the candidate is judged on its failure');
  t.equal(fake.shadowed.length, 0);
  t.equal(record.version, '1', 'the record names the version that answered');
  t.equal(record.cache, 'miss');
});

t.test('rollout: a failed leg at or past its deadline, or a failed stable leg, is thrown, not retried', async (t) => {
  const fake = fakeTraffic([true, false]);
  const { infer, target, call, clock, script, dispatched } = rolloutService(t, fake.traffic);
  script.fail.set('2', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', 'candidate crashed'));
  script.fail.set('1', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', 'stable crashed'));
  const on = target(undefined);
  const record = recordFor(on);
  // The dispatch takes 7 ms: it fails exactly at the deadline.
  await t.rejects(infer.infer(call(on, { record, deadlineMs: clock.ms + 7 })), { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', message: /candidate crashed/ });
  t.same(dispatched.map((d) => d.version), ['2']);
  t.equal(record.version, '2');
  await t.rejects(infer.infer(call(target(undefined))), { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', message: /stable crashed/ });
  t.same(dispatched.map((d) => d.version), ['2', '1']);
  t.same(fake.settled, [[true, 7, true], [false, 7, true]]);
  t.equal(fake.shadowed.length, 0, 'a failed stable leg has nothing to shadow');
});

t.test('rollout: a candidate the registry cannot resolve leaves the request on stable', async (t) => {
  const rows = [
    { name: 'candidate still loading', candidate: '2', readyVersions: ['1'] },
    { name: 'candidate not in the repository', candidate: '3', readyVersions: ['1', '2'] },
  ];
  for (const row of rows) {
    const fake = fakeTraffic([true], row.candidate);
    const { infer, target, call, dispatched } = rolloutService(t, fake.traffic, { readyVersions: row.readyVersions });
    const on = target(undefined, 'user-7');
    t.equal(on.model.version, '1', row.name);
    t.equal(on.leg?.candidate, false, `${row.name}: a stable leg`);
    const result = await infer.infer(call(on));
    t.equal(result.answer.version, '1');
    t.same(dispatched.map((d) => d.version), ['1']);
    t.same(fake.settled, [[false, 7, false]]);
    t.equal(fake.shadowed.length, 1);
  }
});

t.test('rollout: shadowCopy runs the call on the candidate, never from the cache, with no record', async (t) => {
  const fake = fakeTraffic([]);
  const { infer, target, call, clock, dispatched } = rolloutService(t, fake.traffic);
  const on = target(undefined);
  const record = recordFor(on);
  const original = call(on, { record, requestId: 'client-1' });
  await infer.infer(original);
  t.same(dispatched[0]!.header.requests, [{ id: 'req-1' }], 'the client call carries its record');
  const startedMs = clock.ms;
  const first = await infer.shadowCopy(original, '2');
  const second = await infer.shadowCopy(original, '2');
  t.same([first.version, second.version], ['2', '2']);
  t.same(values(second), [1, 2]);
  t.same(dispatched.map((d) => d.version), ['1', '2', '2'], 'the second copy is computed again, not a cache hit');
  t.equal(dispatched[1]!.deadlineMs, startedMs + 5_000, "the candidate's own timeout");
  t.equal(dispatched[1]!.header.requests, undefined, 'no request tag: the copy has no record');
  t.same([record.version, record.cache], ['1', 'miss'], "the client's record is left alone");
  t.same(fake.settled, [[false, 7, false]], 'a copy settles no leg (the rollout times its own)');
  t.equal(fake.shadowed.length, 1);
});

/** A result cache with one in-process tier, on for every model. */
function memoryCache(now: () => number): ResultCache<InferAnswer> {
  return new ResultCache<InferAnswer>({
    codec: { toBytes: frameOfAnswer, fromBytes: answerFromFrame },
    tiers: [new MemoryLru({ maxBytes: 1 << 20, now })],
    keyPrefix: 'test',
    policyFor: () => ({ enabled: true, ttlSeconds: 60, maxEntryBytes: 1 << 16 }),
  });
}
