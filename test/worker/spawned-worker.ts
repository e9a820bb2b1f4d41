// A real worker process for a test: spawned with the given arguments, its
// stdout read as log lines, a client on its control socket, and everything
// killed at teardown. Resolves once the worker logged that it listens.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { Client } from 'undici';
import { LogLines } from './log-lines.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));

export type SpawnedWorker = { client: Client; log: LogLines; stderr: () => string; exitCode: () => number | null; stop: () => Promise<number | null> };

/** `args` must include --listen unix:<socketPath>. */
export async function spawnWorker(t: Test, socketPath: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<SpawnedWorker> {
  const child = spawn(process.execPath, [WORKER_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const log = new LogLines(child.stdout);
  const client = new Client('http://localhost', { socketPath });
  t.teardown(async () => {
    await client.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await log.ready().catch((err: Error) => Promise.reject(new Error(`${err.message}\nstderr: ${stderr}`)));
  return {
    client,
    log,
    stderr: () => stderr,
    exitCode: () => child.exitCode,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
