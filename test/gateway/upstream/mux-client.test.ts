// The gateway's mux client against a fake worker end (a raw mux listener whose
// answers the test scripts) and against a real worker-side MuxServer in a child
// process that is SIGKILLed: the same contract and failure classification as
// WorkerClient.infer.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { encodeMuxError, encodeMuxHeader, MUX_KIND, MuxDecoder, type MuxKind, type MuxMessage } from '../../../common/mux.ts';
import { UpstreamFailure } from '../../../gateway/upstream/failure.ts';
import { MuxClient } from '../../../gateway/upstream/mux-client.ts';
import { WorkerClient } from '../../../gateway/upstream/worker-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-mux-client-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

type Handler = (message: MuxMessage, reply: (kind: MuxKind, body: Uint8Array) => void, socket: Socket) => void;

/** A fake worker mux end: every request goes to `handler`; counts connections and socket writes received. */
async function fakeWorker(t: Test, handler: Handler) {
  const path = join(dir, `w${count++}.sock.mux`);
  const sockets = new Set<Socket>();
  const stats = { connections: 0, chunks: 0 };
  const server: Server = createServer((socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new MuxDecoder({ maxBodyBytes: 1 << 20 });
    socket.on('data', (chunk: Buffer) => {
      stats.chunks++;
      for (const m of decoder.push(chunk)) {
        handler(m, (kind, body) => socket.write(Buffer.concat([encodeMuxHeader(m.id, kind, body.byteLength), body])), socket);
      }
    });
  });
  server.listen(path);
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { path, sockets, stats, server };
}

const echo: Handler = (m, reply) => reply(MUX_KIND.responseOk, m.body);

async function failure(promise: Promise<unknown>): Promise<UpstreamFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof UpstreamFailure) return err;
    throw err;
  }
  throw new Error('expected an UpstreamFailure');
}

t.test('concurrent requests share one connection, are coalesced, and resolve by id in any order', async (t) => {
  const held: Array<() => void> = [];
  const worker = await fakeWorker(t, (m, reply) => held.push(() => reply(MUX_KIND.responseOk, m.body)));
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  t.teardown(() => client.destroy());
  const answers = Array.from({ length: 50 }, (_, i) => client.infer(Buffer.from(`frame-${i}`), 5_000));
  while (held.length < 50) await new Promise((resolve) => setImmediate(resolve));
  for (const answer of held.reverse()) answer();
  t.same((await Promise.all(answers)).map((a) => Buffer.from(a).toString()), Array.from({ length: 50 }, (_, i) => `frame-${i}`));
  t.equal(worker.stats.connections, 1);
  t.ok(worker.stats.chunks <= 2, `50 requests arrived in ${worker.stats.chunks} socket read(s)`);
  t.equal(client.pending, 0);
});

t.test('response-error: ≥500 is the replica\'s failure, <500 the request\'s', async (t) => {
  const worker = await fakeWorker(t, (m, reply) => {
    const status = Number(Buffer.from(m.body).toString());
    const code = status === 503 ? 'GW_ERR_SHUTTING_DOWN' : 'GW_ERR_MODEL_NOT_FOUND';
    reply(MUX_KIND.responseError, encodeMuxError(status, { code, message: `status ${status}` }));
  });
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  t.teardown(() => client.destroy());
  const replica = await failure(client.infer(Buffer.from('503'), 5_000));
  t.same([replica.origin, replica.error.code, replica.message], ['replica', 'GW_ERR_SHUTTING_DOWN', 'status 503']);
  const request = await failure(client.infer(Buffer.from('404'), 5_000));
  t.same([request.origin, request.error.code, request.retryable, request.replicaFault], ['request', 'GW_ERR_MODEL_NOT_FOUND', false, false]);
});

t.test('no answer by the deadline → timeout; the late answer is dropped and the connection stays usable', async (t) => {
  let late: (() => void) | null = null;
  const worker = await fakeWorker(t, (m, reply) => {
    if (Buffer.from(m.body).toString() === 'slow') late = () => reply(MUX_KIND.responseOk, m.body);
    else reply(MUX_KIND.responseOk, m.body);
  });
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  t.teardown(() => client.destroy());
  const timedOut = await failure(client.infer(Buffer.from('slow'), 10));
  t.same([timedOut.origin, timedOut.error.code], ['timeout', 'GW_ERR_DEADLINE_EXCEEDED']);
  t.equal(client.pending, 0);
  // On a loaded machine the request may reach the worker only after the 10 ms ran out: answer it late either way.
  while (late === null) await new Promise((resolve) => setTimeout(resolve, 1));
  (late as () => void)();
  t.equal(Buffer.from(await client.infer(Buffer.from('fast'), 5_000)).toString(), 'fast');
  t.equal(worker.stats.connections, 1);
});

