// Cache answers that are always right:
// - two gateways sharing Redis whose classifier version 2 files differ never
//   share an answer (the digest of the model file is part of the key);
// - outputs come back in the order this request asked for, whether the
//   answer was computed, joined or stored by a request that asked in
//   another order;
// - a bad header is a 400 on a hit as on a miss.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';

const redis = await startRedis(t);
const PREFIX = `test-correct-${process.pid}`;
const shared = { cache: { redisUrl: redis.url, keyPrefix: PREFIX }, models: { include: ['classifier', 'ranker'], defaultReplicas: 1 } };
const one = await startGateway(t, shared);
// The second gateway's classifier version 2 is another file: version 1's weights under the name of version 2.
const otherRepository = await demoRepository(t);
copyFileSync(join(otherRepository, 'classifier', '1', 'model.onnx'), join(otherRepository, 'classifier', '2', 'model.onnx'));
const two = await startGateway(t, shared, otherRepository);

const random = seededRandom(21);
const classifierBody = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const cacheOf = (answer: { headers: Headers }) => answer.headers.get('x-infergate-cache');

async function redisSets(base: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await getJson(`${base}/admin/cache`)).body.tiers.redis.sets < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

t.test('two gateways serving different files under one name and version never share an answer', async (t) => {
  const body = classifierBody();
  const first = await postJson(`${one.url}/v2/models/classifier/versions/2/infer`, body);
  t.equal(cacheOf(first), 'miss');
  await redisSets(one.url, 1);
  const onTwo = await postJson(`${two.url}/v2/models/classifier/versions/2/infer`, body);
  t.equal(cacheOf(onTwo), 'miss', "gateway two computes its own: gateway one's answer is for another file");
  t.not(JSON.stringify(onTwo.body.outputs[0].data), JSON.stringify(first.body.outputs[0].data), 'and its numbers differ');
  const fromVersionOne = await postJson(`${one.url}/v2/models/classifier/versions/1/infer`, body);
  t.same(onTwo.body.outputs[0].data, fromVersionOne.body.outputs[0].data, "gateway two's answer is what that file computes");
  await redisSets(two.url, 1);
  t.equal(cacheOf(await postJson(`${two.url}/v2/models/classifier/versions/2/infer`, body)), 'hit', 'gateway two hits its own entry');
  const again = await postJson(`${one.url}/v2/models/classifier/versions/2/infer`, body);
  t.same([cacheOf(again), again.body.outputs[0].data], ['hit', first.body.outputs[0].data], 'gateway one still answers its own');
});

t.test('outputs come back in the order each request asked for', async (t) => {
  const inputs = [
    { name: 'features', datatype: 'FP32', shape: [1, 16], data: randomFloats(random, 16) },
    { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] },
  ];
  const ask = (order: string[]) => postJson(`${one.url}/v2/models/ranker/infer`, { inputs, outputs: order.map((name) => ({ name })) });
  const names = (answer: { body: any }) => answer.body.outputs.map((o: { name: string }) => o.name);
  const computed = await ask(['score', 'embedding']);
  t.same([cacheOf(computed), names(computed)], ['miss', ['score', 'embedding']]);
  const stored = await ask(['embedding', 'score']);
  t.same([cacheOf(stored), names(stored)], ['hit', ['embedding', 'score']], 'a hit stored by the other order');
  const repeated = await ask(['embedding', 'score']);
  t.same([cacheOf(repeated), names(repeated)], ['hit', ['embedding', 'score']], 'a repeated body (decode-free hit)');
  const again = await ask(['score', 'embedding']);
  t.same([cacheOf(again), names(again)], ['hit', ['score', 'embedding']]);
  t.same(again.body.outputs[0], computed.body.outputs[0], 'the same numbers');

  const fresh = [{ ...inputs[0], data: randomFloats(random, 16) }, inputs[1]];
  const [a, b] = await Promise.all([
    postJson(`${one.url}/v2/models/ranker/infer`, { inputs: fresh, outputs: [{ name: 'score' }, { name: 'embedding' }] }),
    postJson(`${one.url}/v2/models/ranker/infer`, { inputs: fresh, outputs: [{ name: 'embedding' }, { name: 'score' }] }),
  ]);
  t.same([names(a), names(b)], [['score', 'embedding'], ['embedding', 'score']], `computed once for both (${cacheOf(a)}, ${cacheOf(b)}), each in its own order`);
});

t.test('a bad header is a 400 on a hit as on a miss', async (t) => {
  const body = classifierBody();
  t.equal(cacheOf(await postJson(`${one.url}/v2/models/classifier/infer`, body)), 'miss');
  t.equal(cacheOf(await postJson(`${one.url}/v2/models/classifier/infer`, body)), 'hit', 'stored');
  const headers: Array<Record<string, string>> = [
    { 'x-infergate-timeout-ms': 'abc' },
    { 'x-infergate-priority': '7' },
    { 'inference-header-content-length': 'ten' },
  ];
  for (const header of headers) {
    const onHit = await postJson(`${one.url}/v2/models/classifier/infer`, body, header);
    const onMiss = await postJson(`${one.url}/v2/models/classifier/infer`, classifierBody(), header);
    t.same([onHit.status, onMiss.status], [400, 400], `${JSON.stringify(header)}: 400 on a hit and on a miss`);
    t.equal(onHit.body.code, onMiss.body.code, 'the same code');
  }
});
