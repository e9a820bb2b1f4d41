// The admin plane against a real gateway: with server.adminToken set, every
// /admin/* route wants that bearer token (the data plane does not); without
// one, admin routes answer loopback clients only — checked from a test host
// (a network namespace the test makes, on a private subnet).

import t from 'tap';
import { startGateway } from '../helpers/gateway.ts';
import { makeTestHost, unavailable } from '../helpers/test-host.ts';

const TOKEN = 'test-admin-token-0123456789';

t.test('with a token: 401 without it or with another, 200 with it; the data plane needs none', async (t) => {
  const { url } = await startGateway(t, { server: { adminToken: TOKEN }, models: { include: ['classifier'], defaultReplicas: 1 } });
  const bare = await fetch(`${url}/admin/replicas`);
  t.equal(bare.status, 401);
  t.equal(bare.headers.get('www-authenticate'), 'Basic realm="infergate admin", Bearer realm="infergate admin"');
  t.match(await bare.json(), { code: 'GW_ERR_UNAUTHORIZED', error: /Bearer/ });

  const wrong = await fetch(`${url}/admin/cache`, { headers: { authorization: `Bearer ${TOKEN}-not` } });
  t.equal(wrong.status, 401);
  await wrong.arrayBuffer();
  const purgeWithout = await fetch(`${url}/admin/cache/models/classifier`, { method: 'DELETE' });
  t.equal(purgeWithout.status, 401, 'no purge without the token');
  await purgeWithout.arrayBuffer();

  const auth = { authorization: `Bearer ${TOKEN}` };
  for (const path of ['/admin/replicas', '/admin/cache', '/admin/batching']) {
    const res = await fetch(`${url}${path}`, { headers: auth });
    t.equal(res.status, 200, `GET ${path} with the token`);
    await res.arrayBuffer();
  }
  const purge = await fetch(`${url}/admin/cache/models/classifier`, { method: 'DELETE', headers: auth });
  t.equal(purge.status, 200, 'purge with the token');
  t.match(await purge.json(), { model: 'classifier', removed: { memory: 0 } });

  const ready = await fetch(`${url}/v2/health/ready`);
  t.equal(ready.status, 200, 'data plane without a token');
  await ready.arrayBuffer();
});

t.test('without a token: loopback clients are served, others get 403', async (t) => {
  const { url } = await startGateway(t, { server: { host: '0.0.0.0' }, models: { include: ['classifier'], defaultReplicas: 1 } });
  const local = await fetch(`${url}/admin/replicas`);
  t.equal(local.status, 200, 'loopback');
  await local.arrayBuffer();
  const why = unavailable();
  if (why !== undefined) {
    t.comment(`no test host (${why}): the 403 is left to the unit test`);
    return;
  }
  const host = makeTestHost(t);
  const port = new URL(url).port;
  // From the test host: the gateway sees host.clientAddress, not a loopback address.
  const answers = JSON.parse(
    await host.node(`
      const get = async (path) => { const r = await fetch('http://${host.hostAddress}:${port}' + path); return { status: r.status, body: await r.text() }; };
      Promise.all([get('/admin/replicas'), get('/v2/health/live')]).then((a) => console.log(JSON.stringify(a)));
    `),
  ) as Array<{ status: number; body: string }>;
  const [admin, data] = answers;
  t.equal(admin!.status, 403, `from ${host.clientAddress}`);
  t.match(JSON.parse(admin!.body), { code: 'GW_ERR_FORBIDDEN', error: new RegExp(`loopback clients only, not ${host.clientAddress.replace(/\./g, '\\.')}`) });
  t.equal(data!.status, 200, 'the data plane answers every address');
});
