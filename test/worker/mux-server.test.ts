// The worker's mux channel in-process over a fake model store (the same infer
// path as POST /infer): answers out of order, errors with catalogued statuses,
// aligned tensors, protocol errors, and the drain (close) and abort (destroy).

import { EventEmitter, once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decodeMuxError, encodeMuxHeader, MUX_KIND, MuxDecoder, type MuxMessage } from '../../common/mux.ts';
import { decodeFrame, encodeFrame, type InferRequestHeader, type InferResponseHeader } from '../../common/wire.ts';
import { MuxServer } from '../../worker/mux-server.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { FakeStore, type PendingRun } from './fake-store.ts';
import { WorkerServer } from '../../worker/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-mux-server-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** A raw mux connection: send(id, frame) and next() for the next answer. */
class Peer {
  readonly socket: Socket;
  readonly #decoder = new MuxDecoder({ maxBodyBytes: 1 << 20 });
  readonly #answers: MuxMessage[] = [];
  readonly #events = new EventEmitter();
  closed: Promise<unknown>;

  constructor(path: string) {
    this.socket = connect(path);
    this.socket.on('data', (chunk: Buffer) => {
      this.#answers.push(...this.#decoder.push(chunk));
      this.#events.emit('answer');
    });
    this.socket.on('error', () => {});
    this.closed = once(this.socket, 'close');
  }

  send(id: number, body: Uint8Array, kind: number = MUX_KIND.request): void {
    this.socket.write(Buffer.concat([encodeMuxHeader(id, kind as typeof MUX_KIND.request, body.byteLength), body]));
  }

