// What HTTP clients and proxies expect of the real gateway, over real
// workers: compressed request bodies (and a gzip bomb refused early),
// compressed answers, Expect: 100-continue, Allow on 405, connections kept
// after a bodiless 404/405, Triton's `timeout` parameter, the statistics
// route, HEAD, CORS and h2c.

import { request } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';
import { constants, createGzip, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { binaryFloatRequest, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { RawConnection } from '../helpers/raw-http.ts';

const classifierOnly = { include: ['classifier'], defaultReplicas: 1 };
const { url } = await startGateway(t, { models: classifierOnly, cache: { enabled: false } });
const port = Number(new URL(url).port);
const random = seededRandom(17);
const rows = (count: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [count, 64], data: randomFloats(random, count * 64) }] });
const inferUrl = `${url}/v2/models/classifier/infer`;

type Raw = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** A POST through node:http, which (unlike fetch) neither asks for nor decodes compressed answers by itself. */
function post(path: string, body: Buffer | string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('gzip and deflate request bodies are decoded; JSON and binary tensors give the plain answers', async (t) => {
  const json = JSON.stringify(rows(4));
  const plain = await postJson(inferUrl, json);
  t.equal(plain.status, 200);
  for (const [coding, encode] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
    const answer = await post('/v2/models/classifier/infer', encode(json), { 'content-encoding': coding });
    t.equal(answer.status, 200, coding);
    t.same(JSON.parse(answer.body.toString()).outputs, plain.body.outputs, `${coding}: the same outputs`);
  }
  const binary = binaryFloatRequest(random, [3, 64]);
  const binaryPlain = await post('/v2/models/classifier/infer', binary.body, binary.headers);
  const binaryGzip = await post('/v2/models/classifier/infer', gzipSync(binary.body), { ...binary.headers, 'content-encoding': 'gzip' });
  t.equal(binaryGzip.status, 200, 'binary tensor data, gzip: Inference-Header-Content-Length counts the decoded body');
  t.same(JSON.parse(binaryGzip.body.toString()).outputs, JSON.parse(binaryPlain.body.toString()).outputs);
});

t.test('an unsupported coding is 415, a corrupt body 400; the next request is served', async (t) => {
  const json = JSON.stringify(rows(1));
  const table: Array<[string, Record<string, string>, Buffer | string, number, string]> = [
    ['br', { 'content-encoding': 'br' }, json, 415, 'GW_ERR_UNSUPPORTED_ENCODING'],
    ['two codings', { 'content-encoding': 'gzip, deflate' }, json, 415, 'GW_ERR_UNSUPPORTED_ENCODING'],
    ['not gzip', { 'content-encoding': 'gzip' }, json, 400, 'GW_ERR_MALFORMED_ENCODING'],
    ['truncated gzip', { 'content-encoding': 'gzip' }, gzipSync(json).subarray(0, 30), 400, 'GW_ERR_MALFORMED_ENCODING'],
  ];
  for (const [name, headers, body, status, code] of table) {
    const answer = await post('/v2/models/classifier/infer', body, headers);
    t.equal(answer.status, status, name);
    t.equal(JSON.parse(answer.body.toString()).code, code, name);
    t.equal((await postJson(inferUrl, rows(1))).status, 200, `${name}: the next request is served`);
  }
});

t.test('a gzip bomb (1 GB of zeros in about 1 MB) gets 413 at once, without inflating it all', async (t) => {
  // Compressed as a stream: the gigabyte is never held.
  const zip = createGzip({ level: constants.Z_BEST_COMPRESSION });
  const pieces: Buffer[] = [];
  zip.on('data', (piece: Buffer) => pieces.push(piece));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 1024; i++) if (!zip.write(zeros)) await new Promise((resolve) => zip.once('drain', resolve));
  await new Promise((resolve) => zip.end(resolve));
  const bomb = Buffer.concat(pieces);
  t.ok(bomb.byteLength < 1.5 * 1024 * 1024, `${bomb.byteLength} bytes of gzip`);

  // The gateway runs in this process: its memory is this process's.
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
  const startedMs = performance.now();
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  connection.send(`POST /v2/models/classifier/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.byteLength}\r\n\r\n`);
  connection.send(bomb);
  const answer = await connection.next();
  const elapsedMs = performance.now() - startedMs;
  clearInterval(sampler);
  t.equal(answer.status, 413);
  t.equal(JSON.parse(answer.body.toString()).code, 'GW_ERR_BODY_TOO_LARGE');
  t.match(JSON.parse(answer.body.toString()).error, /decompresses to \d+ bytes and more > limit of 67108864 \(server\.maxBodyBytes\)/);
  t.equal(answer.headers.connection, 'close');
  t.ok(elapsedMs < 3_000, `answered in ${Math.round(elapsedMs)} ms`);
  const grewMiB = (rssPeak - rssBefore) / 2 ** 20;
  t.ok(grewMiB < 400, `the process grew by ${Math.round(grewMiB)} MiB at most (the limit is 64 MiB; inflating all would take 1 GiB)`);
  t.equal((await postJson(inferUrl, rows(1))).status, 200, 'the next request is served');
});

