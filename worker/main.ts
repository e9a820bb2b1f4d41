// Composition root of a worker process: parse options, build the model store
// and the HTTP server, listen, load, report ready, wire signals. The only file
// of the worker that calls process.exit.
//
//   node worker/main.ts --listen unix:/tmp/w.sock --models ./models
//   infergate worker --listen 0.0.0.0:9100 --models ./models   (bin/infergate.ts → runWorker)
//
// The server listens before the models load so /health/live answers and
// /health/ready says "loading" meanwhile; "infergate worker listening on …"
// is logged (at info, as a log line's message) once every version was loaded
// (session created, warm-up passed) or found unavailable: a model's fault
// makes that version unavailable (see model-store.ts), never the worker exit.
//
// Log lines (common/logger.ts) go to stdout, each with {process: 'worker',
// worker: <--id>}; only a command-line mistake is printed to stderr, as there
// is no logger before the flags are read. Tracing (a `worker run` span per
// frame, run-spans.ts) is on when the OTEL_* environment asks for it
// (common/tracing.ts). Exit codes: 0 after a SIGTERM/SIGINT drain (bounded by
// --drain-timeout-ms), 1 when the repository cannot be read (or a --model is
// not in it) or the address cannot be bound, 2 for a command-line mistake.

import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { trace } from '@opentelemetry/api';
import { EXIT_WITH_PARENT_ENV } from '../common/wire.ts';
import { formatListenAddress, type ListenAddress } from '../common/listen-address.ts';
import { createLogger } from '../common/logger.ts';
import { startTracing, type Tracing } from '../common/tracing.ts';
import { ModelStore } from './model-store.ts';
import { parseWorkerOptions, WORKER_USAGE, WorkerOptionsError, type WorkerOptions } from '../common/worker-options.ts';
import { MuxServer } from './mux-server.ts';
import { runLog } from './run-log.ts';
import { allObservers } from './run-record.ts';
import { RunSpans } from './run-spans.ts';
import { WorkerServer } from './server.ts';
import { WorkerMetrics } from './worker-metrics.ts';

export const TRACER_NAME = 'infergate-worker';

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

  const logger = createLogger({ level: options.logLevel, format: options.logFormat, bindings: { process: 'worker', worker: options.id } });
  let access: WorkerAccess;
  try {
    access = workerAccess(options, process.env);
  } catch (err) {
    process.stderr.write(`infergate worker: ${(err as Error).message}\n`);
    process.exit(2);
  }
  let tracing: Tracing | null = null;
  try {
    tracing = await startTracing(process.env, TRACER_NAME);
  } catch (err) {
    // A collector's misconfiguration must not keep a worker from serving.
    logger.warn({ err }, 'tracing is off: the OTEL_* settings could not be applied');
  }
  /** Every exit goes through here: spans still buffered are sent first (bounded by common/tracing.ts). */
  const exit = async (code: number): Promise<never> => {
    await tracing?.shutdown().catch(() => {});
    process.exit(code);
  };

  const metrics = new WorkerMetrics({ replicaId: options.id });
  const spans = tracing ? new RunSpans({ tracer: trace.getTracer(TRACER_NAME) }) : undefined;
  const store = new ModelStore({
    modelsDir: options.modelsDir,
    models: options.models,
    session: options.session,
    onProblem: (problem) => {
      if (options.modelLog === 'none') return;
      if (problem.kind === 'unavailable') {
        const { name, version, reason } = problem.version;
        logger.warn({ model: name, version, reason }, `model ${name} version ${version} is unavailable`);
      } else {
        const { name, version, message } = problem.warning;
        logger.warn({ model: name, version, warning: message }, `model ${name} version ${version} loaded with a warning`);
      }
    },
  });
  const server = new WorkerServer({
    store,
    control: store,
    maxBodyBytes: options.maxBodyBytes,
    logger,
    injectFault: options.injectFault,
    onRun: allObservers([runLog(logger), metrics.onRun, spans?.onRun]),
    metrics: () => metrics.json(),
    ...access,
  });
  // The multiplexed infer channel next to HTTP (worker/mux-server.ts); same infer path.
  const mux = options.muxListen ? new MuxServer({ runFrame: (body, receivedAtMs) => server.runFrame(body, receivedAtMs), maxBodyBytes: options.maxBodyBytes, logger, ...access }) : null;

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    const inFlight = (): number => server.inFlight + (mux?.inFlight ?? 0);
    if (stopping) {
      // A second signal does not wait for in-flight requests any more.
      logger.warn({ signal, inFlight: inFlight() }, 'signal again: aborting the requests in flight');
      server.destroy();
      mux?.destroy();
      return;
    }
    stopping = true;
    logger.info({ signal, inFlight: inFlight() }, 'draining');
    // The drain is bounded: whatever is still running at the deadline is dropped.
    const deadline = setTimeout(() => {
      logger.warn({ drainTimeoutMs: options.drainTimeoutMs, inFlight: inFlight() }, 'drain timed out: aborting the requests in flight');
      void exit(0);
    }, options.drainTimeoutMs);
    void Promise.all([server.close(), mux?.close()])
      .then(() => store.close())
      .then(
        () => exit(0),
        (err: unknown) => {
          clearTimeout(deadline);
          logger.error({ err }, 'error while draining');
          return exit(1);
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
    logger.fatal({ err }, `${what}: ${(err as Error).message}`);
    server.destroy();
    mux?.destroy();
    await Promise.allSettled([server.close(), mux?.close(), store.close()]);
    return exit(1);
  };

  let bound: ListenAddress;
  try {
    bound = await server.listen(options.listen);
  } catch (err) {
    return fail(`cannot listen on ${formatListenAddress(options.listen)}`, err);
  }
  let muxBound: ListenAddress | undefined;
  if (mux && options.muxListen) {
    try {
      muxBound = await mux.listen(options.muxListen);
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
  const address = formatListenAddress(bound);
  logger.info({ address, ...(muxBound ? { mux: formatListenAddress(muxBound) } : {}) }, `infergate worker listening on ${address}`);
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

type WorkerAccess = { token?: string; tls?: { cert: Buffer; key: Buffer } };

/** The token (--token-file, else env INFERGATE_WORKER_TOKEN) and TLS files both listeners ask for; throws naming the file that cannot be read. */
function workerAccess(options: WorkerOptions, env: NodeJS.ProcessEnv): WorkerAccess {
  const access: WorkerAccess = {};
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  if (options.tokenFile !== undefined) {
    access.token = read('token-file', options.tokenFile).toString('utf8').replace(/\r?\n$/, '');
    if (access.token === '') throw new Error(`--token-file ${options.tokenFile} is empty`);
  } else if (env.INFERGATE_WORKER_TOKEN) access.token = env.INFERGATE_WORKER_TOKEN;
  if (options.tls) access.tls = { cert: read('tls-cert', options.tls.certFile), key: read('tls-key', options.tls.keyFile) };
  return access;
}
