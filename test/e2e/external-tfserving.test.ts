// A model served by an external TF Serving-style server, fronted by the
// gateway under /v1: two small servers this test writes (node:http) answer
// TF Serving's status, metadata and predict routes. Requests reach them as
// they are (the model's upstream name in the path, the body's bytes), their
// answers come back as they are, and when one is killed under load the
// requests it fails are retried on the other: no client error.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { getJson, postJson, startGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/until.ts';

type Seen = { method: string; url: string; body: string };

/** The requests the gateway proxied to either server, in the order they arrived (its health checks left out). */
const proxied: Seen[] = [];

/**
 * TF Serving's REST API for one model "x" of version 1; predictions are each instance doubled. `proxied` counts the
 * requests this server got from clients through the gateway (http-proxy adds X-Forwarded-For; health checks have none).
 */
async function tfServingStyleServer(): Promise<{ origin: string; proxied: () => number; kill(): void }> {
  let count = 0;
  const reply = (res: ServerResponse, status: number, body: object) => {
    // A little latency, so that a kill finds requests in flight.
    setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)), 1);
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.headers['x-forwarded-for'] !== undefined) {
        count++;
        proxied.push({ method: req.method ?? '', url: req.url ?? '', body });
      }
      const path = req.url ?? '';
      if (req.method === 'GET' && /^\/v1\/models\/x(\/(versions|labels)\/[^/]+)?$/.test(path)) {
        return reply(res, 200, { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
      }
      if (req.method === 'GET' && /^\/v1\/models\/x(\/(versions|labels)\/[^/]+)?\/metadata$/.test(path)) {
        return reply(res, 200, { model_spec: { name: 'x', signature_name: '', version: '1' }, metadata: { signature_def: { signature_def: {} } } });
      }
      if (req.method === 'POST' && /^\/v1\/models\/x(\/(versions|labels)\/[^/:]+)?:predict$/.test(path)) {
        try {
          const { instances } = JSON.parse(body) as { instances: number[][] };
          return reply(res, 200, { predictions: instances.map((row) => row.map((v) => v * 2)) });
        } catch (err) {
          return reply(res, 400, { error: `JSON Parse error: ${(err as Error).message}` });
        }
      }
      reply(res, 404, { error: `Malformed request: ${req.method} ${path}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kill = () => {
    server.close();
    server.closeAllConnections();
  };
  t.teardown(kill);
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, proxied: () => count, kill };
}

const [first, second] = await Promise.all([tfServingStyleServer(), tfServingStyleServer()]);
const { gateway, url } = await startGateway(t, {
  models: { include: ['pooler'], defaultReplicas: 1 },
  externalModels: [{ name: 'fronted', upstreamName: 'x', replicas: [first.origin, second.origin], healthPath: '/v1/models/x', timeoutMs: 10_000 }],
  health: { checkIntervalMs: 200 },
});
const externals = () => gateway.replicas.replicas.filter((r) => r.id.startsWith('external-fronted-'));

t.test('both servers answer their health route (TF Serving\'s model status) and take traffic', async (t) => {
  t.ok(await until(() => externals().filter((r) => r.state === 'ready').length === 2, 30_000), 'two ready');
});

t.test('status, metadata and predict reach the server as they are, and its answers come back as they are', async (t) => {
  const status = await getJson(`${url}/v1/models/fronted`);
  t.equal(status.status, 200);
  t.equal(status.body.model_version_status[0].state, 'AVAILABLE', "the server's own status");
  t.same(proxied.at(-1), { method: 'GET', url: '/v1/models/x', body: '' }, 'under its upstream name');
  const metadata = await getJson(`${url}/v1/models/fronted/labels/canary/metadata`);
  t.same([metadata.status, metadata.body.model_spec.name], [200, 'x']);
  t.equal(proxied.at(-1)!.url, '/v1/models/x/labels/canary/metadata');

  const text = '{ "instances" : [[1, 2.50]],  "signature_name":"serving_default" }';
  const predicted = await postJson(`${url}/v1/models/fronted/versions/3:predict`, text);
  t.same([predicted.status, predicted.body], [200, { predictions: [[2, 5]] }]);
  t.same(proxied.at(-1), { method: 'POST', url: '/v1/models/x/versions/3:predict', body: text }, 'the body\'s bytes, not re-encoded');
  t.same((await postJson(`${url}/v1/models/fronted:predict`, { instances: [[4]] })).body, { predictions: [[8]] });
  t.equal(proxied.at(-1)!.url, '/v1/models/x:predict');

  const before = proxied.length;
  const bad = await postJson(`${url}/v1/models/fronted:predict`, '{"instances": [');
  t.equal(bad.status, 400, "the server's 4xx is the client's answer");
  t.match(bad.body.error, /JSON Parse error/, "the server's own {\"error\"}");
  t.equal(proxied.length, before + 1, 'a 4xx is not retried');
  t.equal((await getJson(`${url}/v1/models/pooler`)).status, 200, 'the gateway still serves its own models under /v1');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /infergate_requests_total\{model="fronted",version="",protocol="tfserving",status_class="2xx",code=""\} [1-9]/, 'counted under its name and protocol');
});

t.test('a server killed under load: its requests are retried on the other, none fails', async (t) => {
  const statuses: number[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async (_, i) => {
    while (running) statuses.push((await postJson(`${url}/v1/models/fronted:predict`, { instances: [[i, statuses.length]] })).status);
  });
  await until(() => statuses.length > 100, 10_000);
  const servedBefore = second.proxied();
  first.kill();
  const killedAt = statuses.length;
  await until(() => statuses.length > killedAt + 300, 20_000);
  running = false;
  await Promise.all(loops);
  t.comment(`${statuses.length} requests, ${killedAt} before the kill`);
  t.same(statuses.filter((s) => s !== 200), [], 'every request answered 200');
  const dead = externals().find((r) => r.id === 'external-fronted-0')!;
  t.ok(await until(() => dead.state !== 'ready', 10_000), `the killed server is out of rotation (${dead.state})`);
  t.ok(second.proxied() > servedBefore + 300, 'the other took the traffic');
});
