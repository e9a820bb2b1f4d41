// Two gateway processes share the Redis tier: an answer computed on one is a
// hit on the other (from Redis, then from its own memory), and a purge on
// one clears the other's in-process tier too (pub/sub notice). The second
// gateway is a real `infergate gateway` process, given Redis by REDIS_URL.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';

const BIN = fileURLToPath(new URL('../../bin/infergate.ts', import.meta.url));
const redis = await startRedis(t);
const PREFIX = `test-shared-${process.pid}`;
// Each gateway runs its own worker for the classifier: they share nothing but Redis.
const one = await startGateway(t, { cache: { redisUrl: redis.url, keyPrefix: PREFIX }, models: { include: ['classifier'], defaultReplicas: 1 } });
const configFile = join(t.testdir({}), 'gateway.yaml');
writeFileSync(configFile, `models:\n  include: [classifier]\n  defaultReplicas: 1\ncache:\n  keyPrefix: ${PREFIX}\n`);
const two = spawn(process.execPath, [BIN, 'gateway', '--config', configFile, '--port', '0', '--models', one.repository], {
  env: { ...process.env, REDIS_URL: redis.url },
  stdio: ['ignore', 'pipe', 'pipe'],
});
t.teardown(async () => {
  if (two.exitCode !== null) return;
  two.kill('SIGTERM');
  await once(two, 'exit');
});
let output = '';
two.stdout.on('data', (c) => (output += c));
two.stderr.on('data', (c) => (output += c));
while (!/gateway ready/.test(output) && two.exitCode === null) await once(two.stdout, 'data');
const port = /listening on http:\/\/[^\s]+?:(\d+)/.exec(output)?.[1];
if (!port) throw new Error(`gateway two did not start:\n${output}`);
const twoUrl = `http://127.0.0.1:${port}`;

const random = seededRandom(77);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const infer = (base: string, b: unknown) => postJson(`${base}/v2/models/classifier/infer`, b);
const cacheOf = (answer: { headers: Headers }) => answer.headers.get('x-infergate-cache');
const stats = async (base: string) => (await getJson(`${base}/admin/cache`)).body;

/** The store into Redis happens after the answer, in the background: wait until gateway `base` made `n` writes. */
async function redisSets(base: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await stats(base)).tiers.redis.sets < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

t.test('a miss on one gateway is a hit on the other, both ways', async (t) => {
  const a = body();
  t.equal(cacheOf(await infer(one.url, a)), 'miss', 'computed on gateway one');
  await redisSets(one.url, 1);
  const onTwo = await infer(twoUrl, a);
  t.equal(cacheOf(onTwo), 'hit', 'gateway two answers it from Redis');
  t.equal((await stats(twoUrl)).hitsByTier.redis, 1);
  t.equal(cacheOf(await infer(twoUrl, a)), 'hit');
  t.equal((await stats(twoUrl)).hitsByTier.memory, 1, 'then from its own memory (refilled)');

  const b = body();
  t.equal(cacheOf(await infer(twoUrl, b)), 'miss', 'computed on gateway two');
  await redisSets(twoUrl, 1);
  t.equal(cacheOf(await infer(one.url, b)), 'hit', 'gateway one answers it from Redis');
  t.equal((await stats(twoUrl)).misses, 1, 'gateway two computed only its own miss');
});

t.test("a purge on one gateway clears the other's in-process tier", async (t) => {
  const c = body();
  await infer(one.url, c);
  await redisSets(one.url, 2);
  t.equal(cacheOf(await infer(twoUrl, c)), 'hit');
  t.equal(cacheOf(await infer(twoUrl, c)), 'hit', 'now in gateway two memory');
  const res = await fetch(`${one.url}/admin/cache/models/classifier`, { method: 'DELETE' });
  t.equal(res.status, 200);
  // The notice reaches gateway two asynchronously: wait for its memory to empty (probing with requests would refill it).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await stats(twoUrl)).tiers.memory.entries > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal((await stats(twoUrl)).tiers.memory.entries, 0, "gateway two's memory was purged");
  t.equal(cacheOf(await infer(twoUrl, c)), 'miss', 'gateway two computes it again');
});
