// The admin plane against a real gateway: with server.adminToken set, every
// /admin/* route wants that bearer token (the data plane does not); without
// one, admin routes answer loopback clients only — checked over the
// machine's own non-loopback address when it has one.

import { networkInterfaces } from 'node:os';
import t from 'tap';
import { startGateway } from '../helpers/gateway.ts';

const TOKEN = 'test-admin-token-0123456789';

t.test('with a token: 401 without it or with another, 200 with it; the data plane needs none', async (t) => {
  const { url } = await startGateway(t, { server: { adminToken: TOKEN }, models: { include: ['classifier'], defaultReplicas: 1 } });
  const bare = await fetch(`${url}/admin/replicas`);
  t.equal(bare.status, 401);
  t.equal(bare.headers.get('www-authenticate'), 'Bearer realm="infergate admin"');
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
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  const { url } = await startGateway(t, { server: { host: '0.0.0.0' }, models: { include: ['classifier'], defaultReplicas: 1 } });
  const local = await fetch(`${url}/admin/replicas`);
  t.equal(local.status, 200, 'loopback');
  await local.arrayBuffer();
  if (external === undefined) {
    t.comment('this machine has no non-loopback IPv4 address to call from: the 403 is left to the unit test');
    return;
  }
  const port = new URL(url).port;
  const remote = await fetch(`http://${external}:${port}/admin/replicas`);
  t.equal(remote.status, 403, `from ${external}`);
  t.match(await remote.json(), { code: 'GW_ERR_FORBIDDEN', error: /loopback/ });
  const data = await fetch(`http://${external}:${port}/v2/health/live`);
  t.equal(data.status, 200, 'the data plane answers every address');
  await data.arrayBuffer();
});
