// The status page alone, in a real headless Chromium, against a small HTTP server that serves the page and a
// status body built from fakes (the e2e test runs it against a real gateway): it renders the models, replicas, cache
// and charts without a console error under its own Content-Security-Policy, follows the data as it changes, says so
// when the data cannot be had, and works behind the admin token through the browser's Basic prompt.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { adminAccess } from '../../../gateway/access/admin-access.ts';
import { StatusData, type StatusBody } from '../../../gateway/observability/status-data.ts';
import { StatusHistory, type CumulativeRequests } from '../../../gateway/observability/status-history.ts';
import { StatusPage } from '../../../gateway/observability/status-page.ts';
import { findChromium, launchChromium } from '../../helpers/chromium.ts';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];

/** A status body with two minutes of samples of a load that rises and falls. */
function fakeStatus() {
  let nowMs = Date.UTC(2025, 0, 1, 12, 0, 0);
  const totals: CumulativeRequests = { requests: 0, errors: 0, latency: { boundsSeconds: BOUNDS, cumulativeCounts: BOUNDS.map(() => 0) } };
  const history = new StatusHistory({ read: () => totals, nowMs: () => nowMs });
  for (let s = 1; s <= 120; s++) {
    const rate = Math.round(200 + 150 * Math.sin(s / 12));
    totals.requests += rate;
    totals.errors += s % 30 === 0 ? 7 : 0;
    // Most answers within 2.5 ms, a tail up to 25 ms.
    const counts = [0.2, 0.75, 0.93, 0.98, 1, 1].map((share) => Math.round(rate * share));
    totals.latency = { boundsSeconds: BOUNDS, cumulativeCounts: totals.latency.cumulativeCounts.map((c, i) => c + counts[i]!) };
    nowMs += 1_000;
    history.sample();
  }
  const status = new StatusData({
    models: {
      models: [{ name: 'classifier' }, { name: 'ranker' }],
      status: (name) => (name === 'classifier' ? [{ version: '1', state: 'READY' }, { version: '2', state: 'UNAVAILABLE', reason: '<b>model.onnx</b> is missing' }] : [{ version: '1', state: 'LOADING' }]),
    },
    replicas: {
      replicas: [{ id: 'worker-0', state: 'ready', runs: (model, version) => model === 'classifier' && version === '1' }],
      snapshots: () => [
        { id: 'worker-0', state: 'ready', address: 'unix:/tmp/w0', models: ['classifier'], outstanding: 2, completed: 1_234, failed: 0, restarts: 1, pid: 4242, health: { usable: true, breaker: { state: 'closed' } } },
        { id: 'worker-1', state: 'starting', address: 'unix:/tmp/w1', models: ['ranker'], outstanding: 0, completed: 0, failed: 3, restarts: 2, pid: null, health: { usable: false, breaker: { state: 'open' } } },
      ] as never,
    },
    cache: { stats: () => ({ hits: 300, hitsByTier: { memory: 300 }, misses: 100, joins: 4, bypasses: 0, stores: 100, tooLarge: 0, undecodable: 0, tiers: { memory: { entries: 100, bytes: 3 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 } } }) },
    history,
    totals: () => totals,
    version: '0.1.0',
    startedAtMs: nowMs - 3_600_000,
    nowMs: () => nowMs,
  });
  return { status, totals };
}

type Served = { url: string; requests: string[]; answerData: (fn: () => { status: number; body: object }) => void };

