// The result cache end to end: a real gateway, real workers, and a
// redis-server of the test's own as the shared tier. Repeats are answered
// from the cache whatever the encoding, never across versions or after
// expiry or purge; identical requests in flight run once on the workers;
// without Redis the in-process tier works alone.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway, type StartedGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';

const redis = await startRedis(t);
const repository = await demoRepository(t);
writeFileSync(join(repository, 'ranker', 'config.yaml'), 'cache:\n  ttlSeconds: 1\n');
writeFileSync(join(repository, 'pooler', 'config.yaml'), 'cache:\n  maxEntryBytes: 64\n');
const PREFIX = `test-cache-${process.pid}`;
const { gateway, url } = await startGateway(t, { cache: { redisUrl: redis.url, keyPrefix: PREFIX, redisTimeoutMs: 200 } }, repository);
const random = seededRandom(606);

const classifierBody = (data: unknown, shape = [1, 64]) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape, data }] });
const infer = (body: unknown, headers: Record<string, string> = {}, model = 'classifier') => postJson(`${url}/v2/models/${model}/infer`, body, headers);
const cacheOf = (answer: { headers: Headers }) => answer.headers.get('x-infergate-cache');
const stats = async () => (await getJson(`${url}/admin/cache`)).body;

/** Waits until the background writes to Redis have caught up with `n` stores. */
async function redisWrites(n: number, gw: StartedGateway['gateway'] = gateway): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((gw.redisTier!.stats().sets < n) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function postBinary(path: string, json: object, tensors: Uint8Array[], headers: Record<string, string> = {}) {
  const head = Buffer.from(JSON.stringify(json));
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.byteLength), ...headers },
    body: Buffer.concat([head, ...tensors]),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function workerRuns(key: string): Promise<number> {
  const all = await Promise.all(gateway.replicas.replicas.map((r) => r.client.stats(5000)));
  return all.reduce((n, s) => n + (s.models[key]?.runs ?? 0), 0);
}

t.test('miss, then hit; the answer is stored in Redis under <prefix>:<model>:<version>:', async (t) => {
  const data = randomFloats(random, 64);
  const first = await infer(classifierBody(data));
  t.equal(cacheOf(first), 'miss');
  const second = await infer(classifierBody(data));
  t.equal(cacheOf(second), 'hit');
  t.same(second.body.outputs, first.body.outputs, 'the same answer');
  const s = await stats();
  t.ok(s.hitsByTier.memory >= 1, 'answered by the in-process tier');
  t.ok(s.tiers.redis, 'the Redis tier is on');
  await redisWrites(1);
  t.ok((await redis.client.keys(`${PREFIX}:classifier:2:*`)).length >= 1, 'stored in Redis under <prefix>:<model>:<version>:');
});

