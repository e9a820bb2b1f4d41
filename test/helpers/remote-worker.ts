// A standalone worker process on TCP, as on another host: HTTP and mux
// listeners on the given host (port 0: any free one), stopped at teardown.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { workerArgv, type WorkerSpawnOptions } from '../../common/worker-options.ts';
import { until } from './until.ts';

export type RemoteWorker = { port: number; muxPort: number; process: ChildProcess };

/** Resolves with its HTTP and mux ports once it listens (its models still loading). */
export async function startRemoteWorker(
  t: Test,
  options: { host: string; port: number; muxPort: number; repository: string } & Pick<WorkerSpawnOptions, 'models' | 'tokenFile' | 'tls'>,
): Promise<RemoteWorker> {
  const { host, port, muxPort, repository, ...rest } = options;
  const argv = workerArgv({ listen: { kind: 'tcp', host, port }, muxListen: { kind: 'tcp', host, port: muxPort }, modelsDir: repository, logFormat: 'json', ...rest });
  const worker = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'infergate.ts'), 'worker', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  });
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const line = () => output.split('\n').find((l) => l.includes('infergate worker listening on'));
  if (!(await until(() => line() !== undefined, 60_000, 20))) throw new Error(`the worker on ${host} did not start: ${output.slice(-500)}`);
  const { address, mux } = JSON.parse(line()!) as { address: string; mux: string };
  return { port: Number(/:(\d+)$/.exec(address)![1]), muxPort: Number(/:(\d+)$/.exec(mux)![1]), process: worker };
}
