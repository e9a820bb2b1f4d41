// The gateway as users run it: `infergate gateway …` in its own process.
// A bad config fails fast naming the field; a good one serves, and SIGTERM
// stops the gateway and its workers with exit code 0.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { demoRepository, postJson, randomFloats, seededRandom } from '../helpers/gateway.ts';

const BIN = fileURLToPath(new URL('../../bin/infergate.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
