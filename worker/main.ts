// Composition root of a worker process: parse options, build the model store
// and the HTTP server, listen, load, report ready, wire signals. The only file
// of the worker that calls process.exit.
//
//   node worker/main.ts --listen unix:/tmp/w.sock --models ./models
//   infergate worker --listen 0.0.0.0:9100 --models ./models   (bin/infergate.ts → runWorker)
//
// The server listens before the models load so /health/live answers and
// /health/ready says "loading" meanwhile; "infergate worker listening on …"
// is printed once every version was loaded (session created, warm-up passed)
// or found unavailable: a model's fault makes that version unavailable (see
// model-store.ts), never the worker exit. Exit codes: 0 after a SIGTERM/SIGINT
// drain (bounded by --drain-timeout-ms), 1 when the repository cannot be read
// (or a --model is not in it) or the address cannot be bound, 2 for a
// command-line mistake.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { EXIT_WITH_PARENT_ENV } from '../common/wire.ts';
import { formatListenAddress, type ListenAddress } from '../common/listen-address.ts';
import { ModelStore } from './model-store.ts';
import { parseWorkerOptions, WORKER_USAGE, WorkerOptionsError, type WorkerOptions } from '../common/worker-options.ts';
import { MuxServer } from './mux-server.ts';
import { WorkerServer } from './server.ts';

/** Runs a worker until a signal stops it; resolves once it is ready (listening, models loaded and warmed up). */
export async function runWorker(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(WORKER_USAGE);
    return;
  }
  let options: WorkerOptions;
  try {
    options = parseWorkerOptions(argv);
  } catch (err) {
    if (!(err instanceof WorkerOptionsError)) throw err;
    process.stderr.write(`infergate worker: ${err.message}\n\n${WORKER_USAGE}`);
    process.exit(2);
  }

  const log = (message: string): void => void process.stderr.write(`${message}\n`);
  const store = new ModelStore({
    modelsDir: options.modelsDir,
    models: options.models,
    session: options.session,
    onProblem: (problem) => {
      if (options.modelLog === 'none') return;
      if (problem.kind === 'unavailable') log(`infergate worker: model ${problem.version.name} version ${problem.version.version} is unavailable: ${problem.version.reason}`);
      else log(`infergate worker: model ${problem.warning.name} version ${problem.warning.version}: warning: ${problem.warning.message}`);
    },
  });
  const server = new WorkerServer({ store, control: store, maxBodyBytes: options.maxBodyBytes, log, injectFault: options.injectFault });
  // The multiplexed infer channel next to HTTP (worker/mux-server.ts); same infer path.
  const mux = options.muxListen ? new MuxServer({ runFrame: (body, receivedAtMs) => server.runFrame(body, receivedAtMs), maxBodyBytes: options.maxBodyBytes, log }) : null;

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal does not wait for in-flight requests any more.
      log(`infergate worker: ${signal} again; aborting ${server.inFlight + (mux?.inFlight ?? 0)} in-flight requests`);
      server.destroy();
      mux?.destroy();
      return;
    }
    stopping = true;
    // The drain is bounded: whatever is still running at the deadline is dropped.
    const deadline = setTimeout(() => {
      log(`infergate worker: drain timeout of ${options.drainTimeoutMs} ms; aborting ${server.inFlight + (mux?.inFlight ?? 0)} in-flight requests`);
      process.exit(0);
    }, options.drainTimeoutMs);
    void Promise.all([server.close(), mux?.close()])
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          clearTimeout(deadline);
          log(`infergate worker: error while draining: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A supervised worker gets a pipe on stdin whose other end the gateway
  // holds: end-of-file means the gateway is gone (even by SIGKILL), so the
  // worker drains and exits instead of lingering as an orphan.
  if (process.env[EXIT_WITH_PARENT_ENV] === '1') {
    process.stdin.once('end', () => stop('SIGTERM'));
    process.stdin.once('error', () => stop('SIGTERM'));
    process.stdin.resume();
  }

  const fail = async (what: string, err: unknown): Promise<never> => {
    log(`infergate worker: ${what}: ${(err as Error).message}`);
    server.destroy();
    mux?.destroy();
    await Promise.allSettled([server.close(), mux?.close(), store.close()]);
    process.exit(1);
  };

  let bound: ListenAddress;
  try {
    bound = await server.listen(options.listen);
  } catch (err) {
    return fail(`cannot listen on ${formatListenAddress(options.listen)}`, err);
  }
  if (mux && options.muxListen) {
    try {
      await mux.listen(options.muxListen);
    } catch (err) {
      return fail(`cannot listen on ${formatListenAddress(options.muxListen)}`, err);
    }
  }
  try {
    await store.start();
  } catch (err) {
    if (stopping) return;
    return fail('cannot load models', err);
  }
  if (stopping) return;
  process.stdout.write(`infergate worker listening on ${formatListenAddress(bound)}\n`);
}

/** True when this file is the process's entry point (not imported by bin/infergate.ts). */
function isEntryPoint(): boolean {
  if (typeof import.meta.main === 'boolean') return import.meta.main;
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await runWorker(process.argv.slice(2));
