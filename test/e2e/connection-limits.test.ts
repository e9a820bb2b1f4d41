// The HTTP front's connection-level limits on a real gateway, over raw
// sockets: a slowloris connection closed within server.headersTimeoutMs,
// too many header fields refused with 431, the connections per client
// address and in total, and server.cacheHeader off. Other clients are served
// meanwhile. Each client is a loopback address of its own (127.0.0.x), so
// that the limits per address do not mix between tests.

import t, { type Test as Tap } from 'tap';
import { startGateway } from '../helpers/gateway.ts';
import { RawConnection } from '../helpers/raw-http.ts';
import { until } from '../helpers/until.ts';

const HEADERS_TIMEOUT_MS = 1000;
const MAX_HEADERS = 20;
const PER_ADDRESS = 3;
const TOTAL = 5;

const { gateway, url } = await startGateway(t, {
  models: { include: ['classifier'], defaultReplicas: 1 },
  server: {
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestReceiveTimeoutMs: 10_000,
    maxHeadersCount: MAX_HEADERS,
    maxConnectionsPerAddress: PER_ADDRESS,
    maxConnections: TOTAL,
    cacheHeader: false,
  },
  cache: { enabled: true },
});
const port = Number(new URL(url).port);

const live = 'GET /v2/health/live HTTP/1.1\r\nhost: gateway\r\n\r\n';

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) => gateway.http.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}

/** Closes `connections` and waits until the gateway has seen them close (their places are free again). */
async function closeAll(t: Tap, connections: RawConnection[]): Promise<void> {
  for (const connection of connections) connection.close();
  t.ok(await until(async () => (await openConnections()) === 0, 10_000), 'the gateway saw them close');
}

/** Whether the server ends `connection` within `ms` (it then answers nothing). */
async function endsWithin(connection: RawConnection, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([connection.closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return ended;
}

t.test('a slowloris connection is closed within the header timeout while another client is served', async (t) => {
  const slow = await RawConnection.open(port, '127.0.0.2');
  const startedMs = performance.now();
  slow.send('GET /v2/health/live HTTP/1.1\r\nhost: gateway\r\n');
  let sent = 0;
  const trickle = setInterval(() => slow.ended || slow.send(`x-slow-${sent++}: y\r\n`), 100);
  t.teardown(() => clearInterval(trickle));
  const other = await RawConnection.open(port, '127.0.0.3');
  other.send(live);
  t.equal((await other.next()).status, 200, 'another client is served meanwhile');
  // The limit is 1 s, checked every 0.5 s; 3 s leaves room for a loaded machine, far below Node's default 60 s.
  t.ok(await endsWithin(slow, 3000), 'the slow connection is closed');
  const closedAfterMs = performance.now() - startedMs;
  t.ok(closedAfterMs >= HEADERS_TIMEOUT_MS * 0.9, `not before the limit (${Math.round(closedAfterMs)} ms)`);
  clearInterval(trickle);
  other.send(live);
  t.equal((await other.next()).status, 200, 'the other client is still served');
  await closeAll(t, [slow, other]);
});

t.test('a request with more header fields than server.maxHeadersCount gets 431 GW_ERR_HEADERS_TOO_LARGE', async (t) => {
  const headers = (count: number) => Array.from({ length: count }, (_, i) => `x-h-${i}: v\r\n`).join('');
  const fine = await RawConnection.open(port, '127.0.0.4');
  fine.send(`GET /v2/health/live HTTP/1.1\r\nhost: gateway\r\n${headers(MAX_HEADERS - 1)}\r\n`);
  t.equal((await fine.next()).status, 200, 'exactly the limit (host included) is fine');
  const many = await RawConnection.open(port, '127.0.0.4');
  many.send(`GET /v2/health/live HTTP/1.1\r\nhost: gateway\r\n${headers(MAX_HEADERS)}\r\n`);
  const answer = await many.next();
  t.equal(answer.status, 431);
  t.equal(JSON.parse(answer.body.toString()).code, 'GW_ERR_HEADERS_TOO_LARGE');
  t.ok(await endsWithin(many, 5000), 'the connection is closed after the answer');
  fine.send(live);
  t.equal((await fine.next()).status, 200, 'another connection is still served');
  await closeAll(t, [fine, many]);
});

t.test('a connection over server.maxConnectionsPerAddress is closed at once; the others are still served', async (t) => {
  const admitted = await Promise.all(Array.from({ length: PER_ADDRESS }, () => RawConnection.open(port, '127.0.0.5')));
  for (const connection of admitted) connection.send(live);
  for (const connection of admitted) t.equal((await connection.next()).status, 200);
  const extra = await RawConnection.open(port, '127.0.0.5');
  extra.send(live);
  t.ok(await endsWithin(extra, 5000), 'the extra connection is closed');
  await t.rejects(extra.next(), 'with no answer');
  const elsewhere = await RawConnection.open(port, '127.0.0.6');
  elsewhere.send(live);
  t.equal((await elsewhere.next()).status, 200, 'another address is still admitted');
  for (const connection of admitted) connection.send(live);
  for (const connection of admitted) t.equal((await connection.next()).status, 200, 'the admitted ones are still served');
  admitted[0]!.close();
  t.ok(await until(async () => (await openConnections()) === PER_ADDRESS, 10_000));
  const again = await RawConnection.open(port, '127.0.0.5');
  again.send(live);
  t.equal((await again.next()).status, 200, 'a closed connection frees its place');
  await closeAll(t, [...admitted, extra, elsewhere, again]);
});

t.test('a connection over server.maxConnections is closed at once; the others are still served', async (t) => {
  const admitted = [
    ...(await Promise.all(Array.from({ length: PER_ADDRESS }, () => RawConnection.open(port, '127.0.0.7')))),
    ...(await Promise.all(Array.from({ length: TOTAL - PER_ADDRESS }, () => RawConnection.open(port, '127.0.0.8')))),
  ];
  for (const connection of admitted) connection.send(live);
  for (const connection of admitted) t.equal((await connection.next()).status, 200);
  const extra = await RawConnection.open(port, '127.0.0.9');
  extra.send(live);
  t.ok(await endsWithin(extra, 5000), 'a connection from a new address is closed: the total is reached');
  for (const connection of admitted) connection.send(live);
  for (const connection of admitted) t.equal((await connection.next()).status, 200, 'the admitted ones are still served');
  const { refusedConnections } = gateway.http.stats();
  t.ok(refusedConnections.per_address >= 1 && refusedConnections.total >= 1, `refusals are counted by limit: ${JSON.stringify(refusedConnections)}`);
  await closeAll(t, [...admitted, extra]);
  // From the registry itself: a scrape over HTTP would leave a connection open for the next test to count.
  const metrics = await gateway.observability.registry.metrics();
  t.match(metrics, /infergate_connections_refused_total\{reason="total"\} [1-9]/, 'and in the metrics');
});

t.test('server.cacheHeader: false sends no x-infergate-cache, on a miss or on a hit', async (t) => {
  const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, i) => i / 64) }] });
  const connection = await RawConnection.open(port, '127.0.0.10');
  const hitsBefore = gateway.cache.stats().hits;
  for (const round of ['first', 'second']) {
    connection.send(`POST /v2/models/classifier/infer HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const answer = await connection.next();
    t.equal(answer.status, 200, round);
    t.notOk('x-infergate-cache' in answer.headers, `${round}: no cache header`);
  }
  t.equal(gateway.cache.stats().hits, hitsBefore + 1, 'the second answer was a hit');
  await closeAll(t, [connection]);
});
