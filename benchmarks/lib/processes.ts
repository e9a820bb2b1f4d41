// The processes the harness starts: every system under test is a child
// process, so the load generator never shares an event loop with it. A
// ProcessGroup remembers each child until it exited and stops them all on
// the way out — normal end, failure or SIGINT.
//
// Children run in their own process group (detached), so a Ctrl-C in the
// terminal reaches only the harness, which then stops each child in order:
// SIGTERM (a gateway drains and stops its own workers), then, after a grace
// period, SIGKILL to the child's whole group. The last resort, on the
// harness's own exit, is a synchronous SIGKILL to every group still alive.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';

const OUTPUT_TAIL_CHARS = 8_000;

export type StartOptions = {
  /** Resolves once stdout matches (the match is returned); absent = as soon as it spawned. */
  ready?: RegExp;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
};

export class ChildProcessHandle {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #output = '';

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? null : 0))));
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KB of its stdout and stderr, for failure messages. */
  output(): string {
    return this.#output;
  }

  /** SIGTERM, then SIGKILL to its process group after graceMs. Idempotent. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(this.pid), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export class ProcessGroup {
  readonly #children = new Set<ChildProcessHandle>();

  /** Spawns a child and waits until its stdout matches `ready` (rejects, and stops it, if it exits or times out first). */
  async start(name: string, command: string, args: readonly string[], options: StartOptions): Promise<{ handle: ChildProcessHandle; match: RegExpExecArray | null }> {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: options.env ?? process.env });
    const handle = new ChildProcessHandle(name, child);
    this.#children.add(handle);
    void handle.exited.then(() => this.#children.delete(handle));

    let stdout = '';
    try {
      const match = await new Promise<RegExpExecArray | null>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms`)),
          options.readyTimeoutMs ?? 60_000,
        );
        const ready = options.ready;
        if (!ready) {
          child.once('spawn', () => {
            clearTimeout(timer);
            resolve(null);
          });
        }
        const onData = (chunk: Buffer): void => {
          if (!ready) return;
          stdout += chunk.toString('utf8');
          const m = ready.exec(stdout);
          if (!m) return;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(m);
        };
        child.stdout?.on('data', onData);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`${name} could not start: ${err.message}`));
        });
        void handle.exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (code ${code}) before it was ready`));
        });
      });
      return { handle, match };
    } catch (err) {
      await handle.stop(2_000);
      throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${handle.output().trimEnd()}\n---`);
    }
  }

  /** Stops every child still running, in parallel. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((c) => c.stop()));
  }

  /** Last resort from a process 'exit' handler (synchronous): SIGKILL every group still alive. */
  killAllNow(): void {
    for (const c of this.#children) if (c.running) killGroup(c.pid);
  }
}

function killGroup(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A port that was free a moment ago (for programs that cannot listen on port 0 and report it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once host:port accepts TCP connections. */
export async function waitForPort(host: string, port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!isAlive()) throw new Error(`nothing listens on ${host}:${port} and the process exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