  async next(): Promise<MuxMessage> {
    while (this.#answers.length === 0) await once(this.#events, 'answer');
    return this.#answers.shift()!;
  }
}

async function start(t: Test, logger = captureLogger().logger, token?: string) {
  const store = new FakeStore();
  const worker = new WorkerServer({ store });
  const mux = new MuxServer({ runFrame: (body) => worker.runFrame(body), maxBodyBytes: 4096, logger, ...(token ? { token } : {}) });
  const path = join(dir, `w${count++}.sock.mux`);
  await mux.listen({ kind: 'unix', path });
  const peers: Peer[] = [];
  t.teardown(async () => {
    mux.destroy();
    await mux.close();
    for (const p of peers) p.socket.destroy();
  });
  const peer = (): Peer => {
    const p = new Peer(path);
    peers.push(p);
    return p;
  };
  return { store, worker, mux, path, peer };
}

function echoFrame(values: number[], header: Partial<InferRequestHeader> = {}): Buffer {
  const data = new Uint8Array(new Float32Array(values).buffer);
  return encodeFrame<InferRequestHeader>({ model: 'echo', version: '1', ...header }, [{ name: 'x', datatype: 'FP32', shape: [values.length], data }]);
}

function values(message: MuxMessage): number[] {
  const { tensors } = decodeFrame<InferResponseHeader>(Buffer.from(message.body));
  return [...new Float32Array(Uint8Array.from(tensors[0]!.data).buffer)];
}

/** The next n runs to start (several may start in one tick). */
function runs(store: FakeStore, n: number): Promise<PendingRun[]> {
  return new Promise((resolve) => {
    const out: PendingRun[] = [];
    const onRun = (run: PendingRun): void => {
      out.push(run);
      if (out.length < n) return;
      store.off('run', onRun);
      resolve(out);
    };
    store.on('run', onRun);
  });
}

t.test('concurrent requests on one connection are answered as they finish, tagged by id', async (t) => {
  const { store, worker, peer } = await start(t);
  const p = peer();
  const started = runs(store, 3);
  p.send(10, echoFrame([1]));
  p.send(11, echoFrame([2, 2]));
  p.send(12, echoFrame([3, 3, 3]));
  const [a, b, c] = await started;
  c!.release();
  const first = await p.next();
  t.same([first.id, first.kind, values(first)], [12, MUX_KIND.responseOk, [3, 3, 3]]);
  a!.release();
  b!.release();
  const rest = [await p.next(), await p.next()].sort((x, y) => x.id - y.id);
  t.same(rest.map((m) => [m.id, values(m)]), [[10, [1]], [11, [2, 2]]]);
  t.same(store.seen.map((x) => x.data.byteOffset % 4), [0, 0, 0], 'tensors reach the store aligned');
  t.equal(worker.inFlight, 0);
});

t.test('failures answer response-error with the catalogued status and {code, message}', async (t) => {
  const { logger, lines } = captureLogger();
  const { peer } = await start(t, logger);
  const p = peer();
  const cases: Array<[string, Uint8Array, number, string]> = [
    ['garbage frame', Buffer.from([200, 0, 0, 0, 1]), 400, 'GW_ERR_BAD_FRAME'],
    ['header without model', echoFrame([1], { model: 7 as unknown as string }), 400, 'GW_ERR_BAD_FRAME'],
    ['unknown model', echoFrame([1], { model: 'nope' }), 404, 'GW_ERR_MODEL_NOT_FOUND'],
    ['unexpected error', echoFrame([1], { model: 'boom' }), 500, 'GW_ERR_INTERNAL'],
  ];
  for (const [name, body, status, code] of cases) {
    p.send(1, body);
    const answer = await p.next();
    t.equal(answer.kind, MUX_KIND.responseError, name);
    const error = decodeMuxError(answer.body);
    t.equal(error.status, status, `${name}: ${status}`);
    t.equal((error.body as { code: string }).code, code, `${name}: ${code}`);
  }
  t.match(lines(), [{ level: 'error', err: { message: 'unexpected' } }], 'internal errors are logged');
});

t.test('a message over the size limit or of a response kind drops the connection', async (t) => {
  const { peer } = await start(t);
  const big = peer();
  big.socket.write(encodeMuxHeader(1, MUX_KIND.request, 5000));
  await big.closed;
  const wrongKind = peer();
  wrongKind.socket.write(encodeMuxHeader(1, MUX_KIND.responseOk, 0));
  await wrongKind.closed;
  t.pass('both connections closed');
});

t.test('close drains: in-flight requests finish, new ones are refused, then connections end', async (t) => {
  const { store, mux, path, peer } = await start(t);
  const p = peer();
  const started = runs(store, 1);
  p.send(1, echoFrame([1]));
  const [run] = await started;
  let closed = false;
  const closing = mux.close().then(() => (closed = true));
  p.send(2, echoFrame([2]));
  const refused = await p.next();
  t.equal(refused.id, 2);
  t.equal((decodeMuxError(refused.body).body as { code: string }).code, 'GW_ERR_SHUTTING_DOWN');
  t.equal(decodeMuxError(refused.body).status, 503);
  t.notOk(closed, 'still draining while a run is in flight');
  run!.release();
  const answer = await p.next();
  t.same([answer.id, answer.kind], [1, MUX_KIND.responseOk]);
  await p.closed;
  await closing;
  t.notOk(existsSync(path), 'the socket file is gone');
  t.equal(await mux.close(), undefined, 'close is idempotent');
});

t.test('destroy aborts in-flight requests', async (t) => {
  const { store, mux, peer } = await start(t);
  const p = peer();
  const started = runs(store, 1);
  p.send(1, echoFrame([1]));
  const [run] = await started;
  mux.destroy();
  mux.destroy();
  await p.closed;
  run!.release();
  await mux.close();
  t.pass('connection aborted, close resolves');
});

t.test('a worker token: the hello must come first and carry it; a worker without one ignores a hello', async (t) => {
  const token = Buffer.from('s3cret');
  const guarded = await start(t, captureLogger().logger, 's3cret');
  const good = guarded.peer();
  good.send(0, token, MUX_KIND.hello);
  const started = runs(guarded.store, 1);
  good.send(1, echoFrame([5]));
  (await started)[0]!.release();
  t.same(values(await good.next()), [5], 'served after the right hello');

  for (const [name, hello] of [['no hello', undefined], ['a wrong token', Buffer.from('guess')]] as const) {
    const bad = guarded.peer();
    if (hello) bad.send(0, hello, MUX_KIND.hello);
    bad.send(2, echoFrame([6]));
    const refused = await bad.next();
    t.same([refused.kind, decodeMuxError(refused.body).status, (decodeMuxError(refused.body).body as { code: string }).code], [MUX_KIND.responseError, 401, 'GW_ERR_WORKER_TOKEN'], name);
    await bad.closed;
    t.pass(`${name}: the connection is closed`);
  }
  t.equal(guarded.store.seen.length, 1, 'nothing ran for them');

  const open = await start(t);
  const p = open.peer();
  p.send(0, token, MUX_KIND.hello);
  const run = runs(open.store, 1);
  p.send(3, echoFrame([7]));
  (await run)[0]!.release();
  t.same(values(await p.next()), [7]);
});
