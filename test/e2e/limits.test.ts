// Bounded requests and answers, against real workers: the request limits
// (rows, elements, a dimension of an empty tensor) refuse before anything is
// run; an answer larger than limits.maxResponseBytes is refused by the
// worker that computed it, batched or not, and never retried on another
// replica; an upload slower than the request's deadline gets 408; a long
// name is not echoed back whole.

import { connect } from 'node:net';
import t from 'tap';
import { getJson, postJson, startGateway } from '../helpers/gateway.ts';

const MAX_RESPONSE_BYTES = 4096;
const { gateway, url } = await startGateway(t, {
  models: { include: ['classifier', 'pooler'] },
  limits: { maxRowsPerRequest: 1000, maxResponseBytes: MAX_RESPONSE_BYTES },
  cache: { enabled: false },
});
const attempts = () => gateway.replicas.replicas.reduce((n, r) => n + r.completed + r.failed, 0);
const pooler = (shape: number[], data: number[] = []) => postJson(`${url}/v2/models/pooler/infer`, { inputs: [{ name: 'tokens', datatype: 'FP32', shape, data }] });

t.test('request limits refuse before anything runs', async (t) => {
  const table: Array<[string, number[], RegExp]> = [
    ['an empty tensor with a huge first dim (the amplifying shape)', [16_777_216, 0, 8], /limits\.(maxRowsPerRequest|maxElementsPerRequest)/],
    ['an empty tensor with a huge inner dim', [0, 16_777_216, 8], /limits\.maxElementsPerRequest/],
    ['more rows than limits.maxRowsPerRequest', [1001, 0, 8], /limits\.maxRowsPerRequest/],
  ];
  for (const [name, shape, message] of table) {
    const before = attempts();
    const answer = await pooler(shape);
    t.same([answer.status, answer.body.code], [413, 'GW_ERR_REQUEST_TOO_LARGE'], name);
    t.match(answer.body.error, message, `${name}: names the limit`);
    t.equal(attempts(), before, `${name}: no worker saw it`);
  }
  const empty = await pooler([3, 0, 8]);
  t.same([empty.status, empty.body.outputs?.[0].shape], [200, [3, 4]], 'a small empty tensor is still served');
});

t.test('an answer over limits.maxResponseBytes is a 413 from the worker, never retried', async (t) => {
  // pooled is FP32 [rows, 4]: 16 bytes a row, so 300 rows make 4800 bytes > 4096.
  const table: Array<[string, () => Promise<{ status: number; body: any }>]> = [
    ['one request', () => pooler([300, 1, 8], new Array(300 * 8).fill(0.5))],
    ['a batch member', async () => {
      const [big, small] = await Promise.all([pooler([300, 1, 8], new Array(300 * 8).fill(0.5)), pooler([2, 1, 8], new Array(16).fill(0.5))]);
      t.equal(small.status, 200, 'a small request batched with it is served');
      return big;
    }],
  ];
  for (const [name, send] of table) {
    const failedBefore = gateway.replicas.replicas.reduce((n, r) => n + r.failed, 0);
    const answer = await send();
    t.same([answer.status, answer.body.code], [413, 'GW_ERR_RESPONSE_TOO_LARGE'], name);
    t.match(answer.body.error, /4800 bytes .*limit is 4096 \(limits\.maxResponseBytes\)/, `${name}: says how large and which limit`);
    const failed = gateway.replicas.replicas.reduce((n, r) => n + r.failed, 0) - failedBefore;
    t.ok(failed <= 1, `${name}: at most one replica ran it (${failed})`);
  }
  t.equal((await pooler([100, 1, 8], new Array(800).fill(0.5))).status, 200, '1600 bytes are served');
});

t.test('the deadline covers the upload: a slow body gets 408 and a closed connection', async (t) => {
  const port = new URL(url).port;
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0) }] });
  socket.write(`POST /v2/models/classifier/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-infergate-timeout-ms: 300\r\ncontent-length: ${body.length}\r\n\r\n`);
  // A few bytes, then nothing more: the deadline passes while the body is read.
  socket.write(body.slice(0, 10));
  const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
  await closed;
  clearInterval(trickle);
  t.match(answer, /^HTTP\/1\.1 408 /, '408');
  t.match(answer, /GW_ERR_BODY_TIMEOUT/);
  t.match(answer, /bytes of the body had arrived when the request's deadline passed, 300 ms after its headers/);
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, JSON.parse(body))).status, 200, 'the next request is served');
});

t.test('client text echoed in errors is cut short', async (t) => {
  const name = 'm'.repeat(10_000);
  const infer = await postJson(`${url}/v2/models/${name}/infer`, {});
  t.equal(infer.status, 404);
  t.ok(infer.body.error.length < 300, `404 message is ${infer.body.error.length} characters`);
  const metadata = await getJson(`${url}/v2/models/${name}`);
  t.ok(metadata.body.error.length < 300);
  const input = await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'i'.repeat(10_000), datatype: 'FP32', shape: [1], data: [1] }] });
  t.same([input.status, input.body.code], [400, 'GW_ERR_UNKNOWN_INPUT']);
  t.ok(input.body.error.length < 300, `an unknown input's name too (${input.body.error.length} characters)`);
  const route = await getJson(`${url}/v3/${'x'.repeat(10_000)}`);
  t.equal(route.status, 404);
  t.ok(route.body.error.length < 300, 'an unknown path too');
});
