// The HTTP front over a fake handler: load shedding at the in-flight cap
// (before the body is read) and the drain (accepted requests finish, later
// ones are refused), counted in its stats.

import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Pool } from 'undici';
import { silentLogger } from '../../../common/logger.ts';
import type { HandleRoute, Reply } from '../../../gateway/http/reply.ts';
import { EXPANSION, RequestBudget } from '../../../gateway/http/request-budget.ts';
import { HttpFront } from '../../../gateway/http/server.ts';

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
  t.same(front.stats(), { accepted: 2, answered: 2, shed: 1, shedInFlight: 1, shedBodyBudget: 0, refusedWhileDraining: 0, inFlight: 0 });
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
