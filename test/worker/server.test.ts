// The worker's HTTP server in-process over a fake model store: routes,
// errors, readiness, body limits, and the drain (close) and abort (destroy)
// verbs with keep-alive connections. No models, no child processes.

import { once } from 'node:events';
import { linkSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Client } from 'undici';
import type { InfergateError } from '../../common/errors.ts';
import { httpStatusOf } from '../../common/http-status.ts';
import { decodeFrame, encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type InferResponseHeader } from '../../common/wire.ts';
import type { WorkerMetricsBody } from '../../common/worker-control.ts';
import { removeStaleUnixSocket } from '../../worker/listen.ts';
import { ECHO_SIGNATURE, FakeStore, type PendingRun } from './fake-store.ts';
import { WorkerServer } from '../../worker/server.ts';

const SIGNATURE = ECHO_SIGNATURE;

const dir = mkdtempSync(join(tmpdir(), 'infergate-worker-server-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let socketCount = 0;

async function start(t: Test, maxBodyBytes?: number) {
  const store = new FakeStore('loading');
  const server = new WorkerServer({ store, maxBodyBytes });
  const path = join(dir, `w${socketCount++}.sock`);
  await server.listen({ kind: 'unix', path });
  const clients: Client[] = [];
  const client = (): Client => {
    const c = new Client('http://localhost', { socketPath: path });
    clients.push(c);
    return c;
  };
  t.teardown(async () => {
    server.destroy();
    await server.close();
    await Promise.all(clients.map((c) => c.destroy()));
  });
  return { store, server, path, client };
}

async function call(client: Client, method: string, path: string, body?: Uint8Array, contentType = FRAME_CONTENT_TYPE) {
  const res = await client.request({ method: method as 'GET', path, body, headers: body ? { 'content-type': contentType } : {} });
  const bytes = new Uint8Array(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, json: () => JSON.parse(Buffer.from(bytes).toString()) };
}

function echoFrame(values: number[], header: Partial<InferRequestHeader> = {}): Buffer {
  const data = new Uint8Array(new Float32Array(values).buffer);
  return encodeFrame<InferRequestHeader>({ model: 'echo', version: '1', ...header }, [{ name: 'x', datatype: 'FP32', shape: [values.length], data }]);
}

/** Releases every run as it starts. */
function autoRelease(store: FakeStore): void {
  store.on('run', (run: PendingRun) => run.release());
}

t.test('readiness follows the store, then the drain', async (t) => {
  const { store, server, client } = await start(t);
  const c = client();
  t.equal((await call(c, 'GET', '/health/live')).status, 200);
  const loading = await call(c, 'GET', '/health/ready');
  t.equal(loading.status, 503);
  t.same(loading.json(), { ready: false, state: 'loading' });
  t.same((await call(c, 'GET', '/models')).json().code, 'GW_ERR_MODEL_NOT_READY');

  store.state = 'ready';
  const ready = await call(c, 'GET', '/health/ready');
  t.equal(ready.status, 200);
  t.same(ready.json(), { ready: true, state: 'ready' });
  t.same((await call(c, 'GET', '/models')).json(), { models: [SIGNATURE], unavailable: [], warnings: [] });

  void server.close();
  t.equal(server.state, 'draining');
});

t.test('routes, methods and frame errors answer {code, message} with the catalogued status', async (t) => {
  const { store, client } = await start(t, 1024);
  store.state = 'ready';
  autoRelease(store);
  const c = client();
  const cases: Array<[string, string, string, Uint8Array | undefined, string | undefined, number, string]> = [
    ['unknown route', 'GET', '/v2/models', undefined, undefined, 404, 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET /infer', 'GET', '/infer', undefined, undefined, 405, 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST /models', 'POST', '/models', echoFrame([1]), undefined, 405, 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['JSON body', 'POST', '/infer', Buffer.from('{}'), 'application/json', 415, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['garbage frame', 'POST', '/infer', Buffer.from([200, 0, 0, 0, 1]), undefined, 400, 'GW_ERR_BAD_FRAME'],
    ['header without model', 'POST', '/infer', echoFrame([1], { model: 7 as unknown as string }), undefined, 400, 'GW_ERR_BAD_FRAME'],
    ['outputs not names', 'POST', '/infer', echoFrame([1], { outputs: [1] as unknown as string[] }), undefined, 400, 'GW_ERR_BAD_FRAME'],
    ['unknown model', 'POST', '/infer', echoFrame([1], { model: 'nope' }), undefined, 404, 'GW_ERR_MODEL_NOT_FOUND'],
    ['body over the limit', 'POST', '/infer', echoFrame(new Array(300).fill(1)), undefined, 413, 'GW_ERR_BODY_TOO_LARGE'],
  ];
  for (const [name, method, path, body, type, status, code] of cases) {
    // A fresh connection each: a 413 closes its connection on purpose.
    const res = await call(client(), method, path, body, type);
    t.equal(res.status, status, `${name}: ${status}`);
    t.equal(res.json().code, code, `${name}: ${code}`);
    t.type(res.json().message, 'string');
  }
  const wrongMethod = await call(c, 'DELETE', '/health/ready');
  t.equal(wrongMethod.headers.allow, 'GET, HEAD');
});

t.test('a chunked body over the limit is cut off with 413', async (t) => {
  const { store, client } = await start(t, 1024);
  store.state = 'ready';
  const body = Readable.from((function* () {
    for (let i = 0; i < 8; i++) yield Buffer.alloc(512);
  })());
  const res = await client().request({ method: 'POST', path: '/infer', body, headers: { 'content-type': FRAME_CONTENT_TYPE } });
  t.equal(res.statusCode, 413);
  t.equal(((await res.body.json()) as { code: string }).code, 'GW_ERR_BODY_TOO_LARGE');
});

t.test('infer answers a frame; tensor bytes reach the store 8-byte aligned whatever the header length', async (t) => {
  const { store, client } = await start(t);
  store.state = 'ready';
  autoRelease(store);
  const c = client();
  const offsets = new Set<number>();
  for (let pad = 0; pad < 8; pad++) {
    // The version string's length moves tensor 0 through every offset mod 8 of the frame.
    const version = `1${'0'.repeat(pad)}`;
    const frame = echoFrame([1.5, -2, pad], { version });
    offsets.add((frame.readUInt32LE(0) + 4) % 8);
    const res = await call(c, 'POST', '/infer', frame);
    t.equal(res.status, 200);
    t.equal(res.headers['content-type'], FRAME_CONTENT_TYPE);
    const { header, tensors } = decodeFrame<InferResponseHeader>(res.bytes);
    t.same([header.model, header.version], ['echo', version]);
    t.same(Array.from(new Float32Array(tensors[0]!.data.slice().buffer)), [1.5, -2, pad]);
  }
  t.equal(offsets.size, 8, 'tensor 0 sat at every offset mod 8 in the frames sent');
  t.equal(store.seen.length, 8);
  for (const tensor of store.seen) t.equal(tensor.data.byteOffset % 8, 0, 'and reached the store aligned');
});

t.test('close() drains: idle keep-alive sockets close, in-flight requests finish, then it resolves', async (t) => {
  const { store, server, client } = await start(t);
  store.state = 'ready';
  const idle = client();
  t.equal((await call(idle, 'GET', '/health/live')).status, 200);
  const busy = client();
  const started = once(store, 'run');
  const inFlight = call(busy, 'POST', '/infer', echoFrame([7]));
  const [run] = (await started) as [PendingRun];
  t.equal(server.inFlight, 1);

  const idleClosed = once(idle, 'disconnect');
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  t.equal(server.close(), server.close(), 'close is idempotent');
  await idleClosed;
  t.notOk(closed, 'close waits for the in-flight request');
  t.equal(server.state, 'draining');

  run.release();
  const res = await inFlight;
  t.equal(res.status, 200, 'the in-flight request completes');
  t.equal(res.headers.connection, 'close', 'and closes its connection');
  await closing;
  t.ok(closed);
});

t.test('destroy() aborts in-flight requests and the drain resolves', async (t) => {
  const { store, server, client } = await start(t);
  store.state = 'ready';
  const started = once(store, 'run');
  const inFlight = call(client(), 'POST', '/infer', echoFrame([7]));
  await started;
  server.destroy();
  await t.rejects(inFlight);
  await server.close();
  server.destroy();
});

t.test('a stale unix socket file is replaced; a live one is not', async (t) => {
  const live = join(dir, 'live.sock');
  const stale = join(dir, 'stale.sock');
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(live, resolve));
  t.teardown(() => holder.close());
  // A hard link to a listening socket outlives it: after close it is a socket file nobody accepts on.
  const tmp = createServer();
  const tmpPath = join(dir, 'tmp.sock');
  await new Promise<void>((resolve) => tmp.listen(tmpPath, resolve));
  linkSync(tmpPath, stale);
  await new Promise<void>((resolve) => tmp.close(() => resolve()));

  await removeStaleUnixSocket(stale);
  t.notOk(existsSync(stale), 'stale socket removed');
  await removeStaleUnixSocket(stale);
  await t.rejects(removeStaleUnixSocket(live), /another process is listening/);
  await t.rejects(new WorkerServer({ store: new FakeStore('loading') }).listen({ kind: 'unix', path: live }), /another process is listening/);
  await t.rejects(removeStaleUnixSocket(dir), /not a unix socket/);
});

t.test('a request whose budget ran out before its turn is dropped unrun and counted as expired', async (t) => {
  const { store, server, client } = await start(t);
  store.state = 'ready';
  autoRelease(store);
  const late = await server.runFrame(echoFrame([1], { timeoutMs: 20 }), performance.now() - 50).then(
    () => null,
    (err: InfergateError) => err,
  );
  t.same([late?.code, late && httpStatusOf(late)], ['GW_ERR_DEADLINE_EXCEEDED', 504]);
  t.equal(store.seen.length, 0, 'the model never ran it');

  const inTime = decodeFrame<InferResponseHeader>(await server.runFrame(echoFrame([2], { timeoutMs: 10_000 }), performance.now()));
  t.same(inTime.header.tensors.map((x) => x.name), ['x'], 'a request within its budget runs');
  const noBudget = decodeFrame<InferResponseHeader>(await server.runFrame(echoFrame([3]), performance.now() - 60_000));
  t.equal(noBudget.tensors.length, 1, 'a frame without timeoutMs is never dropped');

  const stats = (await call(client(), 'GET', '/stats')).json().models['echo/1'];
  t.same([stats.runs, stats.expired], [2, 1]);
});

t.test('a bad timeoutMs in a frame is a GW_ERR_BAD_FRAME', async (t) => {
  const { store, server } = await start(t);
  store.state = 'ready';
  const err = await server.runFrame(echoFrame([1], { timeoutMs: -5 })).catch((e: { code?: string }) => e);
  t.equal((err as { code?: string }).code, 'GW_ERR_BAD_FRAME');
});

t.test('--inject-fault infer-errors fails every inference with a 500 while health stays green', async (t) => {
  const store = new FakeStore('ready');
  const server = new WorkerServer({ store, injectFault: 'infer-errors' });
  const path = join(dir, `w${socketCount++}.sock`);
  await server.listen({ kind: 'unix', path });
  const c = new Client('http://localhost', { socketPath: path });
  t.teardown(async () => {
    server.destroy();
    await server.close();
    await c.destroy();
  });
  t.equal((await call(c, 'GET', '/health/ready')).status, 200);
  const failed = await call(c, 'POST', '/infer', echoFrame([1]));
  t.same([failed.status, failed.json().code], [500, 'GW_ERR_INJECTED_FAULT']);
  t.equal(store.seen.length, 0);
});

t.test('GET /metrics answers the registry it is given (an empty list without one); frames reach the run observer', async (t) => {
  const bare = await start(t);
  const c = bare.client();
  const empty = await call(c, 'GET', '/metrics');
  t.same([empty.status, empty.json()], [200, []]);
  t.equal((await call(c, 'POST', '/metrics')).status, 405);

  const store = new FakeStore('ready');
  autoRelease(store);
  const runs: string[] = [];
  const server = new WorkerServer({ store, metrics: async () => [{ name: 'm', help: 'h', values: [{ value: runs.length, labels: {} }] }] as unknown as WorkerMetricsBody, onRun: (run) => runs.push(`${run.model}/${run.version}`) });
  const path = join(dir, `w${socketCount++}.sock`);
  await server.listen({ kind: 'unix', path });
  const client = new Client('http://localhost', { socketPath: path });
  t.teardown(async () => {
    await client.destroy();
    server.destroy();
    await server.close();
  });
  t.equal((await call(client, 'POST', '/infer', echoFrame([1, 2]))).status, 200);
  t.same(runs, ['echo/1']);
  t.match((await call(client, 'GET', '/metrics')).json(), [{ name: 'm', values: [{ value: 1 }] }]);
});
