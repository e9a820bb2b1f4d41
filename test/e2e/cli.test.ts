// The gateway as users run it: `infergate gateway …` in its own process.
// A bad config fails fast naming the field; a good one serves, and SIGTERM
// stops the gateway and its workers with exit code 0.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { demoRepository, getJson, postJson, randomFloats, seededRandom } from '../helpers/gateway.ts';

const BIN = fileURLToPath(new URL('../../bin/infergate.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, INFERGATE_GRPC_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => ({ stdout, stderr }) };
}

t.test('an invalid config file fails fast with a message naming the field', async (t) => {
  const dir = t.testdir({});
  const table: Array<[string, RegExp]> = [
    ['server:\n  port: eighty\n', /server\.port/],
    ['workers:\n  restartBackoffMaxMs: -5\n', /workers\.restartBackoffMaxMs/],
    ['models:\n  repository: /nonexistent/models\n', /models\.repository/],
  ];
  for (const [i, [yaml, field]] of table.entries()) {
    const file = join(dir, `bad-${i}.yaml`);
    writeFileSync(file, yaml);
    const proc = run(['gateway', '--config', file]);
    const [code] = await proc.exited;
    t.equal(code, 2, `exit code 2 for ${JSON.stringify(yaml)}`);
    t.match(proc.output().stderr, field);
  }
  const proc = run(['gateway', '--port', 'many']);
  t.equal((await proc.exited)[0], 2);
  t.match(proc.output().stderr, /server\.port \(from --port\)/);
});

t.test('a taken port fails fast with exit code 1, before any worker starts', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as AddressInfo;
  const proc = run(['gateway', '--port', String(port), '--models', await demoRepository(t)]);
  const [code] = await proc.exited;
  t.equal(code, 1);
  t.match(proc.output().stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  t.notMatch(proc.output().stdout, /worker listening/, 'no worker was started');
});

t.test('the gateway process serves and stops cleanly on SIGTERM', async (t) => {
  const repository = await demoRepository(t);
  const proc = run(['gateway', '--port', '0', '--replicas', '1'], { INFERGATE_MODELS: repository });
  t.teardown(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });
  while (!/gateway ready/.test(proc.output().stdout)) {
    if (proc.child.exitCode !== null) break;
    await once(proc.child.stdout, 'data');
  }
  const port = /listening on http:\/\/[^:]+:(\d+)/.exec(proc.output().stdout)?.[1];
  t.ok(port, 'prints its address');
  const random = seededRandom(3);
  const answer = await postJson(`http://127.0.0.1:${port}/v2/models/classifier/infer`, {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }],
  });
  t.equal(answer.status, 200);
  proc.child.kill('SIGTERM');
  const [code, signal] = await proc.exited;
  t.equal(code, 0, `exit 0 (signal ${signal}); stderr: ${proc.output().stderr.slice(-500)}`);
});

t.test('workers exit when the gateway process is killed with SIGKILL', async (t) => {
  const repository = await demoRepository(t);
  const proc = run(['gateway', '--port', '0', '--replicas', '2'], { INFERGATE_MODELS: repository });
  t.teardown(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });
  while (!/gateway ready/.test(proc.output().stdout) && proc.child.exitCode === null) await once(proc.child.stdout, 'data');
  const port = /listening on http:\/\/[^:]+:(\d+)/.exec(proc.output().stdout)![1];
  let pids: number[] = [];
  while (pids.length < 2) {
    const { body } = await getJson(`http://127.0.0.1:${port}/admin/replicas`);
    pids = body.replicas.filter((r: { state: string }) => r.state === 'ready').map((r: { pid: number }) => r.pid);
  }
  proc.child.kill('SIGKILL');
  await proc.exited;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 20_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(pids.filter(alive), [], 'no worker outlives its gateway');
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
});
