import t from 'tap';
import { answerFromFrame, encodeFrame, frameOfAnswer, type InferAnswer } from '../../../common/wire.ts';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';
import { ResultCache, type CachePolicy } from '../../../gateway/cache/result-cache.ts';

const tensor = (v: number) => ({ name: 'x', datatype: 'UINT8' as const, shape: [1], data: Uint8Array.of(v) });
const parts = (v: number, model = 'm') => ({ model, version: '1', fingerprint: 'f', outputs: undefined, tensors: [tensor(v)] });

function get(cache: ResultCache, p: ReturnType<typeof parts>, bypass: boolean, compute: () => Promise<Uint8Array>) {
  return cache.getOrCompute(p.model, cache.keyFor(p), bypass, compute);
}

function setup(policy: Partial<CachePolicy> = {}) {
  const full: CachePolicy = { enabled: true, ttlSeconds: 60, maxEntryBytes: 1024, ...policy };
  const cache = new ResultCache({ tiers: [new MemoryLru({ maxBytes: 1 << 20, now: () => 0 })], keyPrefix: 'test', policyFor: () => full });
  let runs = 0;
  const compute = (answer = Uint8Array.of(42)) => async () => {
    runs++;
    return answer;
  };
  return { cache, compute, runs: () => runs };
}

t.test('miss, then hit; a different input misses', async (t) => {
  const { cache, compute, runs } = setup();
  t.equal((await get(cache, parts(1), false, compute())).outcome, 'miss');
  const hit = await get(cache, parts(1), false, compute());
  t.equal(hit.outcome, 'hit');
  t.same(hit.value, Uint8Array.of(42));
  t.equal((await get(cache, parts(2), false, compute())).outcome, 'miss');
  t.equal(runs(), 2);
  t.match(cache.stats(), { hits: 1, misses: 2, stores: 2 });
});

t.test('identical requests in flight run once (single-flight)', async (t) => {
  const { cache } = setup();
  let release!: (v: Uint8Array) => void;
  let runs = 0;
  const slow = () => {
    runs++;
    return new Promise<Uint8Array>((resolve) => (release = resolve));
  };
  const all = Array.from({ length: 50 }, () => get(cache, parts(7), false, slow));
  release(Uint8Array.of(7));
  const results = await Promise.all(all);
  t.equal(runs, 1);
  t.equal(results.filter((r) => r.outcome === 'miss').length, 1);
  t.equal(results.filter((r) => r.outcome === 'joined').length, 49);
  t.ok(results.every((r) => r.value[0] === 7));
});

t.test('failures are shared by joiners and never stored', async (t) => {
  const { cache, compute } = setup();
  let fail!: (e: Error) => void;
  const failing = () => new Promise<Uint8Array>((_, reject) => (fail = reject));
  const a = get(cache, parts(3), false, failing);
  const b = get(cache, parts(3), false, failing);
  fail(new Error('model failed'));
  await t.rejects(a, /model failed/);
  await t.rejects(b, /model failed/);
  t.equal((await get(cache, parts(3), false, compute())).outcome, 'miss');
});

t.test('bypass skips the lookup but refreshes the entry; disabled policy never caches', async (t) => {
  const { cache, compute } = setup();
  await get(cache, parts(4), false, compute(Uint8Array.of(1)));
  const fresh = await get(cache, parts(4), true, compute(Uint8Array.of(2)));
  t.equal(fresh.outcome, 'bypass');
  t.same((await get(cache, parts(4), false, compute())).value, Uint8Array.of(2));

  const off = setup({ enabled: false });
  t.equal((await get(off.cache, parts(4), false, off.compute())).outcome, 'off');
  t.equal((await get(off.cache, parts(4), false, off.compute())).outcome, 'off');
  t.equal(off.runs(), 2);
});

t.test('answers over maxEntryBytes are not stored', async (t) => {
  const { cache, compute } = setup({ maxEntryBytes: 4 });
  await get(cache, parts(5), false, compute(new Uint8Array(5)));
  t.equal((await get(cache, parts(5), false, compute(new Uint8Array(5)))).outcome, 'miss');
  t.equal(cache.stats().tooLarge, 2);
});