t.test('deadlines share one timer per connection: a shorter one after a longer one still fails first, each on time', async (t) => {
  const worker = await fakeWorker(t, () => {}); // never answers
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  t.teardown(() => client.destroy());
  const started = performance.now();
  const settledAt = (p: Promise<unknown>): Promise<number> => failure(p).then(() => performance.now() - started);
  const long = settledAt(client.infer(Buffer.from('long'), 400));
  const short = settledAt(client.infer(Buffer.from('short'), 40));
  const shortMs = await short;
  t.ok(shortMs >= 39 && shortMs < 300, `the 40 ms request failed after ${shortMs.toFixed(0)} ms, not with the 400 ms one`);
  t.equal(client.pending, 1, 'the longer request is still pending');
  const longMs = await long;
  t.ok(longMs >= 399, `the 400 ms request failed after ${longMs.toFixed(0)} ms`);
  t.equal(client.pending, 0);
});

t.test('the connection closing fails every pending request as transport; the next request reconnects', async (t) => {
  const worker = await fakeWorker(t, (m, reply, socket) => {
    if (Buffer.from(m.body).toString() === 'ok') reply(MUX_KIND.responseOk, m.body);
    else if (Buffer.from(m.body).toString() === 'die') socket.destroy();
  });
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  t.teardown(() => client.destroy());
  const pending = [client.infer(Buffer.from('hang'), 5_000), client.infer(Buffer.from('hang'), 5_000), client.infer(Buffer.from('die'), 5_000)];
  const failures = await Promise.all(pending.map(failure));
  t.same(failures.map((f) => [f.origin, f.error.code, f.retryable]), Array(3).fill(['transport', 'GW_ERR_UPSTREAM_UNAVAILABLE', true]));
  t.equal(Buffer.from(await client.infer(Buffer.from('ok'), 5_000)).toString(), 'ok');
  t.equal(worker.stats.connections, 2, 'reconnected lazily');
});

t.test('no worker listening → transport', async (t) => {
  const client = new MuxClient({ id: 'w0', target: { socketPath: join(dir, 'nobody.sock.mux') } });
  const f = await failure(client.infer(Buffer.from('x'), 5_000));
  t.same([f.origin, f.error.code], ['transport', 'GW_ERR_UPSTREAM_UNAVAILABLE']);
  t.match(f.message, /ENOENT/);
});

t.test('close lets pending requests finish, then refuses; destroy fails pending ones', async (t) => {
  const held: Array<() => void> = [];
  const worker = await fakeWorker(t, (m, reply) => held.push(() => reply(MUX_KIND.responseOk, m.body)));
  const client = new MuxClient({ id: 'w0', target: { socketPath: worker.path } });
  const answer = client.infer(Buffer.from('a'), 5_000);
  while (held.length < 1) await new Promise((resolve) => setImmediate(resolve));
  const closed = client.close();
  t.equal((await failure(client.infer(Buffer.from('b'), 5_000))).origin, 'transport', 'refused while closing');
  held[0]!();
  t.equal(Buffer.from(await answer).toString(), 'a');
  await closed;
  t.equal(await client.close(), undefined, 'idempotent');

  const other = new MuxClient({ id: 'w1', target: { socketPath: worker.path } });
  const lost = other.infer(Buffer.from('c'), 5_000);
  while (held.length < 2) await new Promise((resolve) => setImmediate(resolve));
  await other.destroy();
  await other.destroy();
  t.equal((await failure(lost)).origin, 'transport');
});

t.test('WorkerClient sends infer over the mux channel when the address names one', async (t) => {
  const worker = await fakeWorker(t, echo);
  const client = new WorkerClient({ id: 'w0', address: { socketPath: join(dir, 'no-http.sock'), muxSocketPath: worker.path }, maxConnections: 1 });
  t.teardown(() => client.destroy());
  t.equal(Buffer.from(await client.infer(Buffer.from('via mux'), 5_000)).toString(), 'via mux');
});

const MUX_SERVER = fileURLToPath(new URL('../../../worker/mux-server.ts', import.meta.url));

t.test('a worker process killed mid-request → every pending request fails as transport', async (t) => {
  const path = join(dir, `killed${count++}.sock.mux`);
  // A real MuxServer whose runs never finish, in its own process.
  const script = `
    import { MuxServer } from ${JSON.stringify(MUX_SERVER)};
    const server = new MuxServer({ runFrame: () => new Promise(() => {}) });
    await server.listen({ kind: 'unix', path: ${JSON.stringify(path)} });
    process.stdout.write('listening\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await once(child.stdout!, 'data');
  const client = new MuxClient({ id: 'w0', target: { socketPath: path } });
  t.teardown(() => client.destroy());
  const pending = Array.from({ length: 5 }, () => client.infer(Buffer.from('x'), 10_000));
  while (client.pending < 5) await new Promise((resolve) => setImmediate(resolve));
  child.kill('SIGKILL');
  const failures = await Promise.all(pending.map(failure));
  t.same(failures.map((f) => f.origin), Array(5).fill('transport'));
});