t.test('answers go compressed to clients that ask (body and stream), with Vary; plain to others', async (t) => {
  const json = JSON.stringify(rows(50));
  const plain = await post('/v2/models/classifier/infer', json, {});
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: not compressed');
  t.equal(plain.headers.vary, undefined);
  const gzipped = await post('/v2/models/classifier/infer', json, { 'accept-encoding': 'gzip' });
  t.equal(gzipped.headers['content-encoding'], 'gzip');
  t.equal(gzipped.headers.vary, 'Accept-Encoding');
  t.ok(gzipped.body.byteLength < plain.body.byteLength, `${gzipped.body.byteLength} < ${plain.body.byteLength} bytes`);
  t.same(JSON.parse(gunzipSync(gzipped.body).toString()), JSON.parse(plain.body.toString()));
  const small = await post('/v2/models/classifier/infer', JSON.stringify(rows(1)), { 'accept-encoding': 'gzip' });
  t.equal(small.headers['content-encoding'], undefined, 'below server.compression.minBytes: as it is');

  // 2000 rows × 10 FP32 outputs is 80 KB of tensors: an answer rendered as a stream, compressed as one.
  const large = binaryFloatRequest(random, [2000, 64]);
  const streamPlain = await post('/v2/models/classifier/infer', large.body, large.headers);
  const streamGzip = await post('/v2/models/classifier/infer', large.body, { ...large.headers, 'accept-encoding': 'gzip' });
  t.equal(streamGzip.headers['content-encoding'], 'gzip');
  t.equal(streamGzip.headers['transfer-encoding'], 'chunked');
  t.same(JSON.parse(gunzipSync(streamGzip.body).toString()), JSON.parse(streamPlain.body.toString()));
});

