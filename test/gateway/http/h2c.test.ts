// h2c: HTTP/2 by prior knowledge on the HTTP/1.1 port, through the same
// front and handlers (the compatibility API), beside HTTP/1.1.

import { request } from 'node:http';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { silentLogger } from '../../../common/logger.ts';
import { readBody } from '../../../gateway/http/body.ts';
import type { HandleRoute } from '../../../gateway/http/reply.ts';
import { HttpFront } from '../../../gateway/http/server.ts';
import { RawConnection } from '../../helpers/raw-http.ts';

const MAX_BODY_BYTES = 256 * 1024;

async function started() {
  // POST …/infer echoes the size of the (decoded) body; GET /v2/models/big is a large answer.
  const handle: HandleRoute = async (route, req) => {
    if (route.name === 'infer') {
      const body = await readBody(req, { maxBytes: MAX_BODY_BYTES, startedMs: performance.now(), timeoutMs: 10_000, now: () => performance.now() });
      return { status: 200, body: { bytes: body.byteLength, protocol: req.httpVersion } };
    }
    if (route.name === 'modelMetadata') return { status: 200, body: { data: 'y'.repeat(20_000) } };
    return { status: 200, body: { protocol: req.httpVersion } };
  };
  const front = new HttpFront({ handle, maxInFlightRequests: 100, logger: silentLogger(), h2c: true, maxBodyBytes: MAX_BODY_BYTES, compression: { minBytes: 1024 } });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  const port = (front.server.address() as AddressInfo).port;
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  t.teardown(() => {
    session.destroy();
    front.server.closeAllConnections();
    front.server.close();
  });
  return { front, port, session };
}

type H2Answer = { headers: IncomingHttpHeaders; body: Buffer; continued: boolean };

function h2(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const expectsContinue = headers.expect === '100-continue';
    const stream = session.request(headers, { endStream: body === undefined });
    let continued = false;
    if (body !== undefined) {
      if (expectsContinue) stream.once('continue', () => ((continued = true), stream.end(body)));
      else stream.end(body);
    }
    const chunks: Buffer[] = [];
    stream.on('response', (answer) => {
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ headers: answer, body: Buffer.concat(chunks), continued }));
    });
    stream.on('error', reject);
  });
}

t.test('HTTP/2 requests reach the same handlers: GET, POST bodies (gzip too), errors with Allow, compressed answers', async (t) => {
  const { session } = await started();
  const live = await h2(session, { ':path': '/v2/health/live' });
  t.equal(live.headers[':status'], 200);
  t.same(JSON.parse(live.body.toString()), { protocol: '2.0' });
  t.ok(live.headers['x-request-id']);

  const payload = Buffer.alloc(100_000, 0x61);
  const posted = await h2(session, { ':path': '/v2/models/m/infer', ':method': 'POST', 'content-type': 'application/json' }, payload);
  t.same(JSON.parse(posted.body.toString()), { bytes: 100_000, protocol: '2.0' });
  const gzipped = await h2(session, { ':path': '/v2/models/m/infer', ':method': 'POST', 'content-encoding': 'gzip' }, gzipSync(payload));
  t.same(JSON.parse(gzipped.body.toString()), { bytes: 100_000, protocol: '2.0' }, 'a gzip body decoded');

  const wrong = await h2(session, { ':path': '/v2/models/m/infer' });
  t.equal(wrong.headers[':status'], 405);
  t.equal(wrong.headers.allow, 'POST');

  const big = await h2(session, { ':path': '/v2/models/big', 'accept-encoding': 'gzip' });
  t.equal(big.headers['content-encoding'], 'gzip');
  t.equal(JSON.parse(gunzipSync(big.body).toString()).data.length, 20_000);
  t.equal(session.destroyed, false, 'one session served them all');
});

