// API keys with scopes against real gateways: every caller (no key, an
// unknown key, a key of each scope, the admin token) on every kind of route,
// with auth.mode keys (a gateway process, as users run it) and with
// auth.mode off; the same over gRPC; a key revoked in the keys file, or in
// Redis, stops working within a second.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import t from 'tap';
import { stringify } from 'yaml';
import { keyDigest } from '../../gateway/access/api-keys.ts';
import { randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startGatewayProcess } from '../helpers/gateway-process.ts';
import { freePort, startRedis } from '../helpers/redis.ts';

const TOKEN = 'api-keys-test-admin-token';
const random = seededRandom(7);

type Caller = { name: string; headers: Record<string, string> };
const keyOf = (name: string) => `ig_test_key_of_${name}`;
const withKey = (name: string, header: 'bearer' | 'x-api-key' = 'bearer'): Caller => ({ name, headers: header === 'bearer' ? { authorization: `Bearer ${keyOf(name)}` } : { 'x-api-key': keyOf(name) } });

const KEYS = [
  { name: 'classifier-infer', sha256: keyDigest(keyOf('classifier-infer')), models: ['classifier'], operations: ['infer'] },
  { name: 'reader', sha256: keyDigest(keyOf('reader')), models: ['*'], operations: ['metadata'] },
  { name: 'class-glob', sha256: keyDigest(keyOf('class-glob')), models: ['class*'], operations: ['infer', 'metadata'] },
  { name: 'operator', sha256: keyDigest(keyOf('operator')), operations: ['admin'] },
];

const CALLERS: Caller[] = [
  { name: 'no key', headers: {} },
  { name: 'unknown key', headers: { authorization: 'Bearer ig_nobody_has_this' } },
  withKey('classifier-infer'),
  withKey('reader', 'x-api-key'),
  withKey('class-glob'),
  withKey('operator'),
  { name: 'admin token', headers: { authorization: `Bearer ${TOKEN}` } },
];

const classifierBody = () => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
type Route = { name: string; method: string; path: string; body?: () => string };
const ROUTES: Route[] = [
  { name: 'infer classifier', method: 'POST', path: '/v2/models/classifier/infer', body: classifierBody },
  { name: 'infer ranker', method: 'POST', path: '/v2/models/ranker/infer', body: classifierBody },
  { name: 'infer a model that does not exist', method: 'POST', path: '/v2/models/secret/infer', body: classifierBody },
  { name: 'TF Serving predict classifier', method: 'POST', path: '/v1/models/classifier:predict', body: () => JSON.stringify({ instances: [randomFloats(random, 64)] }) },
  { name: 'metadata of classifier', method: 'GET', path: '/v2/models/classifier' },
  { name: 'metadata of a model that does not exist', method: 'GET', path: '/v2/models/secret' },
  { name: 'server metadata', method: 'GET', path: '/v2' },
  { name: 'metrics', method: 'GET', path: '/metrics' },
  { name: 'all-model statistics', method: 'GET', path: '/v2/models/stats' },
  { name: 'admin: replicas', method: 'GET', path: '/admin/replicas' },
  { name: 'readiness', method: 'GET', path: '/v2/health/ready' },
];

//                                    no key  unknown  cl-infer  reader  glob  operator  token
const EXPECTED_WITH_KEYS: Record<string, number[]> = {
  'infer classifier': /*            */ [401, 401, 200, 403, 200, 403, 200],
  'infer ranker': /*                */ [401, 401, 403, 403, 403, 403, 400],
  'infer a model that does not exist': [401, 401, 403, 403, 403, 403, 404],
  'TF Serving predict classifier': /**/ [401, 401, 200, 403, 200, 403, 200],
  'metadata of classifier': /*      */ [401, 401, 403, 200, 200, 403, 200],
  'metadata of a model that does not exist': [401, 401, 403, 404, 403, 403, 404],
  'server metadata': /*             */ [401, 401, 403, 200, 200, 403, 200],
  metrics: /*                       */ [401, 401, 403, 200, 403, 403, 200],
  'all-model statistics': /*        */ [401, 401, 403, 200, 403, 403, 200],
  'admin: replicas': /*             */ [401, 401, 403, 403, 403, 200, 200],
  readiness: /*                     */ [200, 200, 200, 200, 200, 200, 200],
};

