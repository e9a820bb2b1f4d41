// The HTTP front over a fake handler: load shedding at the in-flight cap
// (before the body is read) and the drain (accepted requests finish, later
// ones are refused), counted in its stats; what it does at the protocol
// level: Allow on 405, keep-alive after early answers, 100-continue, CORS.

import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Pool } from 'undici';
import { InfergateError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import type { HandleRoute, Reply } from '../../../gateway/http/reply.ts';
import { EXPANSION, RequestBudget } from '../../../gateway/http/request-budget.ts';
import { HttpFront, type HttpFrontOptions } from '../../../gateway/http/server.ts';
import { RawConnection } from '../../helpers/raw-http.ts';

/** A handler whose answers wait until the test releases them, one by one. */
function blockingHandlers() {
  const waiting: Array<() => void> = [];
  const handle: HandleRoute = () => new Promise<Reply>((resolve) => waiting.push(() => resolve({ status: 200, body: { ok: true } })));
  return { handle, waiting };
}

async function started(maxInFlightRequests: number, budget?: RequestBudget) {
  const { handle, waiting } = blockingHandlers();
  const front = new HttpFront({ handle, maxInFlightRequests, logger: silentLogger(), ...(budget ? { budget } : {}) });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  const client = new Pool(`http://127.0.0.1:${(front.server.address() as AddressInfo).port}`, { connections: 4 });
  t.teardown(async () => {
    await client.destroy();
    front.server.closeAllConnections();
    front.server.close();
  });
  return { front, waiting, client };
}

const untilTrue = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
};

t.test('beyond maxInFlightRequests a request is shed at once with 503 and Retry-After', async (t) => {
  const { front, waiting, client } = await started(2);
  const first = client.request({ path: '/v2/models/m/infer', method: 'POST', body: '{}' });
  const second = client.request({ path: '/v2/models/m/infer', method: 'POST', body: '{}' });
  await untilTrue(() => waiting.length === 2);
  const shed = await client.request({ path: '/v2/models/m/infer', method: 'POST', body: 'x'.repeat(100_000) });
  t.equal(shed.statusCode, 503);
  t.equal(shed.headers['retry-after'], '1');
  t.equal(((await shed.body.json()) as { code: string }).code, 'GW_ERR_OVERLOADED');
  for (const release of waiting) release();
  t.same([(await first).statusCode, (await second).statusCode], [200, 200]);
  t.same(front.stats(), { accepted: 2, answered: 2, shed: 1, shedInFlight: 1, shedBodyBudget: 0, refusedWhileDraining: 0, inFlight: 0, refusedConnections: { per_address: 0, total: 0 } });
});

t.test('drain: accepted requests finish (with connection: close), later ones are refused', async (t) => {
  const { front, waiting, client } = await started(10);
  const accepted = client.request({ path: '/v2/models/m/infer', method: 'POST', body: '{}' });
  await untilTrue(() => waiting.length === 1);
  const drained = front.drain(5_000);
  const late = await client.request({ path: '/v2/health/ready', method: 'GET' }).then(
    (r) => r.statusCode,
    (err: Error) => err.message,
  );
  waiting[0]!();
  const answer = await accepted;
  t.equal(answer.statusCode, 200);
  t.equal(answer.headers.connection, 'close');
  await drained;
  t.ok(late === 503 || typeof late === 'string', `a request after the drain began is refused (${late})`);
  t.same([front.stats().accepted, front.stats().answered], [1, 1]);
});

t.test('a body that would overdraw the request budget is refused before it is read, and the budget comes back', async (t) => {
  const budget = new RequestBudget(100_000 * EXPANSION);
  const { front, waiting, client } = await started(10, budget);
  const first = client.request({ path: '/v2/models/m/infer', method: 'POST', body: 'x'.repeat(60_000) });
  await untilTrue(() => waiting.length === 1);
  t.equal(budget.inUseBytes, 60_000 * EXPANSION, 'the accepted request holds its share');
  const refused = await client.request({ path: '/v2/models/m/infer', method: 'POST', body: 'x'.repeat(50_000) });
  t.equal(refused.statusCode, 503);
  t.equal(refused.headers['retry-after'], '1');
  t.match(((await refused.body.json()) as { error: string }).error, /limits\.maxBufferedRequestBytes/);
  waiting[0]!();
  t.equal((await first).statusCode, 200);
  t.equal(budget.inUseBytes, 0, 'released once answered');
  t.equal(front.stats().shed, 1);
});

/** A front whose handler answers by path: /big a large JSON body, anything else a small one (or the route's own errors). */
async function startedWith(options: Partial<HttpFrontOptions> = {}) {
  const handle: HandleRoute = (route) => {
    if (route.name === 'modelMetadata' && route.model === 'big') return { status: 200, body: { data: 'x'.repeat(50_000) } };
    if (route.name === 'modelMetadata' && route.model === 'missing') throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', 'missing');
    return { status: 200, body: { ok: true } };
  };
  const front = new HttpFront({ handle, maxInFlightRequests: 10, logger: silentLogger(), ...options });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  const port = (front.server.address() as AddressInfo).port;
  t.teardown(() => {
    front.server.closeAllConnections();
    front.server.close();
  });
  return { front, port };
}

