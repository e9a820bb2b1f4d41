// A test's own redis-server on a free port (no persistence), stopped by PID
// at teardown. Tests that kill Redis or make it slow need their own; the
// others use one too, so no test touches a Redis someone else uses.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

type Teardown = { teardown(fn: () => unknown): void };

export type TestRedis = {
  port: number;
  url: string;
  readonly pid: number;
  /** A plain client for the test's own checks (not fail-fast). */
  client: Redis;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Starts again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  /** Makes Redis stop answering for `seconds` (DEBUG SLEEP); resolves once it sleeps, with a promise of its waking. */
  stall(seconds: number): Promise<{ awake: Promise<unknown> }>;
};

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c) => (output += c));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      if (/Ready to accept connections/.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  child.stdout!.resume();
  return child;
}

export async function startRedis(t: Teardown): Promise<TestRedis> {
  const port = await freePort();
  let child = await spawnRedis(port);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => {});
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  t.teardown(async () => {
    client.disconnect();
    await kill();
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    client,
    kill,
    restart: async () => {
      child = await spawnRedis(port);
    },
    stall: async (seconds) => {
      const sleeper = client.duplicate();
      sleeper.on('error', () => {});
      await sleeper.ping(); // connected, so DEBUG SLEEP reaches Redis at once
      const awake = sleeper.call('DEBUG', 'SLEEP', String(seconds)).catch(() => {}).finally(() => sleeper.disconnect());
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { awake };
    },
  };
}
