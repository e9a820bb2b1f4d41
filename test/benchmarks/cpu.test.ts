// CPU accounting by role: a root's descendants count as its childRole unless
// their command line shows they run the root's own program (a gateway's
// front processes), and /proc command lines are read as spaced arguments.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { descendantRole, sampleCpu, type ProcessRoot } from '../../benchmarks/lib/cpu.ts';

const gateway: ProcessRoot = { role: 'gateway', pid: 1, childRole: 'workers', peerCmdline: 'bin/infergate.ts gateway' };

t.test('descendants are classified by command line', async (t) => {
  const table: [ProcessRoot, string | null, string][] = [
    [gateway, '/usr/bin/node /repo/bin/infergate.ts gateway --config /tmp/g.yaml --port 41234', 'gateway'],
    [gateway, '/usr/bin/node --cpu-prof /repo/bin/infergate.ts gateway --processes 2', 'gateway'],
    [gateway, '/usr/bin/node /repo/worker/main.ts --id worker-0 --listen unix:/tmp/w.sock', 'workers'],
    [gateway, '/usr/bin/node /repo/bin/infergate.ts worker --models /repo/gateway', 'workers'],
    [gateway, null, 'workers'],
    [{ role: 'nginx', pid: 1 }, 'nginx: worker process', 'nginx'],
    [{ role: 'gateway', pid: 1, childRole: 'workers' }, '/usr/bin/node /repo/bin/infergate.ts gateway', 'workers'],
  ];
  for (const [root, cmdline, role] of table) t.equal(descendantRole(root, cmdline), role, `${root.role} ← ${cmdline}`);
});

t.test('a sample reads the command lines of a root\'s children from /proc', { skip: !existsSync('/proc/self/cmdline') && 'no /proc' }, async (t) => {
  const children: ChildProcess[] = [];
  t.teardown(() => children.forEach((c) => c.kill()));
  // Idle children whose arguments look like a gateway's front and a worker.
  const start = async (...args: string[]): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    return child;
  };
  const plain: ProcessRoot = { role: 'gateway', pid: process.pid, childRole: 'workers' };
  const root: ProcessRoot = { ...plain, peerCmdline: 'bin/infergate.ts gateway' };
  const roles = (r: ProcessRoot): string[] => [...sampleCpu([r])!.ticksByRole.keys()].sort();
  await start('/repo/bin/infergate.ts', 'gateway', '--port', '1');
  t.same(roles(root), ['gateway'], 'a front is gateway');
  t.same(roles(plain), ['gateway', 'workers'], 'without peerCmdline it would be workers');
  await start('/repo/worker/main.ts', '--id', 'worker-0');
  t.same(roles(root), ['gateway', 'workers'], 'a worker is workers');
});