t.test('a 405 carries Allow: the methods the path takes', async (t) => {
  const { port } = await startedWith();
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  connection.send('GET /v2/models/m/infer HTTP/1.1\r\nHost: x\r\n\r\n');
  const answer = await connection.next();
  t.equal(answer.status, 405);
  t.equal(answer.headers.allow, 'POST');
  t.equal(JSON.parse(answer.body.toString()).code, 'GW_ERR_METHOD_NOT_ALLOWED');
  connection.send('DELETE /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal((await connection.next()).headers.allow, 'GET, HEAD');
});

t.test('a bodiless 404 or 405 keeps the connection; a request refused with a body unread of unknown length does not', async (t) => {
  const { port } = await startedWith();
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  const table: Array<[string, number]> = [
    ['GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n', 404],
    ['GET /v2/models/m/infer HTTP/1.1\r\nHost: x\r\n\r\n', 405],
    ['GET /v2/models/missing HTTP/1.1\r\nHost: x\r\n\r\n', 404],
    ['POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', 404],
    ['GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n', 200],
  ];
  for (const [request, status] of table) {
    connection.send(request);
    const answer = await connection.next();
    const line = request.slice(0, request.indexOf('\r\n'));
    t.equal(answer.status, status, line);
    t.not(answer.headers.connection, 'close', `${line}: kept alive`);
  }
  t.notOk(connection.ended, 'one connection served them all');
  connection.send('POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  t.equal((await connection.next()).headers.connection, 'close', 'a chunked body of unknown length: the connection ends');
  await connection.closed;
});

t.test('a request refused by its route gives its share of the body budget back', async (t) => {
  const budget = new RequestBudget(1024 * 1024);
  const { port } = await startedWith({ budget });
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  for (const line of ['POST /nowhere', 'PUT /v2/health/live']) {
    connection.send(`${line} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`);
    t.ok((await connection.next()).status >= 400, line);
    t.equal(budget.inUseBytes, 0, `${line}: nothing held`);
  }
});

t.test('Expect: 100-continue: 413 at once for a declared body over the limit, 100 then the answer within it', async (t) => {
  const { port } = await startedWith({ maxBodyBytes: 1000 });
  const over = await RawConnection.open(port);
  t.teardown(() => over.close());
  over.send('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
  const refused = await over.next();
  t.equal(refused.status, 413, 'a final status, no 100 before it');
  t.equal(JSON.parse(refused.body.toString()).code, 'GW_ERR_BODY_TOO_LARGE');
  t.equal(refused.headers.connection, 'close', 'the client may still send its body: the connection ends');
  await over.closed;

  const within = await RawConnection.open(port);
  t.teardown(() => within.close());
  within.send('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n');
  t.equal((await within.next()).status, 100, '100 Continue');
  within.send('{}');
  const answer = await within.next();
  t.equal(answer.status, 200);
  t.not(answer.headers.connection, 'close');
});

t.test('Expect: 100-continue while shedding: 503 without the 100', async (t) => {
  const { front, waiting } = await started(1);
  const port = (front.server.address() as AddressInfo).port;
  const busy = await RawConnection.open(port);
  const shed = await RawConnection.open(port);
  t.teardown(() => (busy.close(), shed.close()));
  busy.send('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
  await untilTrue(() => waiting.length === 1);
  shed.send('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n');
  const answer = await shed.next();
  t.equal(answer.status, 503);
  t.equal(answer.headers.connection, 'close');
  waiting[0]!();
  t.equal((await busy.next()).status, 200);
});

t.test('CORS off: OPTIONS is a 405 like any method a path does not take; no CORS headers', async (t) => {
  const { port } = await startedWith();
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  connection.send('OPTIONS /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n');
  const answer = await connection.next();
  t.equal(answer.status, 405);
  t.equal(answer.headers.allow, 'POST');
  t.equal(answer.headers['access-control-allow-origin'], undefined);
});

t.test('CORS on: preflights answered, answers (errors too) readable by an allowed page', async (t) => {
  const cors = { enabled: true, origins: ['https://app.example.com'], maxAgeSeconds: 120 };
  const { port } = await startedWith({ cors });
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.close());
  connection.send('OPTIONS /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n');
  const preflight = await connection.next();
  t.equal(preflight.status, 204);
  t.equal(preflight.headers['content-length'], undefined, 'no body framing on a 204');
  t.match(preflight.headers, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-methods': 'POST',
    'access-control-max-age': '120',
    allow: 'POST, OPTIONS',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  });
  t.match(preflight.headers['access-control-allow-headers'], /content-type/);

  connection.send('OPTIONS /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n');
  const refused = await connection.next();
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body.toString()).code, 'GW_ERR_CORS_ORIGIN');
  t.equal(refused.headers['access-control-allow-origin'], undefined);

  connection.send('GET /v2/models/missing HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\r\n');
  const error = await connection.next();
  t.equal(error.status, 404);
  t.equal(error.headers['access-control-allow-origin'], 'https://app.example.com', 'an error is readable by the page');
  t.equal(error.headers.vary, 'Origin');
  t.match(error.headers['access-control-expose-headers'], /x-request-id/);

  connection.send('PUT /v2/health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  t.equal((await connection.next()).headers.allow, 'GET, HEAD, OPTIONS', 'a 405 lists OPTIONS while CORS answers it');
  connection.send('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal((await connection.next()).headers['access-control-allow-origin'], undefined, 'no Origin: no CORS headers');
});