async function call(origin: string, route: Route, caller: Caller): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${origin}${route.path}`, { method: route.method, headers: { ...caller.headers, ...(route.body ? { 'content-type': 'application/json' } : {}) }, ...(route.body ? { body: route.body() } : {}) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

function writeKeys(path: string, keys: readonly object[]): void {
  writeFileSync(`${path}.tmp`, stringify({ keys }));
  renameSync(`${path}.tmp`, path);
}

t.test('auth.mode keys, a gateway process: every caller on every kind of route', async (t) => {
  // Not t.testdir(): the process helper makes that directory afresh for its config.
  const dir = mkdtempSync(join(tmpdir(), 'infergate-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keysFile = join(dir, 'keys.yaml');
  writeKeys(keysFile, KEYS);
  const gateway = await startGatewayProcess(t, {
    replicas: 1,
    config: { auth: { mode: 'keys', keysFile, reloadCheckMs: 200 }, server: { adminToken: TOKEN }, models: { include: ['classifier', 'ranker'] }, cache: { enabled: false } },
  });
  for (const route of ROUTES) {
    const statuses: number[] = [];
    for (const caller of CALLERS) {
      const answer = await call(gateway.origin, route, caller);
      statuses.push(answer.status);
      if (answer.status === 401) {
        t.match(JSON.parse(answer.body), { code: 'GW_ERR_UNAUTHORIZED' }, `${route.name}, ${caller.name}: 401 from the catalog`);
        t.ok(answer.headers.get('www-authenticate'), 'with WWW-Authenticate');
      }
      if (answer.status === 403) {
        const body = JSON.parse(answer.body) as { code: string; error: string };
        t.equal(body.code, 'GW_ERR_FORBIDDEN');
        t.notMatch(body.error.replaceAll(`"${caller.name}"`, ''), /secret|ranker|classifier/, `${route.name}, ${caller.name}: the refusal names no model (only the key)`);
      }
    }
    t.same(statuses, EXPECTED_WITH_KEYS[route.name], `${route.name}: ${CALLERS.map((c) => c.name).join(' / ')}`);
  }
  // The two refusals a prober could compare: a model it may not see answers as one that is not there.
  const [hidden, absent] = await Promise.all(['/v2/models/ranker/infer', '/v2/models/secret/infer'].map((path) => call(gateway.origin, { name: path, method: 'POST', path, body: classifierBody }, withKey('classifier-infer'))));
  t.equal(hidden!.body, absent!.body, 'a model the key may not call and a model that does not exist get the same answer');

  // A revoked key: removed from the file, refused within a second.
  const before = await call(gateway.origin, ROUTES[0]!, withKey('class-glob'));
  t.equal(before.status, 200);
  writeKeys(keysFile, KEYS.filter((k) => k.name !== 'class-glob'));
  const revokedAt = performance.now();
  let refusedAfterMs = Infinity;
  while (performance.now() - revokedAt < 5000) {
    const answer = await call(gateway.origin, ROUTES[0]!, withKey('class-glob'));
    if (answer.status === 401) {
      refusedAfterMs = performance.now() - revokedAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(refusedAfterMs < 1000, `the revoked key was refused ${refusedAfterMs.toFixed(0)} ms after the file changed`);
  t.equal((await call(gateway.origin, ROUTES[0]!, withKey('classifier-infer'))).status, 200, 'the other keys still work');

  // The admin reload route, with an admin-scoped key.
  const reload = await call(gateway.origin, { name: 'reload', method: 'POST', path: '/admin/keys/reload' }, withKey('operator'));
  t.equal(reload.status, 200);
  t.same(JSON.parse(reload.body), { keys: KEYS.length - 1 });
  t.match(gateway.stdout(), /API keys reloaded/);
});

t.test('auth.mode off: keys mean nothing, the data plane answers anyone, the admin routes keep their rule', async (t) => {
  const { url } = await startGateway(t, { models: { include: ['classifier', 'ranker'], defaultReplicas: 1 }, cache: { enabled: false } });
  const expectedOff: Record<string, number> = {
    'infer classifier': 200,
    'infer ranker': 400,
    'infer a model that does not exist': 404,
    'TF Serving predict classifier': 200,
    'metadata of classifier': 200,
    'metadata of a model that does not exist': 404,
    'server metadata': 200,
    metrics: 200,
    'all-model statistics': 200,
    'admin: replicas': 200,
    readiness: 200,
  };
  for (const route of ROUTES) {
    const statuses = [];
    for (const caller of CALLERS) statuses.push((await call(url, route, caller)).status);
    t.same(statuses, CALLERS.map(() => expectedOff[route.name]), `${route.name}: the same for every caller (admin: from loopback, no token set)`);
  }
  const reload = await call(url, { name: 'reload', method: 'POST', path: '/admin/keys/reload' }, CALLERS[0]!);
  t.equal(reload.status, 404);
  t.match(JSON.parse(reload.body), { code: 'GW_ERR_NO_API_KEYS' });
});

type GrpcClient = Client & Record<string, (request: object, metadata: Metadata, callback: (err: ServiceError | null, response: any) => void) => void>;

t.test('gRPC: the same gate, the key in the metadata', async (t) => {
  const keysFile = join(t.testdir(), 'keys.yaml');
  writeKeys(keysFile, KEYS);
  const grpcPort = await freePort();
  await startGateway(t, { auth: { mode: 'keys', keysFile }, server: { grpcPort, adminToken: TOKEN }, models: { include: ['classifier', 'ranker'], defaultReplicas: 1 }, cache: { enabled: false } });
  const definition = loadSync('grpc_service.proto', { includeDirs: [fileURLToPath(new URL('../../gateway/grpc/protos/', import.meta.url))], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const Service = (loadPackageDefinition(definition).inference as unknown as { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => GrpcClient }).GRPCInferenceService;
  const client = new Service(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const outcome = (method: string, request: object, caller: Caller) =>
    new Promise<string>((resolve) => {
      const metadata = new Metadata();
      for (const [name, value] of Object.entries(caller.headers)) metadata.set(name, value);
      client[method]!(request, metadata, (err) => resolve(err ? `${status[err.code]} ${err.metadata.get('infergate-error-code')[0]}` : 'OK'));
    });
  const infer = (model: string) => ({ model_name: model, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: randomFloats(random, 64) } }] });
  const table: Array<[string, object, Caller, string]> = [
    ['ModelInfer', infer('classifier'), CALLERS[0]!, 'UNAUTHENTICATED GW_ERR_UNAUTHORIZED'],
    ['ModelInfer', infer('classifier'), withKey('classifier-infer'), 'OK'],
    ['ModelInfer', infer('classifier'), withKey('classifier-infer', 'x-api-key'), 'OK'],
    ['ModelInfer', infer('ranker'), withKey('classifier-infer'), 'PERMISSION_DENIED GW_ERR_FORBIDDEN'],
    ['ModelInfer', infer('secret'), withKey('classifier-infer'), 'PERMISSION_DENIED GW_ERR_FORBIDDEN'],
    ['ModelMetadata', { name: 'classifier' }, withKey('classifier-infer'), 'PERMISSION_DENIED GW_ERR_FORBIDDEN'],
    ['ModelMetadata', { name: 'classifier' }, withKey('reader'), 'OK'],
    ['ModelStatistics', { name: '' }, withKey('class-glob'), 'PERMISSION_DENIED GW_ERR_FORBIDDEN'],
    ['ModelStatistics', { name: 'classifier' }, withKey('class-glob'), 'OK'],
    ['RepositoryIndex', {}, withKey('reader'), 'PERMISSION_DENIED GW_ERR_FORBIDDEN'],
    ['RepositoryIndex', {}, withKey('operator'), 'OK'],
    ['RepositoryIndex', {}, CALLERS[6]!, 'OK'],
    ['ServerLive', {}, CALLERS[0]!, 'OK'],
  ];
  for (const [method, request, caller, expected] of table) t.equal(await outcome(method, request, caller), expected, `${method} ${JSON.stringify((request as { model_name?: string; name?: string }).model_name ?? (request as { name?: string }).name ?? '')} as ${caller.name}`);
});

t.test('keys in Redis: an HDEL revokes a key within a second', async (t) => {
  const redis = await startRedis(t);
  const prefix = 'keys-test';
  const entry = (name: string) => JSON.stringify({ sha256: keyDigest(keyOf(name)), models: ['classifier'], operations: ['infer'] });
  await redis.client.hset(`${prefix}:keys`, 'alice', entry('alice'), 'bob', entry('bob'));
  const { url } = await startGateway(t, { auth: { mode: 'keys', keysFromRedis: true, reloadCheckMs: 200 }, cache: { redisUrl: redis.url, keyPrefix: prefix, enabled: false }, models: { include: ['classifier'], defaultReplicas: 1 } });
  const infer = ROUTES[0]!;
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await call(url, infer, withKey('alice'))).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(status, 200, 'a key from Redis works once read');
  await redis.client.hdel(`${prefix}:keys`, 'alice');
  const revokedAt = performance.now();
  let refusedAfterMs = Infinity;
  while (performance.now() - revokedAt < 5000) {
    if ((await call(url, infer, withKey('alice'))).status === 401) {
      refusedAfterMs = performance.now() - revokedAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(refusedAfterMs < 1000, `refused ${refusedAfterMs.toFixed(0)} ms after the HDEL`);
  t.equal((await call(url, infer, withKey('bob'))).status, 200);
});

t.test('SIGHUP reads the keys file at once (the poll here is an hour)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keysFile = join(dir, 'keys.yaml');
  writeKeys(keysFile, KEYS.slice(0, 1));
  const gateway = await startGatewayProcess(t, {
    replicas: 1,
    config: { auth: { mode: 'keys', keysFile, reloadCheckMs: 3_600_000 }, models: { include: ['classifier'] }, cache: { enabled: false } },
  });
  const readerMetadata = () => call(gateway.origin, ROUTES[4]!, withKey('reader'));
  t.equal((await readerMetadata()).status, 401, 'reader is not in the file yet');
  writeKeys(keysFile, KEYS);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal((await readerMetadata()).status, 401, 'nothing reads the file by itself within the hour');
  process.kill(gateway.handle.pid, 'SIGHUP');
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    status = (await readerMetadata()).status;
  }
  t.equal(status, 200, 'after SIGHUP the new key works');
  t.equal(gateway.handle.child.exitCode, null, 'SIGHUP did not stop the process');
});