t.test('a hot entry of the in-process tier is decoded once and hands every hit the same value', async (t) => {
  const full: CachePolicy = { enabled: true, ttlSeconds: 60, maxEntryBytes: 1024 };
  let decodes = 0;
  const codec = { toBytes: (v: { n: number }) => Uint8Array.of(v.n), fromBytes: (b: Uint8Array) => (decodes++, { n: b[0]! }) };
  const hotMemo = { maxEntries: 10, maxBytes: 1 << 20 };
  const cache = new ResultCache({ tiers: [new MemoryLru({ maxBytes: 1 << 20, now: () => 0 })], keyPrefix: 'test', policyFor: () => full, codec, hotMemo });
  const key = cache.keyFor(parts(1));
  await cache.getOrCompute('m', key, false, async () => ({ n: 7 }));
  const first = await cache.peek(key);
  const second = await cache.peek(key);
  const third = (await cache.getOrCompute('m', key, false, async () => ({ n: 0 }))).value;
  t.same(first, { n: 7 });
  t.equal(second, first, 'the same object');
  t.equal(third, first, 'getOrCompute hits share it too');
  t.equal(decodes, 1, 'decoded once');
  // A new value for the key is new bytes: decoded afresh.
  await cache.getOrCompute('m', key, true, async () => ({ n: 9 }));
  t.same(await cache.peek(key), { n: 9 });
  t.equal(decodes, 2);
});

const POLICY: CachePolicy = { enabled: true, ttlSeconds: 60, maxEntryBytes: 4096 };

/** A result cache of answers over the real codec, on a small tier (segments of 1 KiB), with or without a hot memo. */
function answers(hotMemo?: { maxEntries: number; maxBytes: number }) {
  const memory = new MemoryLru({ maxBytes: 64 * 1024, now: () => 0, segmentBytes: 1024 });
  let decodes = 0;
  const codec = { toBytes: frameOfAnswer, fromBytes: (b: Uint8Array) => (decodes++, answerFromFrame(b)) };
  const cache = new ResultCache<InferAnswer>({ tiers: [memory], keyPrefix: 'test', policyFor: () => POLICY, codec, ...(hotMemo ? { hotMemo } : {}) });
  const answer = (v: number): InferAnswer =>
    answerFromFrame(encodeFrame({ model: 'm', version: '1' }, [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: new Uint8Array(new Float32Array([v, -v]).buffer) }]));
  const store = (v: number) => cache.getOrCompute('m', cache.keyFor(parts(v)), false, async () => answer(v));
  const floats = (a: InferAnswer | undefined) => a && Array.from(new Float32Array(a.tensors[0]!.data.slice().buffer));
  return { cache, memory, store, floats, decodes: () => decodes };
}

t.test('a decoded answer owns its bytes: the tier reusing its memory changes nothing in it', async (t) => {
  for (const memo of [undefined, { maxEntries: 100, maxBytes: 1 << 20 }]) {
    const { cache, store, floats } = answers(memo);
    await store(1);
    const decoded = (await cache.peek(cache.keyFor(parts(1))))!;
    // Enough other answers to reclaim and rewrite every segment several times over.
    for (let v = 2; v < 2000; v++) await store(v);
    t.equal(await cache.peek(cache.keyFor(parts(1))), undefined, 'long evicted');
    t.same(floats(decoded), [1, -1], `still its own numbers (${memo ? 'with' : 'without'} a memo)`);
  }
});

t.test('without a hot memo every hit decodes; with one, a hit decodes only when the tier holds another entry', async (t) => {
  const plain = answers();
  await plain.store(1);
  const a = await plain.cache.peek(plain.cache.keyFor(parts(1)));
  const b = await plain.cache.peek(plain.cache.keyFor(parts(1)));
  t.not(a, b);
  t.same(plain.floats(b), [1, -1]);
  t.equal(plain.decodes(), 2);

  const memo = answers({ maxEntries: 100, maxBytes: 1 << 20 });
  const key = memo.cache.keyFor(parts(1));
  await memo.store(1);
  const first = await memo.cache.peek(key);
  t.equal(await memo.cache.peek(key), first, 'the same object while the memo and the tier agree');
  memo.memory.set(key, frameOfAnswer((await memo.store(2)).value), 60_000); // another entry under the key (a refill)
  t.not(await memo.cache.peek(key), first, 'a new stamp: decoded again');
  t.same(memo.floats((await memo.cache.peek(key))!), [2, -2]);
  memo.memory.deletePrefix('test:'); // gone from the tier (another gateway's purge notice): the memo cannot answer for it
  t.equal(await memo.cache.peek(key), undefined);
  t.match(memo.cache.stats().hotMemo, { entries: 1 });
  await memo.cache.purge('m');
  t.match(memo.cache.stats().hotMemo, { entries: 0, bytes: 0 }, 'a purge empties the memo too');
});
