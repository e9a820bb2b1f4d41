// The infer service without HTTP: a call of tensors goes through the cache
// (miss, hit, joined, bypass), the batcher or the dispatcher, over a fleet of
// fake replicas; the result says how it was served. Errors carry a
// protocol-neutral kind.

import t, { type Test } from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import type { RepositoryModel } from '../../../common/model-repository.ts';
import { answerFromFrame, frameOfAnswer, type InferAnswer, type Tensor } from '../../../common/wire.ts';
import { configSchema } from '../../../config/schema.ts';
import { ModelBatching } from '../../../gateway/batching/model-batching.ts';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';
import { ResultCache } from '../../../gateway/cache/result-cache.ts';
import { InferService, type InferCall, type InferTarget } from '../../../gateway/infer/infer-service.ts';
import { ModelRegistry } from '../../../gateway/models/registry.ts';
import { RetryBudget } from '../../../gateway/resilience/retry-budget.ts';
import { Dispatcher } from '../../../gateway/upstream/dispatcher.ts';
import { fakeFleet } from '../../helpers/fake-fleet.ts';

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
  const cache = new ResultCache<InferAnswer>({
    codec: { toBytes: frameOfAnswer, fromBytes: answerFromFrame },
    tiers: [new MemoryLru({ maxBytes: 1 << 20, now })],
    keyPrefix: 'test',
    policyFor: () => ({ enabled: true, ttlSeconds: 60, maxEntryBytes: 1 << 16 }),
  });
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
