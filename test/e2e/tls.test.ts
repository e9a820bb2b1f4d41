// server.tls on real gateways with a test CA (openssl): HTTPS inference
// trusted through the CA, old protocols refused (TLS 1.1; TLS 1.2 under
// minVersion TLSv1.3), HTTP/2 by ALPN beside HTTP/1.1, gRPC over TLS with a
// grpc-js SSL client, a certificate swapped on disk while HTTPS load runs
// (no request fails, open connections stay up on their old certificate, new
// handshakes get the new one), and SIGHUP reloading a gateway process whose
// file poll would not.

import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import t from 'tap';
import { randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { CLASSIFIER_ONLY, startGatewayProcess } from '../helpers/gateway-process.ts';
import { freePort } from '../helpers/redis.ts';
import { replaceFile, testCertificates, type ServerCertificate } from '../helpers/test-certificates.ts';
import { until } from '../helpers/until.ts';

const { dir, ca, first, second } = testCertificates(t);
const random = seededRandom(5);
const INFER_PATH = '/v2/models/classifier/infer';
const inferBody = (): string => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

let live = 0;
/** A cert and key pair of files of its own (the gateway's), holding `from` now. */
function liveFiles(from: ServerCertificate): { certFile: string; keyFile: string; swapTo(to: ServerCertificate): void } {
  const files = { certFile: `${dir}/live-${live}.pem`, keyFile: `${dir}/live-${live++}.key` };
  replaceFile(files.certFile, from.cert);
  replaceFile(files.keyFile, from.key);
  // Key first, then certificate: a poll between the two renames sees a mismatched pair, which must be refused.
  return { ...files, swapTo: (to) => (replaceFile(files.keyFile, to.key), replaceFile(files.certFile, to.cert)) };
}

/** The protocol and the certificate a new handshake gets, or the handshake's error code. */
function handshake(port: number, options: { minVersion?: 'TLSv1' | 'TLSv1.2'; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ALPNProtocols?: string[] } = {}): Promise<{ protocol: string | null; fingerprint256: string; alpn: string | false } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.ca, servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      resolve({ protocol: socket.getProtocol(), fingerprint256: socket.getPeerCertificate().fingerprint256, alpn: socket.alpnProtocol ?? false });
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** POSTs one inference over HTTPS (an agent: its kept-alive connections; none: a connection of its own). */
function infer(port: number, agent: Agent | false): Promise<{ status: number; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const body = inferBody();
    const req = httpsRequest({ host: '127.0.0.1', port, path: INFER_PATH, method: 'POST', ca: ca.ca, servername: 'localhost', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket as TLSSocket }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

t.test('HTTPS and gRPC over TLS, a certificate swapped under load', async (t) => {
  const files = liveFiles(first);
  const grpcPort = await freePort();
  const { url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 1 },
    cache: { enabled: false },
    server: { grpcPort, tls: { certFile: files.certFile, keyFile: files.keyFile, minVersion: 'TLSv1.2', http2: false, reloadCheckMs: 100 } },
  });
  const port = Number(new URL(url).port);

  await t.test('an inference over HTTPS, trusted through the CA', async (t) => {
    const answer = await infer(port, false);
    t.equal(answer.status, 200);
    t.equal(answer.socket.getPeerCertificate().fingerprint256, first.fingerprint256);
    const res = await fetch(`http://127.0.0.1:${port}/v2/health/live`).then(
      () => 'answered',
      () => 'refused',
    );
    t.equal(res, 'refused', 'cleartext HTTP gets no answer on the TLS port');
  });

  await t.test('TLS 1.1 is refused, TLS 1.2 taken (minVersion TLSv1.2)', async (t) => {
    t.match(await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }), { error: /ERR_SSL/ });
    t.match(await handshake(port, { maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2' });
    t.match(await handshake(port), { protocol: 'TLSv1.3', alpn: false });
  });

  await t.test('gRPC over TLS with a grpc-js SSL client', async (t) => {
    const PROTOS = fileURLToPath(new URL('../../gateway/grpc/protos/', import.meta.url));
    const definition = loadSync('grpc_service.proto', { includeDirs: [PROTOS], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    type GrpcClient = Client & Record<string, (...args: unknown[]) => unknown>;
    const Service = (loadPackageDefinition(definition).inference as unknown as { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createSsl>, options?: object) => GrpcClient }).GRPCInferenceService;
    const client = new Service(`localhost:${grpcPort}`, credentials.createSsl(ca.ca));
    t.teardown(() => client.close());
    const call = <T>(method: string, request: object): Promise<T> =>
      new Promise((resolve, reject) => client[method]!(request, new Metadata(), (err: ServiceError | null, response: T) => (err ? reject(err) : resolve(response))));
    t.same(await call('ServerLive', {}), { live: true });
    const answer = await call<{ outputs: Array<{ name: string; shape: number[] }> }>('ModelInfer', {
      model_name: 'classifier',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }],
      raw_input_contents: [Buffer.from(Float32Array.from(randomFloats(random, 64)).buffer)],
    });
    t.same(answer.outputs.map((o) => [o.name, o.shape.map(Number)]), [['probabilities', [1, 10]]]);
    t.match(await handshake(grpcPort, { ALPNProtocols: ['h2'] }), { alpn: 'h2', fingerprint256: first.fingerprint256 }, 'the gRPC port presents the same certificate');
    const insecure = new Service(`127.0.0.1:${grpcPort}`, credentials.createInsecure() as never);
    t.teardown(() => insecure.close());
    await t.rejects(
      new Promise((resolve, reject) => insecure.ServerLive!({}, new Metadata(), { deadline: Date.now() + 2000 }, (err: ServiceError | null, r: unknown) => (err ? reject(err) : resolve(r)))),
      'a cleartext gRPC client gets nothing',
    );
  });

  await t.test('a certificate swapped while HTTPS load runs: no request fails, open connections stay up', async (t) => {
    const KEPT = 4;
    const agent = new Agent({ keepAlive: true, maxSockets: KEPT, ca: ca.ca, servername: 'localhost' });
    t.teardown(() => agent.destroy());
    const failures: string[] = [];
    let answered = 0;
    const keptSockets = new Set<TLSSocket>();
    let closedKept = 0;
    let running = true;
    const count = (outcome: Promise<{ status: number; socket: TLSSocket }>, kept: boolean): Promise<void> =>
      outcome.then(
        ({ status, socket }) => {
          if (status !== 200) failures.push(`status ${status}`);
          answered++;
          if (kept && !keptSockets.has(socket)) {
            keptSockets.add(socket);
            socket.once('close', () => closedKept++);
          }
        },
        (err: NodeJS.ErrnoException) => void failures.push(err.code ?? err.message),
      );
    // Closed loop on the kept-alive connections, and a new connection of its own every 100 ms.
    const loops = Array.from({ length: KEPT }, async () => {
      while (running) await count(infer(port, agent), true);
    });
    const fresh: Array<Promise<void>> = [];
    const freshTimer = setInterval(() => fresh.push(count(infer(port, false), false)), 100);
    t.teardown(() => clearInterval(freshTimer));

    const startedMs = Date.now();
    t.ok(await until(() => keptSockets.size === KEPT && answered >= 20 && Date.now() - startedMs >= 1000, 20_000), 'load runs on every kept-alive connection (for a second)');
    const before = new Set(keptSockets);
    for (const socket of before) t.equal(socket.getPeerCertificate().fingerprint256, first.fingerprint256);
    files.swapTo(second);
    let seen = '';
    t.ok(
      await until(async () => {
        const shake = await handshake(port);
        seen = 'fingerprint256' in shake ? shake.fingerprint256 : shake.error;
        return seen === second.fingerprint256;
      }, 20_000),
      `a new handshake presents the new certificate (last seen ${seen})`,
    );
    const answeredAtSwap = answered;
    const swappedMs = Date.now();
    t.ok(await until(() => answered >= answeredAtSwap + 20 && Date.now() - swappedMs >= 1000, 20_000), 'load goes on after the swap (for a second)');
    running = false;
    clearInterval(freshTimer);
    await Promise.all([...loops, ...fresh]);

    t.same(failures, [], 'no request failed');
    t.equal(closedKept, 0, 'no kept-alive connection was closed');
    t.equal(keptSockets.size, KEPT, 'the load stayed on the connections it had: no new one was needed');
    for (const socket of before) t.equal(socket.getPeerCertificate().fingerprint256, first.fingerprint256, 'an open connection keeps the certificate of its handshake');
    t.match(await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }), { error: /ERR_SSL/ }, 'minVersion holds after the reload');
    const after = await infer(port, false);
    t.equal(after.status, 200);
    t.equal(after.socket.getPeerCertificate().fingerprint256, second.fingerprint256);
  });
});

