// Rate limits against real gateways: a key's limit holds within ±10 % across
// two gateways sharing one Redis, and requests keep flowing (fail-open) when
// that Redis is killed; per client address with auth off, one address over
// its limit does not slow another; rows per second count a batch's rows.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { stringify } from 'yaml';
import { keyDigest } from '../../gateway/access/api-keys.ts';
import { randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';

const random = seededRandom(11);

function keysFileWith(t: { teardown(fn: () => unknown): void }, keys: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.yaml');
  writeFileSync(path, stringify({ keys }));
  return path;
}

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

async function get(url: string, headers: Record<string, string>): Promise<Answer> {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A request from another loopback address than 127.0.0.1: another client, as the gateway counts them. */
function fromAddress(localAddress: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

t.test('a key limit shared by two gateways through Redis holds within 10 %, and fails open when Redis dies', async (t) => {
  const redis = await startRedis(t);
  const RATE = 40;
  const BURST = 10;
  const keysFile = keysFileWith(t, [{ name: 'metered', sha256: keyDigest('metered-key'), operations: ['metadata'], rateLimit: { requestsPerSecond: RATE, burst: BURST } }]);
  const config = {
    auth: { mode: 'keys' as const, keysFile },
    // A test of sharing, not of the store's timeout: on a loaded CI machine a take can wait past the 50 ms default,
    // and a take decided without Redis is a local one. A killed Redis still fails at once (connection refused).
    rateLimits: { storeTimeoutMs: 2000 },
    cache: { redisUrl: redis.url, keyPrefix: 'limits-test', enabled: false },
    models: { include: ['classifier'], defaultReplicas: 1 },
  };
  const [a, b] = await Promise.all([startGateway(t, config), startGateway(t, config)]);
  const headers = { authorization: 'Bearer metered-key' };
  const statuses = new Map<number, number>();
  let sampleOk: Answer | undefined;
  let sampleLimited: Answer | undefined;
  const loop = async (url: string, untilMs: number) => {
    while (performance.now() < untilMs) {
      const answer = await get(`${url}/v2/models/classifier`, headers);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 200) sampleOk ??= answer;
      if (answer.status === 429) sampleLimited ??= answer;
    }
  };
  const DURATION_MS = 4000;
  const startedMs = performance.now();
  const endMs = startedMs + DURATION_MS;
  await Promise.all([a, b].flatMap(({ url }) => [loop(url, endMs), loop(url, endMs), loop(url, endMs)]));
  const elapsedS = (performance.now() - startedMs) / 1000;
  const allowed = statuses.get(200) ?? 0;
  const expected = BURST + RATE * elapsedS;
  t.comment(`allowed ${allowed} of ${[...statuses.values()].reduce((x, y) => x + y, 0)} in ${elapsedS.toFixed(2)} s; the limit allows ${expected.toFixed(0)}`);
  // From the registries: a scrape with the key would be one more limited request.
  const failuresBefore = await Promise.all([a, b].map(async ({ gateway }) => /infergate_rate_limit_store_failures_total (\d+)/.exec(await gateway.observability.registry.metrics())?.[1]));
  t.comment(`store failures while Redis was up: ${failuresBefore.join(', ')}`);
  t.same([...statuses.keys()].sort(), [200, 429], 'every answer was 200 or 429');
  t.ok(Math.abs(allowed - expected) / expected <= 0.1, `allowed ${allowed} is within 10 % of ${expected.toFixed(0)} (${(((allowed - expected) / expected) * 100).toFixed(1)} %)`);
  t.equal(sampleOk?.headers['ratelimit-limit'], String(BURST), 'a 200 says the limit');
  t.match(sampleOk?.headers['ratelimit-remaining'], /^\d+$/);
  t.match(sampleOk?.headers['ratelimit-reset'], /^\d+$/);
  t.match(JSON.parse(sampleLimited!.body), { code: 'GW_ERR_RATE_LIMITED', error: /metered/ });
  t.match(sampleLimited?.headers['retry-after'], /^[1-9]\d*$/, 'a 429 says when to come back');
  t.equal(sampleLimited?.headers['ratelimit-remaining'], '0');

  // Redis dies: fail-open (the default) decides without it at once, each gateway holding the limit by itself.
  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = new Map<number, number>();
  let slowestMs = 0;
  for (let i = 0; i < 2 * BURST; i++) {
    const started = performance.now();
    const { status } = await get(`${(i % 2 ? a : b).url}/v2/models/classifier`, headers);
    after.set(status, (after.get(status) ?? 0) + 1);
    slowestMs = Math.max(slowestMs, performance.now() - started);
  }
  t.same([...after.keys()], [200], `each gateway let a burst of ${BURST} through by itself: ${JSON.stringify(Object.fromEntries(after))}`);
  t.ok(slowestMs < 1000, `none waited on the dead store: the slowest took ${slowestMs.toFixed(0)} ms`);
  const metrics = await a.gateway.observability.registry.metrics();
  t.match(metrics, /infergate_rate_limit_store_failures_total [1-9]/, 'the store failures are counted');
  t.match(metrics, /infergate_access_refused_total\{reason="rate_limited"\} [1-9]/, 'the refusals are counted');
});

t.test('per client address with auth off: one address over its limit, another served; rows per second count rows', async (t) => {
  const { url } = await startGateway(t, { rateLimits: { perAddress: { requestsPerSecond: 1, burst: 3, rowsPerSecond: 20, rowsBurst: 20 } }, models: { include: ['classifier'], defaultReplicas: 1 }, cache: { enabled: false } });
  const first = [];
  for (let i = 0; i < 5; i++) first.push((await get(`${url}/v2/models/classifier`, {})).status);
  t.same(first, [200, 200, 200, 429, 429], 'a burst of 3 from 127.0.0.1');
  const other = await fromAddress('127.0.0.2', `${url}/v2/models/classifier`);
  t.equal(other.status, 200, `127.0.0.2 has its own bucket`);
  t.equal((await get(`${url}/v2/health/ready`, {})).status, 200, 'health probes are never limited');

  // Rows: 16 rows pass, 16 more do not (20 per second, a burst of 20).
  const infer = (rows: number) =>
    fromAddress('127.0.0.2', `${url}/v2/models/classifier/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] }),
    });
  t.equal((await infer(16)).status, 200);
  const over = await infer(16);
  t.equal(over.status, 429);
  t.match(JSON.parse(over.body), { code: 'GW_ERR_RATE_LIMITED', error: /rows\/s/ });
  t.match(over.headers['retry-after'], /^[1-9]\d*$/);
});
