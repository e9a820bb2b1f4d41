// Runs bin/infergate.ts with arguments as a child process, to its exit, or
// until `timeoutMs` (then it is killed, and what it printed so far returned).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const INFERGATE_BIN = fileURLToPath(new URL('../../bin/infergate.ts', import.meta.url));

export type InfergateRun = { code: number | null; stdout: string; stderr: string; timedOut: boolean };

export async function runInfergate(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<InfergateRun> {
  const child = spawn(process.execPath, [INFERGATE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, timedOut };
}