t.test('flat JSON, nested JSON, binary, and 1 vs 1.0 all hit one entry', async (t) => {
  const values = randomFloats(random, 128).map((v, i) => (i < 4 ? i : v)); // a few exact integers
  const flat = await infer(classifierBody(values, [2, 64]));
  t.equal(cacheOf(flat), 'miss');
  const nested = await infer(classifierBody([values.slice(0, 64), values.slice(64)], [2, 64]));
  t.equal(cacheOf(nested), 'hit', 'nested JSON');
  const asReals = JSON.stringify(classifierBody(values, [2, 64])).replace(/\[0,1,2,3,/, '[0.0,1.0,2.0,3.0,');
  t.match(asReals, /\[0\.0,1\.0,2\.0,3\.0,/);
  t.equal(cacheOf(await infer(asReals)), 'hit', '1 and 1.0 are the same FP32 value');
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  const binary = await postBinary('/v2/models/classifier/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], parameters: { binary_data_size: bytes.byteLength } }] }, [bytes]);
  t.equal(binary.status, 200, binary.body.toString().slice(0, 300));
  t.equal(cacheOf(binary), 'hit', 'binary tensor data');
  t.same(JSON.parse(binary.body.toString()).outputs, flat.body.outputs);
});

t.test('binary outputs on request: header length and raw bytes that equal the JSON answer', async (t) => {
  const values = randomFloats(random, 64);
  const json = await infer(classifierBody(values));
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  const answer = await postBinary('/v2/models/classifier/infer', {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: 256 } }],
    outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
  }, [bytes]);
  t.equal(answer.status, 200);
  t.equal(answer.headers.get('content-type'), 'application/octet-stream');
  const headerLength = Number(answer.headers.get('inference-header-content-length'));
  const header = JSON.parse(answer.body.subarray(0, headerLength).toString());
  t.same(header.outputs[0].parameters, { binary_data_size: 40 });
  const probabilities = new Float32Array(answer.body.buffer.slice(answer.body.byteOffset + headerLength, answer.body.byteOffset + headerLength + 40));
  t.same([...probabilities], json.body.outputs[0].data);
  const bad = await postBinary('/v2/models/classifier/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: 300 } }] }, [bytes]);
  t.equal(bad.status, 400);
  t.equal(JSON.parse(bad.body.toString()).code, 'GW_ERR_BINARY_DATA');
});

t.test('a repeated body is answered without decoding it, with its own id, and only while the answer is stored', async (t) => {
  const data = randomFloats(random, 64);
  const body = { id: 'first', ...classifierBody(data) };
  t.equal(cacheOf(await infer(body)), 'miss');
  const repeat = await infer(body);
  t.same([cacheOf(repeat), repeat.body.id], ['hit', 'first']);
  const sameTensorOtherId = await infer({ ...body, id: 'second' });
  t.same([cacheOf(sameTensorOtherId), sameTensorOtherId.body.id], ['hit', 'second'], 'another body, same tensor: the same entry, its own id');
  t.same(sameTensorOtherId.body.outputs, repeat.body.outputs);
  const purged = await fetch(`${url}/admin/cache/models/classifier`, { method: 'DELETE' });
  t.equal(purged.status, 200);
  t.equal(cacheOf(await infer(body)), 'miss', 'after a purge the known body is computed again');
});

t.test('2000 distinct random tensors never share a key', async (t) => {
  const before = await stats();
  const outcomes = new Map<string, number>();
  const bodies = Array.from({ length: 2000 }, () => classifierBody(randomFloats(random, 64)));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < bodies.length) {
      const answer = await infer(bodies[next++]);
      outcomes.set(`${answer.status} ${cacheOf(answer)}`, (outcomes.get(`${answer.status} ${cacheOf(answer)}`) ?? 0) + 1);
    }
  }));
  t.same(Object.fromEntries(outcomes), { '200 miss': 2000 }, 'every one a miss');
  const after = await stats();
  t.equal(after.stores - before.stores, 2000, '2000 entries stored');
});

t.test('Cache-Control: no-cache and the no_cache parameter skip the lookup', async (t) => {
  const data = randomFloats(random, 64);
  await infer(classifierBody(data));
  t.equal(cacheOf(await infer(classifierBody(data), { 'cache-control': 'no-cache' })), 'bypass');
  t.equal(cacheOf(await infer({ ...classifierBody(data), parameters: { no_cache: true } })), 'bypass');
  t.equal(cacheOf(await infer(classifierBody(data))), 'hit');
  const bad = await infer({ ...classifierBody(data), parameters: { no_cache: 'yes' } });
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'GW_ERR_INVALID_REQUEST');
});

t.test('versions never share entries', async (t) => {
  const data = randomFloats(random, 64);
  const v1 = await postJson(`${url}/v2/models/classifier/versions/1/infer`, classifierBody(data));
  const v2 = await postJson(`${url}/v2/models/classifier/versions/2/infer`, classifierBody(data));
  t.equal(cacheOf(v1), 'miss');
  t.equal(cacheOf(v2), 'miss', 'version 2 does not see version 1');
  t.not(JSON.stringify(v1.body.outputs), JSON.stringify(v2.body.outputs), 'and the answers differ');
  t.equal(v2.body.model_version, '2');
  t.equal(cacheOf(await postJson(`${url}/v2/models/classifier/versions/1/infer`, classifierBody(data))), 'hit');
});

