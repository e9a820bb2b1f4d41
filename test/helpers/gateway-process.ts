// A real gateway process, as users run it (`infergate gateway --config …`),
// for chaos tests: a temp config file, an ephemeral port, and a teardown
// that stops the gateway and every worker it started, even when the test
// failed. The gateway runs in its own process group (benchmarks'
// ProcessGroup), so the last resort is one SIGKILL to the whole group.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { processMemoryBytes } from '../../benchmarks/lib/proc.ts';
import { ProcessGroup, type ChildProcessHandle } from '../../benchmarks/lib/processes.ts';
import { demoRepository } from './gateway.ts';

const BIN = fileURLToPath(new URL('../../bin/infergate.ts', import.meta.url));

type TestContext = { teardown(fn: () => unknown): void; testdir(): string };

/** Config sections of a gateway that serves the demo classifier alone, with unique inputs (no cache). */
export const CLASSIFIER_ONLY = { models: { include: ['classifier'] }, cache: { enabled: false } } as const;

export type GatewayProcessOptions = {
  /** Model repository; default: the demo models in a temp dir. */
  repository?: string;
  replicas: number;
  /** Written as the --config file (any subset of config/schema.ts). */
  config: Record<string, unknown>;
  /** More command-line flags, after the helper's own (a later flag wins: `--log-level debug`). */
  args?: readonly string[];
  /** Variables added to the gateway's environment (e.g. OTEL_*). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
};

export type GatewayProcess = {
  handle: ChildProcessHandle;
  origin: string;
  /** Everything the process (and its workers, which share its stdout) printed after it was ready. */
  stdout(): string;
  /** Exit code and signal, once it exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Pids of its workers, as /admin/replicas reports them (one request to the gateway). */
  workerPids(): Promise<number[]>;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRssBytes(): number;
};

/**
 * This process's environment without tap's per-process instrumentation: a
 * gateway under a chaos test's latency bounds, and its load generator, run
 * as users run them (their code is covered by the other tests).
 *
 * Removing tap's variables is not enough: @tapjs/processinfo hooks every
 * spawn and copies its `_TAPJS_PROCESSINFO_*` variables back into the child's
 * environment, unless the environment sets them itself, and puts its
 * `--import` back into NODE_OPTIONS. So coverage is turned off explicitly
 * (`_TAPJS_PROCESSINFO_COVERAGE_=0`): with V8's precise coverage on, the
 * gateway spent 5.1 s of CPU decoding a 58 MB body that takes it 0.8 s.
 */
export function uninstrumentedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('_TAPJS_PROCESSINFO_')) delete env[name];
  const options = (env.NODE_OPTIONS ?? '').split(/\s+(?=--)/).filter((option) => option !== '' && !option.includes('@tapjs/processinfo'));
  if (options.length > 0) env.NODE_OPTIONS = options.join(' ');
  else delete env.NODE_OPTIONS;
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0';
  return env;
}

/** Starts `infergate gateway` on an ephemeral port and waits until it is ready. */
export async function startGatewayProcess(t: TestContext, options: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = t.testdir();
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, stringify(options.config));
  const processes = new ProcessGroup();
  const killAll = (): void => processes.killAllNow();
  process.once('exit', killAll);
  t.teardown(async () => {
    // Normally stopped by the test already; otherwise SIGTERM, then SIGKILL to its group.
    await processes.stopAll();
    process.off('exit', killAll);
  });
  const repository = options.repository ?? (await demoRepository(t));
  const args = [BIN, 'gateway', '--config', configFile, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--replicas', String(options.replicas), '--models', repository, ...(options.args ?? [])];
  // Matched against all of stdout (handle.output() keeps only its tail, which debug lines may have pushed the address out of).
  const { handle, match } = await processes.start('gateway', process.execPath, args, {
    ready: /listening on https?:\/\/[^\s"]+?:(\d+)[\s\S]*gateway ready/,
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    env: { ...uninstrumentedEnv(), ...options.env },
  });
  t.teardown(() => killGroup(handle.pid));
  const port = match?.[1];
  if (!port) throw new Error(`gateway: no "listening on" line in its output:\n${handle.output()}`);
  const origin = `http://127.0.0.1:${port}`;

  let stdout = '';
  handle.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) resolve({ code: handle.child.exitCode, signal: handle.child.signalCode });
    handle.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    handle,
    origin,
    stdout: () => stdout,
    exited,
    workerPids: async () => {
      const body = (await (await fetch(`${origin}/admin/replicas`)).json()) as { replicas: Array<{ pid: number | null }> };
      return body.replicas.map((r) => r.pid).filter((pid): pid is number => pid !== null);
    },
    peakRssBytes: () => peakRssBytes(handle.pid),
  };
}

/** The JSON log lines in a process's output (the gateway's and its workers'), parsed; other lines are skipped. */
export function jsonLines(output: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut off at the end of the output so far, or not JSON after all
    }
  }
  return lines;
}

/** VmHWM of a live process, in bytes. */
export function peakRssBytes(pid: number): number {
  return processMemoryBytes(pid, 'VmHWM');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to whatever is left of a process group (workers share the gateway's group). */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is gone
  }
}