t.test('Expect: 100-continue: 413 at once over the limit, 100 then the answer within it', async (t) => {
  const over = await RawConnection.open(port);
  t.teardown(() => over.close());
  over.send(`POST /v2/models/classifier/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
  const refused = await over.next();
  t.equal(refused.status, 413, 'no 100 Continue first');
  t.equal(JSON.parse(refused.body.toString()).code, 'GW_ERR_BODY_TOO_LARGE');
  await over.closed;

  const body = JSON.stringify(rows(2));
  const within = await RawConnection.open(port);
  t.teardown(() => within.close());
  within.send(`POST /v2/models/classifier/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  t.equal((await within.next()).status, 100);
  within.send(body);
  const answer = await within.next();
  t.equal(answer.status, 200);
  t.same(JSON.parse(answer.body.toString()).outputs[0].shape, [2, 10]);
});

t.test('405 carries Allow; a bodiless 404 or 405 keeps the connection; HEAD answers as GET without a body', async (t) => {
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  connection.send('GET /v2/models/classifier/infer HTTP/1.1\r\nHost: x\r\n\r\n');
  const wrong = await connection.next();
  t.equal(wrong.status, 405);
  t.equal(wrong.headers.allow, 'POST');
  connection.send('OPTIONS /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
  const options = await connection.next();
  t.same([options.status, options.headers.allow], [405, 'GET, HEAD'], 'CORS off: OPTIONS is a 405 with Allow');
  connection.send('GET /v2/models/nope HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal((await connection.next()).status, 404);
  connection.send('GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal((await connection.next()).status, 404);
  connection.send('GET /v2/models/classifier HTTP/1.1\r\nHost: x\r\n\r\n');
  const get = await connection.next();
  connection.send('HEAD /v2/models/classifier HTTP/1.1\r\nHost: x\r\n\r\n');
  const head = await connection.next({ head: true });
  t.same([head.status, head.headers['content-length'], head.body.byteLength], [200, get.headers['content-length'], 0]);
  t.equal(connection.pending, 0, 'no body after the HEAD answer');
  connection.send('HEAD /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal((await connection.next({ head: true })).status, 200);
  t.notOk(connection.ended, 'every answer on one kept-alive connection');
});

t.test("Triton's timeout parameter (µs) is the request's deadline, after timeout_ms", async (t) => {
  const request = (parameters: object) => postJson(inferUrl, { ...rows(1), parameters: { no_cache: true, ...parameters } });
  const expired = await request({ timeout: 1 });
  t.equal(expired.status, 504, JSON.stringify(expired.body));
  t.equal(expired.body.code, 'GW_ERR_DEADLINE_EXCEEDED');
  t.equal((await request({ timeout: 10_000_000 })).status, 200, '10 s');
  t.equal((await request({ timeout: 0 })).status, 200, "0: the model's default, as in Triton");
  t.equal((await request({ timeout: 600_000_000 })).status, 200, 'capped at the default, as timeout_ms');
  t.equal((await request({ timeout: 1, timeout_ms: 10_000 })).status, 200, 'timeout_ms first');
  const bad = await request({ timeout: '5s' });
  t.same([bad.status, bad.body.code], [400, 'GW_ERR_INVALID_REQUEST']);
});

t.test('GET /v2/models/stats is the statistics of every model', async (t) => {
  const stats = await getJson(`${url}/v2/models/stats`);
  t.equal(stats.status, 200);
  t.ok(Array.isArray(stats.body.model_stats), 'Triton\'s shape: {"model_stats": [...]}');
  t.ok(stats.body.model_stats.some((s: { name: string }) => s.name === 'classifier'));
});

t.test('CORS on and h2c on: preflights, CORS headers, HTTP/2 beside HTTP/1.1', async (t) => {
  const cors = { enabled: true, origins: ['https://app.example.com'], maxAgeSeconds: 300 };
  const other = await startGateway(t, { server: { cors, h2c: true }, models: classifierOnly, cache: { enabled: false } });
  const preflight = await fetch(`${other.url}/v2/models/classifier/infer`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  t.equal(preflight.status, 204);
  t.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
  t.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
  t.equal(preflight.headers.get('access-control-max-age'), '300');
  const refused = await fetch(`${other.url}/v2/models/classifier/infer`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  t.same([refused.status, ((await refused.json()) as { code: string }).code], [403, 'GW_ERR_CORS_ORIGIN']);
  const answered = await postJson(`${other.url}/v2/models/classifier/infer`, rows(1), { origin: 'https://app.example.com' });
  t.equal(answered.headers.get('access-control-allow-origin'), 'https://app.example.com');
  t.match(answered.headers.get('access-control-expose-headers'), /x-request-id/);

  const session: ClientHttp2Session = connect(other.url);
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  const body = JSON.stringify(rows(3));
  const viaH2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/v2/models/classifier/infer', 'content-type': 'application/json' });
    let status = 0;
    let text = '';
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => resolve({ status, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
  const viaH1 = await postJson(`${other.url}/v2/models/classifier/infer`, body);
  t.equal(viaH2.status, 200);
  t.same(JSON.parse(viaH2.body).outputs, viaH1.body.outputs, 'HTTP/2 and HTTP/1.1 give the same answer on the same port');
});