t.test('HTTP/2 bodies over the limit: 413, at once for Expect: 100-continue; the session goes on', async (t) => {
  const { session } = await started();
  const declared = await h2(session, { ':path': '/v2/models/m/infer', ':method': 'POST', 'content-length': String(MAX_BODY_BYTES + 1), expect: '100-continue' }, Buffer.alloc(MAX_BODY_BYTES + 1));
  t.equal(declared.headers[':status'], 413);
  t.equal(declared.continued, false, 'no 100 before the refusal');
  const within = await h2(session, { ':path': '/v2/models/m/infer', ':method': 'POST', expect: '100-continue' }, Buffer.from('{}'));
  t.equal(within.continued, true, '100 for a body within the limit');
  t.equal(within.headers[':status'], 200);
  const streamed = await h2(session, { ':path': '/v2/models/m/infer', ':method': 'POST' }, Buffer.alloc(MAX_BODY_BYTES * 2)).catch((err: Error) => err);
  t.equal(streamed instanceof Error ? streamed.message : streamed.headers[':status'], 413, 'a streamed body over the limit is refused');
  t.equal((await h2(session, { ':path': '/v2/health/live' })).headers[':status'], 200, 'the session still serves');
});

t.test('HTTP/1.1 keeps working on the same port, kept alive, and garbage still gets a 400', async (t) => {
  const { port } = await started();
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  for (let i = 0; i < 3; i++) {
    connection.send('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    const answer = await connection.next();
    t.same(JSON.parse(answer.body.toString()), { bytes: 5, protocol: '1.1' });
  }
  const viaNode = await new Promise<number>((resolve, reject) => request({ port, host: '127.0.0.1', path: '/v2/health/live' }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end());
  t.equal(viaNode, 200);
  const garbage = await RawConnection.open(port);
  garbage.send('P\r\n\r\n');
  t.equal((await garbage.next()).status, 400);
  garbage.close();
});

t.test('a split preface is still recognized', async (t) => {
  const { port } = await started();
  const raw = await RawConnection.open(port);
  t.teardown(() => raw.close());
  raw.send('PRI * HT');
  await new Promise((resolve) => setImmediate(resolve));
  raw.send('TP/2.0\r\n\r\nSM\r\n\r\n');
  // The server's first frame is its SETTINGS (type 4): HTTP/2 has taken the connection.
  await new Promise<void>((resolve) => raw.socket.once('data', () => resolve()));
  t.pass('HTTP/2 answered');
});

t.test('drain: HTTP/2 connections get GOAWAY, a running stream finishes, then the front is closed', async (t) => {
  const { front, session } = await started();
  t.equal((await h2(session, { ':path': '/v2/health/live' })).headers[':status'], 200);
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  const started_ = performance.now();
  await front.drain(5_000);
  t.equal(await goaway, constants.NGHTTP2_NO_ERROR);
  t.ok(performance.now() - started_ < 2_000, 'an idle session does not hold the drain');
});

t.test('HTTP/2 header limits: one field over server.maxHeadersCount gets 431, a block over maxHeaderBytes resets its stream; the session goes on', async (t) => {
  const handle: HandleRoute = async () => ({ status: 200, body: { ok: true } });
  const front = new HttpFront({ handle, maxInFlightRequests: 100, logger: silentLogger(), h2c: true, maxHeadersCount: 10, maxHeaderBytes: 2048 });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  const session = connect(`http://127.0.0.1:${(front.server.address() as AddressInfo).port}`);
  session.on('error', () => {});
  t.teardown(() => {
    session.destroy();
    front.server.closeAllConnections();
    front.server.close();
  });
  const fields = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-field-${i}`, 'v']));
  const base = { ':method': 'GET', ':path': '/v2/health/live' };
  t.equal((await h2(session, { ...base, ...fields(10) })).headers[':status'], 200, '10 fields pass');
  const over = await h2(session, { ...base, ...fields(11) });
  t.equal(over.headers[':status'], 431);
  t.match(JSON.parse(over.body.toString()), { code: 'GW_ERR_HEADERS_TOO_LARGE' });
  await t.rejects(h2(session, { ...base, 'x-big': 'b'.repeat(4096) }), 'a 4 KiB header block is refused');
  t.equal((await h2(session, base)).headers[':status'], 200, 'the session still serves');
});
