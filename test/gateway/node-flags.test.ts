// The gateway's V8 flags (gateway/node-flags.ts) reach node's command line
// in every way the project starts a gateway: they cannot be set from inside.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

t.test('npm start, the container and the shebang pass every flag before the script', async (t) => {
  const flags = GATEWAY_NODE_FLAGS.join(' ');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts.start, `node ${flags} bin/infergate.ts gateway`);
  t.equal(read('bin/infergate.ts').split('\n')[0], `#!/usr/bin/env -S node ${flags}`);
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'));
  t.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT');
  t.same(JSON.parse(entrypoint![1]!), ['/usr/bin/tini', '--', 'node', ...GATEWAY_NODE_FLAGS, '/app/bin/infergate.ts']);
});

t.test('node takes the flags', async (t) => {
  const run = spawnSync(process.execPath, [...GATEWAY_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr, '');
});
