// server.processes: 2 with the in-process cache tier and no Redis: each
// process caches what it answered, and a purge sent to either one empties
// both (the leader purges its own tier and asks its front to purge).

import { request } from 'node:http';
import t from 'tap';
import { startGatewayProcess } from '../helpers/gateway-process.ts';
import { scrape, sumOf } from '../helpers/prometheus-text.ts';
import { until } from '../helpers/until.ts';

const gateway = await startGatewayProcess(t, { replicas: 1, config: { models: { include: ['classifier'] }, server: { processes: 2 }, logging: { format: 'json' } } });

const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, i) => i / 64) }] });

/** One request on a connection of its own, so that the kernel picks either process; resolves with status and cache header. */
function once(method: string, path: string, body?: string): Promise<{ status: number; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.origin}${path}`, { method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: res.headers['x-infergate-cache'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const hitsBy = async (process: string) => sumOf(await scrape(gateway.origin), 'infergate_cache_hits_total', { process });

t.test('each process caches; a purge through either process empties both', async (t) => {
  // Until each process has answered the same body from its own cache at least once.
  t.ok(
    await until(async () => {
      t.equal((await once('POST', '/v2/models/classifier/infer', BODY)).status, 200);
      return (await hitsBy('leader')) > 0 && (await hitsBy('front-1')) > 0;
    }, 20_000, 10),
    'both processes answer from their own cache tier',
  );
  const purged = await once('DELETE', '/admin/cache/models/classifier');
  t.equal(purged.status, 200, 'purged');
  // After the purge, each process computes its first answer again (one miss each), then answers from its tier.
  const counts = async () => {
    const samples = await scrape(gateway.origin);
    return Object.fromEntries(
      ['leader', 'front-1'].map((process) => [process, { misses: sumOf(samples, 'infergate_cache_misses_total', { process }), requests: sumOf(samples, 'infergate_requests_total', { process }) }]),
    );
  };
  const before = await counts();
  let after = before;
  t.ok(
    await until(async () => {
      t.equal((await once('POST', '/v2/models/classifier/infer', BODY)).status, 200);
      after = await counts();
      return Object.keys(after).every((process) => after[process]!.requests > before[process]!.requests);
    }, 20_000, 10),
    'both processes answered after the purge',
  );
  for (const process of Object.keys(after)) t.equal(after[process]!.misses - before[process]!.misses, 1, `${process}: its tier was purged too (one miss, then hits)`);
});