/** Serves GET / (the page) and GET /admin/status (`data`), each behind `guard` as the gateway's admin routes are. */
async function servePage(t: { teardown(fn: () => unknown): void }, status: StatusData, guard?: (req: IncomingMessage) => void): Promise<Served> {
  const page = new StatusPage();
  const requests: string[] = [];
  let data = (): { status: number; body: object } => status.reply();
  const send = (res: ServerResponse, reply: { status: number; headers?: Record<string, string>; body: string | object }) => {
    const payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    try {
      guard?.(req);
      if (req.url === '/') send(res, page.reply());
      else if (req.url === '/admin/status') send(res, data());
      else send(res, { status: 404, body: { error: `no route ${req.url}` } });
    } catch (err) {
      // Two challenges, two header lines: Chromium reads one challenge per line.
      res.setHeader('www-authenticate', ['Basic realm="infergate admin"', 'Bearer realm="infergate admin"']);
      send(res, { status: 401, body: { error: (err as Error).message } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, answerData: (fn) => (data = fn) };
}

const chromiumMissing = findChromium() === null ? 'no chromium (set CHROMIUM_BIN, or apt-get install chromium)' : false;

t.test('the page: one self-contained document under a strict CSP', async (t) => {
  const reply = new StatusPage().reply();
  t.equal(reply.status, 200);
  t.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
  const script = /<script>([\s\S]*)<\/script>/.exec(reply.body)![1]!;
  const csp = reply.headers['content-security-policy']!;
  const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
  t.match(csp, `script-src ${hash}`, 'the inlined script is allowed by its hash, nothing else is');
  t.match(csp, "default-src 'none'");
  t.match(csp, "connect-src 'self'");
  t.notOk(/<script\s+src|<link(?![^>]*href="data:)[^>]*href=|<img/i.test(reply.body), 'no external script, style or image');
  t.notMatch(reply.body, '<!-- status-page.js -->', 'the script was put in');
  t.equal(new StatusPage().reply().body, reply.body, 'the same document every time');
});

t.test('in Chromium: renders the status, follows it, and reports a failure', { skip: chromiumMissing }, async (t) => {
  const { status, totals } = fakeStatus();
  const served = await servePage(t, status);
  const page = (await launchChromium(t))!;
  await page.navigate(`${served.url}/`);
  await page.waitFor(`document.body.dataset.refreshes >= 1`);

  const body = (await (await fetch(`${served.url}/admin/status`)).json()) as StatusBody;
  t.equal(await page.evaluate(`document.querySelector('#total-requests').dataset.value`), String(body.totals.requests));
  t.equal(await page.evaluate(`document.querySelector('#total-errors').dataset.value`), String(body.totals.errors));
  t.same(await page.evaluate(`[...document.querySelectorAll('#models tr')].map((tr) => [tr.dataset.model, tr.dataset.version, tr.dataset.state])`), [
    ['classifier', '1', 'READY'],
    ['classifier', '2', 'UNAVAILABLE'],
    ['ranker', '1', 'LOADING'],
  ]);
  t.equal(await page.evaluate(`document.querySelector('#models .reason').textContent`), '<b>model.onnx</b> is missing', 'text from the gateway is shown as text, never as markup');
  t.same(await page.evaluate(`[...document.querySelectorAll('#replicas tr')].map((tr) => [tr.dataset.replica, tr.dataset.state, tr.dataset.breaker, [...tr.cells].map((c) => c.textContent)])`), [
    ['worker-0', 'ready', 'closed', ['worker-0', 'ready', 'closed', '2', '1,234', '0', '1', '4242', 'classifier']],
    ['worker-1', 'starting', 'open', ['worker-1', 'starting', 'open', '0', '0', '3', '2', '–', 'ranker']],
  ]);
  t.same(await page.evaluate(`['cache-hit-ratio', 'cache-entries', 'cache-bytes'].map((id) => document.getElementById(id).textContent)`), ['75.0 %', '100', '3.0 MiB']);
  const charts = await page.evaluate<Record<string, { points: number; max: number }>>(
    `Object.fromEntries([...document.querySelectorAll('canvas')].map((c) => [c.id, { points: Number(c.dataset.points), max: Number(c.dataset.max) }]))`,
  );
  t.same(Object.keys(charts), ['chart-throughput', 'chart-latency', 'chart-errors']);
  t.equal(charts['chart-throughput']!.points, 120, 'two minutes of throughput');
  t.ok(charts['chart-throughput']!.max >= 340 && charts['chart-throughput']!.max <= 350, `throughput peaks near 350 req/s: ${charts['chart-throughput']!.max}`);
  t.ok(charts['chart-latency']!.max > 2.5 && charts['chart-latency']!.max < 25, `p99 in the tail: ${charts['chart-latency']!.max} ms`);
  t.equal(charts['chart-errors']!.max, 7);
  t.ok(await page.evaluate(`(() => { const c = document.querySelector('#chart-throughput'); const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true; return false; })()`), 'something was drawn');

  // The data changes: the page follows within a refresh or two.
  totals.requests += 1_000;
  totals.errors += 1;
  await page.waitFor(`document.querySelector('#total-requests').dataset.value === '${body.totals.requests + 1_000}'`);
  t.equal(await page.evaluate(`document.querySelector('#total-errors').dataset.value`), String(body.totals.errors + 1));

  t.same(page.errors, [], 'no console error, no exception, no CSP violation');
  t.ok(served.requests.every((r) => r === 'GET /' || r === 'GET /admin/status'), `nothing else was asked for: ${[...new Set(served.requests)]}`);

  // The gateway answers an error: the page says so (the browser logs the failed load: expected here).
  served.answerData(() => ({ status: 503, body: { error: 'the gateway is shutting down' } }));
  await page.waitFor(`document.querySelector('#banner').classList.contains('shown')`);
  t.equal(await page.evaluate(`document.querySelector('#banner').textContent`), 'GET /admin/status answered 503: the gateway is shutting down');
  t.ok(page.errors.every((e) => e.includes('503')), 'the only errors are the failed loads');
  served.answerData(() => status.reply());
  await page.waitFor(`!document.querySelector('#banner').classList.contains('shown')`);
});

t.test('in Chromium, behind the admin token: the browser asks, the user answers, the page and its data load', { skip: chromiumMissing }, async (t) => {
  const token = 'status-page-admin-token';
  const check = adminAccess(token);
  const { status } = fakeStatus();
  const served = await servePage(t, status, (req) => check(req.headers.authorization, req.socket.remoteAddress));
  const page = (await launchChromium(t))!;
  await page.answerAuth('operator', token);
  await page.navigate(`${served.url}/`);
  await page.waitFor(`document.body.dataset.refreshes >= 2`);
  t.equal(await page.evaluate(`document.querySelector('#banner').classList.contains('shown')`), false, 'the data loaded too');
  t.ok(Number(await page.evaluate(`document.querySelector('#total-requests').dataset.value`)) > 0);
  t.same(page.errors.filter((e) => !e.includes('401')), [], 'no error but the first, unauthenticated, load');
});

