// Every kind of bad input is answered 4xx with {"error"} and a catalogued
// code by the gateway itself — no worker sees it — and the next good request
// is served normally.

import { request } from 'node:http';
import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const { gateway, url } = await startGateway(t, { server: { maxBodyBytes: 64 * 1024 } });
const random = seededRandom(5);
const good = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const sentToWorkers = () => gateway.replicas.replicas.reduce((n, r) => n + r.completed + r.failed, 0);

t.test('bad requests get their 4xx and never reach a worker', async (t) => {
  const input = (patch: object) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64), ...patch }] });
  const table: Array<{ name: string; path?: string; body: unknown; status: number; code: string; headers?: Record<string, string> }> = [
    { name: 'unknown model', path: '/v2/models/nope/infer', body: good(), status: 404, code: 'GW_ERR_MODEL_NOT_FOUND' },
    { name: 'unknown version', path: '/v2/models/classifier/versions/9/infer', body: good(), status: 404, code: 'GW_ERR_VERSION_NOT_FOUND' },
    { name: 'malformed JSON', body: '{"inputs": [', status: 400, code: 'GW_ERR_MALFORMED_JSON' },
    { name: 'inputs missing', body: {}, status: 400, code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'missing input', body: { inputs: [] }, status: 400, code: 'GW_ERR_MISSING_INPUT' },
    { name: 'unknown input', body: { inputs: [...good().inputs, { name: 'extra', datatype: 'FP32', shape: [1], data: [1] }] }, status: 400, code: 'GW_ERR_UNKNOWN_INPUT' },
    { name: 'element count ≠ shape', body: input({ data: [1, 2, 3] }), status: 400, code: 'GW_ERR_ELEMENT_COUNT' },
    { name: 'rank contradicts signature', body: input({ shape: [64] }), status: 400, code: 'GW_ERR_SHAPE_MISMATCH' },
    { name: 'static dim contradicts signature', body: input({ shape: [2, 32] }), status: 400, code: 'GW_ERR_SHAPE_MISMATCH' },
    { name: 'unknown datatype', body: input({ datatype: 'FLOAT' }), status: 400, code: 'GW_ERR_UNKNOWN_DATATYPE' },
    { name: "datatype differs from the model's", body: input({ datatype: 'FP64' }), status: 400, code: 'GW_ERR_DATATYPE_MISMATCH' },
    { name: 'value not a number', body: input({ data: ['x', ...Array(63).fill(0)] }), status: 400, code: 'GW_ERR_INVALID_DATA' },
    { name: 'unknown output', body: { ...good(), outputs: [{ name: 'logits' }] }, status: 400, code: 'GW_ERR_UNKNOWN_OUTPUT' },
    { name: 'not JSON content type', body: good(), status: 415, code: 'GW_ERR_UNSUPPORTED_MEDIA_TYPE', headers: { 'content-type': 'text/plain' } },
    { name: 'body over the limit', body: { inputs: [{ name: 'input', datatype: 'FP32', shape: [300, 64], data: randomFloats(random, 300 * 64) }] }, status: 413, code: 'GW_ERR_BODY_TOO_LARGE' },
  ];
  for (const row of table) {
    const before = sentToWorkers();
    const answer = await postJson(url + (row.path ?? '/v2/models/classifier/infer'), row.body, row.headers);
    t.equal(answer.status, row.status, `${row.name}: status`);
    t.equal(answer.body.code, row.code, `${row.name}: code`);
    t.type(answer.body.error, 'string', `${row.name}: {"error"} message`);
    t.equal(sentToWorkers(), before, `${row.name}: no worker saw it`);
    const next = await postJson(`${url}/v2/models/classifier/infer`, good());
    t.equal(next.status, 200, `${row.name}: the next good request is served`);
  }
});

t.test('a streamed body over the limit is cut off with 413', async (t) => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v2/models/classifier/infer`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // No Content-Length: chunked, so only the streamed byte count can trip the limit.
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    for (let i = 0; i < 8; i++) req.write(chunk);
    req.end();
  });
  t.equal(status, 413);
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, good())).status, 200);
});

t.test('unknown routes and methods', async (t) => {
  const missing = await getJson(`${url}/v3/things`);
  t.equal(missing.status, 404);
  t.equal(missing.body.code, 'GW_ERR_ROUTE_NOT_FOUND');
  const wrong = await getJson(`${url}/v2/models/classifier/infer`);
  t.equal(wrong.status, 405);
  t.equal((await getJson(`${url}/v2/models/nope`)).status, 404);
  t.equal((await getJson(`${url}/v2/models/nope/ready`)).status, 404);
});
