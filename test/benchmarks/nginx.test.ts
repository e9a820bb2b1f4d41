// NGINX baseline: finding the binary, the config we write, and — when nginx
// is installed — the system's whole lifecycle: workers and nginx start, a
// request goes through nginx to a worker, and stop() leaves nothing running.

import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNginx, nginxConfig } from '../../benchmarks/lib/nginx.ts';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';
import { SYSTEMS } from '../../benchmarks/lib/systems.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';

t.test('the config balances least_conn over the workers, in the foreground, inside its prefix', async (t) => {
  const config = nginxConfig({ prefixDir: '/tmp/p', port: 8123, upstreams: [{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9002 }] });
  t.match(config, /upstream workers \{\n\s+least_conn;\n\s+server 127\.0\.0\.1:9001 max_fails=0;\n\s+server 127\.0\.0\.1:9002 max_fails=0;/);
  t.match(config, 'daemon off;');
  t.match(config, 'worker_processes 1;');
  t.match(config, 'listen 127.0.0.1:8123');
  t.match(config, 'pid /tmp/p/nginx.pid;');
  t.match(config, 'proxy_set_header Connection "";', 'keep-alive to the upstreams');
  t.notMatch(config, /^user /m);
  t.match(nginxConfig({ prefixDir: '/p', port: 1, upstreams: [], user: 'root' }), /^user root;$/m);
});

t.test('the binary is found on PATH, in sbin dirs, or from NGINX_BIN', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fake-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'nginx');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);
  t.equal(findNginx({ NGINX_BIN: fake }), fake);
  t.equal(findNginx({ NGINX_BIN: join(dir, 'missing') }), null);
  t.equal(findNginx({ PATH: dir }), fake);
  t.equal(SYSTEMS.nginx.unavailable({ NGINX_BIN: join(dir, 'missing') }), 'nginx is not installed (apt-get install nginx, or set NGINX_BIN)');
});

t.test('nginx system lifecycle', { skip: findNginx() ? false : 'nginx is not installed' }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'infergate-nginx-test-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  await writeDemoModels(join(work, 'models'));
  const processes = new ProcessGroup();
  t.teardown(() => processes.stopAll());
  const system = await SYSTEMS.nginx.start({
    processes,
    root: fileURLToPath(new URL('../..', import.meta.url)),
    modelsDir: join(work, 'models'),
    model: 'classifier',
    replicas: 2,
    tmpDir: work,
    gatewayConfig: {},
    readyTimeoutMs: 60_000,
  });
  t.equal(system.signature?.name, 'classifier');
  t.equal(system.roots.length, 3, 'nginx and two workers');
  // The worker's own liveness route, reached through nginx.
  const res = await fetch(`${system.origin}/health/live`);
  t.equal(res.status, 200);
  t.same(await res.json(), { live: true });
  await system.stop();
  for (const { pid } of system.roots) t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  await t.rejects(fetch(`${system.origin}/health/live`), 'nothing listens any more');
});