t.test('tls.http2: HTTP/2 by ALPN beside HTTP/1.1; minVersion TLSv1.3 refuses TLS 1.2', async (t) => {
  const files = liveFiles(first);
  const { url } = await startGateway(t, {
    models: { include: ['classifier'], defaultReplicas: 1 },
    cache: { enabled: false },
    server: { tls: { certFile: files.certFile, keyFile: files.keyFile, minVersion: 'TLSv1.3', http2: true, reloadCheckMs: 100 } },
  });
  const port = Number(new URL(url).port);
  t.match(await handshake(port, { maxVersion: 'TLSv1.2' }), { error: /ERR_SSL/ }, 'TLS 1.2 refused');
  t.match(await handshake(port, { ALPNProtocols: ['h2', 'http/1.1'] }), { protocol: 'TLSv1.3', alpn: 'h2' }, 'h2 chosen when offered');

  const session = http2Connect(`https://localhost:${port}`, { ca: ca.ca });
  t.teardown(() => session.close());
  await once(session, 'connect');
  t.equal(session.alpnProtocol, 'h2');
  const ask = (path: string, body?: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const stream = session.request({ ':method': body ? 'POST' : 'GET', ':path': path, ...(body ? { 'content-type': 'application/json' } : {}) });
      let status = 0;
      let text = '';
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text += chunk));
      stream.once('end', () => resolve({ status, text }));
      stream.once('error', reject);
      stream.end(body);
    });
  const answers = await Promise.all(Array.from({ length: 8 }, () => ask(INFER_PATH, inferBody())));
  t.same(answers.map((a) => a.status), Array(8).fill(200), 'concurrent streams on one connection all answered');
  t.match(JSON.parse(answers[0]!.text), { model_name: 'classifier', outputs: [{ name: 'probabilities', shape: [1, 10] }] });
  t.equal((await ask('/v2/health/ready')).status, 200);
  const http1 = await infer(port, false);
  t.equal(http1.status, 200, 'HTTP/1.1 still answered on the same port');
  t.not(http1.socket.alpnProtocol, 'h2');
});

