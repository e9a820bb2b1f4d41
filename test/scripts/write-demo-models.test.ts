// The write-demo-models CLI as `npm run models` / `npm start`'s prestart run
// it: a real child process, checked by its exit code, stdout and the files.

import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { demoModelPaths } from '../../scripts/demo-models/index.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/write-demo-models.ts', import.meta.url));

type Outcome = { code: number | null; stdout: string; stderr: string };

function runCli(args: string[], cwd?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dir = t.testdir({});

t.test('writes every model and prints one line per file with its size', async (t) => {
  const out = join(dir, 'repo');
  const { code, stdout, stderr } = await runCli(['--out', out]);
  t.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  const files = demoModelPaths(out);
  t.equal(lines.length, files.length);
  for (const [i, file] of files.entries()) t.equal(lines[i], `wrote ${file} (${statSync(file).size} bytes)`);
  t.same(
    files.filter((f) => !existsSync(f)),
    [],
    'no file missing',
  );
});

t.test('--out is resolved against the working directory', async (t) => {
  const { code } = await runCli(['--out', 'relative-repo'], dir);
  t.equal(code, 0);
  t.ok(demoModelPaths(join(dir, 'relative-repo')).every((f) => existsSync(f)));
});

t.test('--if-missing writes nothing when every file exists, everything when one is missing', async (t) => {
  const out = join(dir, 'repo-if-missing');
  t.equal((await runCli(['--out', out])).code, 0);

  const skipped = await runCli(['--out', out, '--if-missing']);
  t.same(skipped, { code: 0, stdout: '', stderr: '' }, 'complete repository: silent no-op');

  rmSync(demoModelPaths(out)[1]!);
  const filled = await runCli(['--out', out, '--if-missing']);
  t.equal(filled.code, 0);
  t.equal(filled.stdout.trim().split('\n').length, demoModelPaths(out).length, 'rewrites the whole set');
  t.ok(demoModelPaths(out).every((f) => existsSync(f)));
});

t.test('bad usage: a message on stderr, exit code 2, nothing written', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['--nope'], /Unknown option '--nope'/],
    ['--out without a value', ['--out'], /--out/],
    ['positional argument', ['somewhere'], /positional argument/],
  ];
  for (const [label, args, message] of cases) {
    const { code, stdout, stderr } = await runCli(args, dir);
    t.equal(code, 2, `${label}: exit code`);
    t.equal(stdout, '', `${label}: nothing on stdout`);
    t.match(stderr, message, `${label}: reason`);
    t.match(stderr, /usage: write-demo-models/, `${label}: usage`);
  }
  t.notOk(existsSync(join(dir, 'somewhere')));
});
