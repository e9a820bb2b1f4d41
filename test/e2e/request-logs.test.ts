// One request, followed through the logs of `infergate gateway` as users run
// it: the client's x-request-id comes back on the answer, is the requestId of
// the gateway's access-log line, and is among the requestIds of the worker's
// line about the run that served it. An id that is not a plain token (10 KB,
// a control character, a newline, non-ASCII) is replaced by a generated one
// (a random prefix and a counter), or the request is refused by Node's HTTP parser (400): either way
// the raw value never reaches any output line.

import { connect } from 'node:net';
import t from 'tap';
import { CLASSIFIER_ONLY, jsonLines, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';

const INFER_PATH = '/v2/models/classifier/infer';
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array(64).fill(0.25) }] });
const GENERATED_ID = /^[0-9a-f]{16}-[0-9a-z]+$/;
const LOG_WAIT_MS = 10_000;

const gateway = await startGatewayProcess(t, {
  replicas: 1,
  config: { ...CLASSIFIER_ONLY, logging: { level: 'debug', format: 'json', accessLog: { enabled: true } } },
});

type Line = Record<string, unknown>;

/** Waits until the output holds a line that `matches`; undefined when none came in time. */
async function lineWhere(g: GatewayProcess, matches: (line: Line) => boolean): Promise<Line | undefined> {
  const deadline = Date.now() + LOG_WAIT_MS;
  for (;;) {
    const found = jsonLines(g.stdout()).find(matches);
    if (found || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const accessLine = (id: string) => (line: Line) => line.msg === 'request' && line.requestId === id;
const workerLine = (id: string) => (line: Line) => line.process === 'worker' && Array.isArray(line.requestIds) && line.requestIds.includes(id);

/** Sends the infer request as raw bytes (header values fetch would refuse); resolves with the status and headers of the answer. */
function rawInfer(origin: string, requestId: Buffer): Promise<{ status: number; headers: Map<string, string> }> {
  const { hostname, port } = new URL(origin);
  const head = Buffer.from(`POST ${INFER_PATH} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nconnection: close\r\nx-request-id: `, 'latin1');
  const request = Buffer.concat([head, requestId, Buffer.from(`\r\n\r\n${BODY}`, 'latin1')]);
  return new Promise((resolve, reject) => {
    // Written, not ended: the server closes the connection after its answer (connection: close).
    const socket = connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [statusLine = '', ...headerLines] = Buffer.concat(chunks).toString('latin1').split('\r\n\r\n')[0]!.split('\r\n');
      const headers = new Map(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
  });
}

t.test("a client's request id: echoed, in the gateway's access log and in the worker's run line", async (t) => {
  const res = await fetch(`${gateway.origin}${INFER_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'test-req-42' }, body: BODY });
  t.equal(res.status, 200);
  await res.arrayBuffer();
  t.equal(res.headers.get('x-request-id'), 'test-req-42', 'the answer echoes it');

  const access = await lineWhere(gateway, accessLine('test-req-42'));
  t.ok(access, 'the gateway logged the request');
  t.match(access, { level: 'info', process: 'gateway', requestId: 'test-req-42', protocol: 'rest', model: 'classifier', status: 200, durationMs: Number }, 'a JSON access-log line of the gateway process');
  t.notOk(access && 'code' in access, 'no error code on a success');

  const run = await lineWhere(gateway, workerLine('test-req-42'));
  t.ok(run, 'a worker logged the run that served it');
  t.match(run, { process: 'worker', worker: String, model: 'classifier' }, "the worker's JSON line names the process and the worker");
  if (!access || !run) t.comment(gateway.stdout().slice(-4_000));
});

t.test('an insane request id is replaced by a generated one, and never written anywhere', async (t) => {
  // Each carries a marker that must appear in no output line.
  const cases: Array<{ name: string; marker: string; value: Buffer }> = [
    { name: '10 KB', marker: 'huge-marker', value: Buffer.from(`huge-marker-${'x'.repeat(10 * 1024)}`, 'latin1') },
    { name: 'a control character', marker: 'ctl-marker', value: Buffer.from('ctl-marker-\u0001-x', 'latin1') },
    { name: 'a tab (a control character Node lets through)', marker: 'tab-marker', value: Buffer.from('tab-marker-\t-x', 'latin1') },
    { name: 'a newline forging a log line', marker: 'nl-marker', value: Buffer.from('nl-marker\n{"level":"error","msg":"forged"}', 'latin1') },
    { name: 'non-ASCII bytes', marker: 'utf8-marker', value: Buffer.from('utf8-marker-é', 'utf8') },
  ];
  for (const c of cases) {
    const answer = await rawInfer(gateway.origin, c.value);
    if (answer.status === 400 && !answer.headers.has('x-request-id')) {
      t.pass(`${c.name}: refused by Node's HTTP parser (400) before the gateway saw it`);
    } else {
      t.equal(answer.status, 200, `${c.name}: served`);
      const echoed = answer.headers.get('x-request-id') ?? '';
      t.match(echoed, GENERATED_ID, `${c.name}: the answer carries a generated id`);
      t.match(await lineWhere(gateway, accessLine(echoed)), { process: 'gateway', requestId: echoed, status: 200 }, `${c.name}: the access log has the generated id`);
      t.ok(await lineWhere(gateway, workerLine(echoed)), `${c.name}: so does the worker's run line`);
    }
    t.notOk(gateway.stdout().includes(c.marker) || gateway.handle.output().includes(c.marker), `${c.name}: the raw value is in no output line (stdout or stderr)`);
  }
  t.notOk(jsonLines(gateway.stdout()).some((line) => line.msg === 'forged'), 'no forged line');
});