t.test('SIGHUP makes a gateway process, and the front processes it runs, read the certificate again', async (t) => {
  const files = liveFiles(first);
  // A poll far too slow to matter: only the signal can reload in this test's time. Two processes share the port.
  const tls = { certFile: files.certFile, keyFile: files.keyFile, reloadCheckMs: 3_600_000 };
  const gateway = await startGatewayProcess(t, { replicas: 1, config: { ...CLASSIFIER_ONLY, server: { processes: 2, tls } } });
  const port = Number(new URL(gateway.origin).port);
  t.match(await handshake(port), { fingerprint256: first.fingerprint256 });
  t.match(gateway.stdout() + gateway.handle.output(), /listening on https:\/\//, 'the listening line says https');
  files.swapTo(second);
  t.match(await handshake(port), { fingerprint256: first.fingerprint256 }, 'no reload before the signal');
  process.kill(gateway.handle.pid, 'SIGHUP');
  const fingerprint = async (): Promise<string> => handshake(port).then((s) => ('fingerprint256' in s ? s.fingerprint256 : s.error));
  t.ok(await until(async () => (await fingerprint()) === second.fingerprint256, 20_000), 'a new handshake gets the new certificate');
  // The kernel spreads new connections over both processes (SO_REUSEPORT): each must have reloaded.
  t.ok(
    await until(async () => {
      const seen = await Promise.all(Array.from({ length: 16 }, fingerprint));
      return seen.every((f) => f === second.fingerprint256);
    }, 20_000),
    'every process presents the new certificate',
  );
  t.ok(await until(() => /infergate front-1 reloading its TLS certificate/.test(gateway.stdout()), 10_000), 'the leader passed the signal on to its front');
  t.equal((await infer(port, false)).status, 200, 'the gateway still serves');
  t.equal(gateway.handle.child.exitCode, null, 'SIGHUP did not stop the process');
});
