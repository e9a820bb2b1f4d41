// A worker on another host, as the gateway reaches it: TCP for HTTP and the
// mux channel, TLS on both (certificates from a CA the test makes with
// openssl), and the shared worker token. The gateway with the right token
// and CA serves through it; a caller with a wrong token or none is refused
// on both channels, and the health routes stay open for probes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { MuxClient } from '../../gateway/upstream/mux-client.ts';
import { UpstreamFailure } from '../../gateway/upstream/failure.ts';
import { encodeFrameBytes, requestHeader } from '../../common/wire.ts';
import { demoRepository, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRemoteWorker } from '../helpers/remote-worker.ts';
import { until } from '../helpers/until.ts';

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!openssl) t.comment('skipped: openssl is not installed (it makes the test CA and the worker certificate)');

const dir = mkdtempSync(join(tmpdir(), 'infergate-remote-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);
const TOKEN = 'fleet-secret-3f9a';
writeFileSync(file('token'), `${TOKEN}\n`);

/** A CA and a worker certificate for 127.0.0.1 signed by it (P-256 keys: quick to make). */
function makeCertificates(): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=infergate test CA');
  run('req', ...ec, '-keyout', 'worker.key', '-out', 'worker.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'worker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'worker.pem', '-days', '1', '-extfile', 'san.cnf');
}

const random = seededRandom(17);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });

t.test('TLS and the worker token on both channels', { skip: !openssl }, async (t) => {
  makeCertificates();
  const repository = await demoRepository(t);
  const worker = await startRemoteWorker(t, {
    host: '127.0.0.1',
    port: 0,
    muxPort: 0,
    repository,
    models: [{ name: 'classifier' }],
    tokenFile: file('token'),
    tls: { certFile: file('worker.pem'), keyFile: file('worker.key') },
  });
  const ca = readFileSync(file('ca.pem'));
  const https = new Agent({ connect: { ca } });
  t.teardown(() => https.close());
  const origin = `https://127.0.0.1:${worker.port}`;

  t.test('the gateway with the token and the CA serves through the worker', async (t) => {
    const { gateway, url } = await startGateway(
      t,
      {
        models: { defaultReplicas: 0, include: ['classifier'] },
        batching: { enabled: false },
        cache: { enabled: false },
        staticReplicas: [{ id: 'remote', address: `127.0.0.1:${worker.port}`, muxPort: worker.muxPort, models: ['classifier'] }],
        workers: { remote: { token: TOKEN, tls: true, tlsCaFile: file('ca.pem'), discovery: { static: [], servers: [], refreshMs: 5_000 } } },
      },
      repository,
    );
    await until(() => gateway.replicas.replicas[0]?.state === 'ready', 30_000);
    const answers = await Promise.all(Array.from({ length: 30 }, () => postJson(`${url}/v2/models/classifier/infer`, body())));
    t.same(answers.map((a) => a.status), Array(30).fill(200));
    t.equal(gateway.replicas.replicas[0]!.completed, 30, 'every request went to the remote worker');
  });

  t.test('HTTP: a wrong token or none is refused; the health routes stay open', async (t) => {
    const get = async (path: string, token?: string) => {
      const res = await request(`${origin}${path}`, { dispatcher: https, headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.statusCode, body: (await res.body.json()) as { code?: string } };
    };
    for (const token of [undefined, 'wrong', `${TOKEN}x`]) {
      const answer = await get('/models', token);
      t.same([answer.status, answer.body.code], [401, 'GW_ERR_WORKER_TOKEN'], `token ${token ?? 'none'}`);
    }
    t.equal((await get('/models', TOKEN)).status, 200, 'the right token');
    t.equal((await get('/health/live')).status, 200, 'liveness needs no token');
    t.equal((await get('/health/ready')).status, 200, 'readiness needs no token');
    await t.rejects(request(`${origin}/health/live`), 'a client that does not trust the CA cannot connect');
  });

  t.test('mux: a connection without the right hello is answered GW_ERR_WORKER_TOKEN and closed', async (t) => {
    const frame = () => encodeFrameBytes(requestHeader('classifier', '2', { outputs: undefined, budgetMs: 5_000, maxOutputBytes: 1 << 20 }), [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Uint8Array(64 * 4) }]);
    const target = { host: '127.0.0.1', port: worker.muxPort, tls: { ca } };
    for (const token of [undefined, 'wrong']) {
      const client = new MuxClient({ id: 'probe', target, ...(token ? { token } : {}) });
      const refused = await client.infer(frame(), 5_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      t.ok(refused instanceof UpstreamFailure, `token ${token ?? 'none'}: refused`);
      t.equal((refused as UpstreamFailure).error.code, 'GW_ERR_WORKER_TOKEN');
      await client.destroy();
    }
    const client = new MuxClient({ id: 'probe', target, token: TOKEN });
    const answer = await client.infer(frame(), 5_000);
    t.ok(answer.byteLength > 0, 'the right token is answered');
    await client.close();
  });
});
