// The status page (GET /) of a real gateway over real workers, in a real headless Chromium: it shows the models and
// the replicas, its charts fill while requests flow, and once the load stops its totals are exactly what GET /metrics
// counts; no console error on the way. Behind server.adminToken it opens through the browser's password prompt.
//
// UPDATE_SCREENSHOTS=1 writes docs/images/status-page.png from the first test, under a longer load.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { findChromium, launchChromium, type ChromiumPage } from '../helpers/chromium.ts';
import { allReplicasReady, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { scrape, sumOf } from '../helpers/prometheus-text.ts';
import { steadyLoad, tally } from '../helpers/steady-load.ts';

const SCREENSHOT = join(import.meta.dirname, '..', '..', 'docs', 'images', 'status-page.png');
const chromiumMissing = findChromium() === null ? 'no chromium (set CHROMIUM_BIN, or apt-get install chromium)' : false;

const random = seededRandom(2);
const classifierBody = (data: number[]) => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data }] });
/** A few inputs asked again and again (cache hits), the rest new. */
const repeated = Array.from({ length: 8 }, () => classifierBody(randomFloats(random, 64)));
const bodyOf = (i: number) => (i % 4 === 0 ? repeated[(i / 4) % repeated.length]! : classifierBody(randomFloats(random, 64)));

/** Waits for a refresh that began after this call (the one in flight may have read the data before). */
async function nextRefresh(page: ChromiumPage): Promise<void> {
  const seen = Number(await page.evaluate('document.body.dataset.refreshes'));
  await page.waitFor(`Number(document.body.dataset.refreshes) >= ${seen + 2}`);
}

const totalsOnPage = (page: ChromiumPage) =>
  page.evaluate<{ requests: number; errors: number }>(`({ requests: Number(document.querySelector('#total-requests').dataset.value), errors: Number(document.querySelector('#total-errors').dataset.value) })`);

t.test('under load: models, replicas and live charts; totals equal GET /metrics once the load stops', { skip: chromiumMissing }, async (t) => {
  const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 2 } });
  await allReplicasReady(gateway);
  const page = (await launchChromium(t))!;
  await page.navigate(`${url}/`);

  await page.waitFor(`document.querySelectorAll('#replicas tr[data-replica]').length === 2`);
  t.same(
    await page.evaluate(`[...document.querySelectorAll('#models tr')].map((tr) => [tr.dataset.model, tr.dataset.version, tr.dataset.state])`),
    gateway.registry.status('classifier').map((v) => ['classifier', v.version, v.state]),
    'each version with its state',
  );
  const replicas = await page.evaluate<Array<[string, string, string, string]>>(
    `[...document.querySelectorAll('#replicas tr')].map((tr) => [tr.dataset.replica, tr.dataset.state, tr.dataset.breaker, tr.cells[7].textContent])`,
  );
  t.same(replicas, gateway.replicas.replicas.map((r) => [r.id, 'ready', 'closed', String(r.pid)]), 'each replica with its state, breaker and pid');

  // For the docs' screenshot, long enough to draw half a minute.
  const updateScreenshot = process.env.UPDATE_SCREENSHOTS === '1';
  const load = steadyLoad({ url, path: '/v2/models/classifier/infer', ratePerS: 40, durationMs: updateScreenshot ? 40_000 : 6_000, body: bodyOf, connections: 8 });
  // A few client errors too: they count as errors (not 2xx) on the page as in the metrics.
  const bad = await Promise.all(Array.from({ length: 3 }, () => postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })));
  t.same([...new Set(bad.map((b) => b.status))], [400]);
  await page.waitFor(`Number(document.querySelector('#chart-throughput').dataset.points) >= 3 && Number(document.querySelector('#chart-throughput').dataset.max) > 0`, 30_000);
  await page.waitFor(`Number(document.querySelector('#chart-latency').dataset.points) >= 3`, 30_000);
  if (updateScreenshot) {
    await page.waitFor(`Number(document.querySelector('#chart-throughput').dataset.points) >= 30`, 60_000);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, await page.screenshot());
    t.comment(`wrote ${SCREENSHOT}`);
  }
  const outcomes = await load.done;
  t.same(tally(outcomes), { 200: outcomes.length }, 'the load was served');

  await nextRefresh(page);
  const onPage = await totalsOnPage(page);
  const metrics = await scrape(url);
  const requests = sumOf(metrics, 'infergate_requests_total');
  const errors = requests - sumOf(metrics, 'infergate_requests_total', { status_class: '2xx' });
  t.same(onPage, { requests, errors }, 'the totals are the sums of infergate_requests_total (all, and not 2xx)');
  t.same(onPage, { requests: outcomes.length + 3, errors: 3 }, 'which are what was sent');
  t.ok(Number(await page.evaluate(`document.querySelector('#cache-hits').dataset.value`)) > 0, 'the repeated inputs were cache hits');
  t.same(page.errors, [], 'no console error, no exception');
});

t.test('behind server.adminToken: the browser asks for a password, the token opens the page and its data', { skip: chromiumMissing }, async (t) => {
  const token = 'e2e-status-page-token';
  const { url } = await startGateway(t, { models: { include: ['classifier'] }, server: { adminToken: token } });
  t.equal((await fetch(`${url}/admin/status`)).status, 401, 'no token, no data');
  const page = (await launchChromium(t))!;
  await page.answerAuth('operator', token);
  await page.navigate(`${url}/`);
  await page.waitFor(`document.querySelectorAll('#replicas tr[data-replica]').length >= 1`);
  await nextRefresh(page);
  t.equal(await page.evaluate(`document.querySelector('#banner').classList.contains('shown')`), false, 'every refresh was let in');
  t.same(page.errors.filter((e) => !e.includes('401')), [], 'no error but the first, unauthenticated, load');
});