t.test('entries expire after ttlSeconds (ranker: 1 s), in memory and in Redis', async (t) => {
  const body = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: randomFloats(random, 16) }, { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }] };
  t.equal(cacheOf(await infer(body, {}, 'ranker')), 'miss');
  t.equal(cacheOf(await infer(body, {}, 'ranker')), 'hit');
  const storedAt = Date.now();
  let outcome = 'hit';
  while (outcome === 'hit' && Date.now() - storedAt < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    outcome = cacheOf(await infer(body, {}, 'ranker'))!;
  }
  t.equal(outcome, 'miss', `a miss again ${Date.now() - storedAt} ms after the store`);
  t.ok(Date.now() - storedAt >= 900, 'not before the TTL');
});

t.test('answers over maxEntryBytes are not stored (pooler: 64 bytes)', async (t) => {
  const body = { inputs: [{ name: 'tokens', datatype: 'FP32', shape: [4, 2, 8], data: randomFloats(random, 64) }] };
  const before = (await stats()).tooLarge;
  t.equal(cacheOf(await infer(body, {}, 'pooler')), 'miss');
  t.equal(cacheOf(await infer(body, {}, 'pooler')), 'miss', 'a 4-row answer is over 64 bytes');
  t.equal((await stats()).tooLarge - before, 2);
});

t.test('purge one version, then the whole model, in both tiers', async (t) => {
  const data = randomFloats(random, 64);
  const v = (n: number) => `${url}/v2/models/classifier/versions/${n}/infer`;
  await postJson(v(1), classifierBody(data));
  await postJson(v(2), classifierBody(data));
  const before = gateway.redisTier!.stats().sets;
  await redisWrites(before);
  const purge = async (path: string) => {
    const res = await fetch(`${url}/admin/cache/models/${path}`, { method: 'DELETE' });
    return { status: res.status, body: (await res.json()) as any };
  };
  const one = await purge('classifier/versions/1');
  t.equal(one.status, 200);
  t.ok(one.body.removed.memory >= 1 && one.body.removed.redis >= 1, `removed ${JSON.stringify(one.body.removed)}`);
  t.equal((await redis.client.keys(`${PREFIX}:classifier:1:*`)).length, 0, 'no version-1 key left in Redis');
  t.equal(cacheOf(await postJson(v(1), classifierBody(data))), 'miss', 'version 1 purged');
  t.equal(cacheOf(await postJson(v(2), classifierBody(data))), 'hit', 'version 2 kept');
  const all = await purge('classifier');
  t.equal(all.status, 200);
  t.equal((await redis.client.keys(`${PREFIX}:classifier:*`)).length, 0, 'no classifier key left in Redis');
  t.equal(cacheOf(await postJson(v(2), classifierBody(data))), 'miss', 'version 2 purged');
  t.equal((await purge('nope')).status, 404, 'an unknown model is 404');
  t.equal((await purge('classifier/versions/9')).status, 404, 'an unknown version is 404');
});

t.test('50 identical concurrent requests run once on the workers', async (t) => {
  const data = randomFloats(random, 64);
  const runsBefore = await workerRuns('classifier/2');
  const before = await stats();
  const answers = await Promise.all(Array.from({ length: 50 }, () => infer(classifierBody(data))));
  t.same(answers.map((a) => a.status), Array(50).fill(200));
  const outcomes = answers.map(cacheOf);
  t.equal(outcomes.filter((o) => o === 'miss').length, 1, 'one miss');
  t.equal(outcomes.filter((o) => o === 'joined' || o === 'hit').length, 49, `the rest joined or hit (${outcomes.filter((o) => o === 'joined').length} joined)`);
  t.equal((await stats()).misses - before.misses, 1);
  t.equal((await workerRuns('classifier/2')) - runsBefore, 1, 'one execution, counted by the workers');
});

t.test('without Redis configured, the in-process tier works alone', async (t) => {
  const alone = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 1 } }, repository);
  const data = randomFloats(random, 64);
  const answer = (await postJson(`${alone.url}/v2/models/classifier/infer`, classifierBody(data))).headers.get('x-infergate-cache');
  t.equal(answer, 'miss');
  t.equal((await postJson(`${alone.url}/v2/models/classifier/infer`, classifierBody(data))).headers.get('x-infergate-cache'), 'hit');
  const s = (await getJson(`${alone.url}/admin/cache`)).body;
  t.same(Object.keys(s.tiers), ['memory']);
  t.equal(s.hitsByTier.memory, 1);
  t.equal(alone.gateway.redisTier, null);
});
