// Entry of the gateway process: load config, build, listen, wire signals.
// Its lifecycle lines go through the gateway's logger; tests and benchmarks
// find "infergate gateway listening on http://<host>:<port>" (https:// with
// server.tls) and "infergate gateway ready" in the messages of those lines.
//
// With server.processes > 1 this process is the leader: it runs the workers
// and the model control, and forks the fronts (this same entry, with
// INFERGATE_FRONT_INDEX set), which serve the same port. The leader says
// "ready" once its fronts are ready too; a front says "infergate front-<i> …".

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { createLogger, type Logger } from '../common/logger.ts';
import { startTracing } from '../common/tracing.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { Gateway, type GatewayDeps } from './app.ts';
import { FrontLink } from './processes/front-link.ts';
import { FrontProcesses } from './processes/front-processes.ts';
import { leaderMirror, processCount } from './processes-wiring.ts';

const ENTRY = fileURLToPath(new URL('../bin/infergate.ts', import.meta.url));
/** How often the leader compares its fleet with the mirror its fronts last got. */
const MIRROR_INTERVAL_MS = 250;
/** How long a front may take to answer the leader's metrics or purge request. */
const FRONT_ASK_TIMEOUT_MS = 2_000;

export async function runGateway(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let gateway: Gateway;
  const frontIndex = env.INFERGATE_FRONT_INDEX;
  const name = frontIndex === undefined ? 'gateway' : `front-${frontIndex}`;
  // The standard OTEL_* variables switch on span export (docs/observability.md); without them, no spans are made.
  const tracing = await startTracing(env, 'infergate-gateway');
  try {
    const config = loadConfig(argv, env).config;
    const deps: GatewayDeps = tracing ? { tracer: trace.getTracer('infergate-gateway') } : {};
    deps.logger = createLogger({ level: config.logging.level, format: config.logging.format, bindings: { process: name } });
    if (frontIndex !== undefined) {
      deps.front = new FrontLink({ channel: process, process: name, controlSocketPath: env.INFERGATE_LEADER_SOCKET ?? '', forwardTimeoutMs: config.server.requestTimeoutMs + config.workers.startupTimeoutMs, random: Math.random, logger: deps.logger });
    } else if (processCount(config) > 1) {
      deps.fronts = frontProcesses(config, argv, env, deps.logger, () => gateway);
    }
    gateway = new Gateway(config, deps);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`infergate: ${err.message}\n`);
    process.exit(2);
  }
  const { logger } = gateway;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `infergate ${name} draining`);
    gateway.close().then(
      async () => {
        await tracing?.shutdown();
        const { accepted, answered, shed, refusedWhileDraining } = gateway.http.stats();
        logger.info({ accepted, answered, shed, refusedWhileDraining }, `infergate ${name} stopped`);
        exitAfterLogs(logger, 0);
      },
      (err: unknown) => {
        logger.fatal({ err }, `infergate ${name} shutdown failed`);
        exitAfterLogs(logger, 1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A front whose leader is gone (its workers with it) drains and exits; a new leader forks new fronts.
  if (frontIndex !== undefined) process.on('disconnect', () => stop('leader exited'));
  // SIGHUP reads the TLS certificate and key, and the API keys, again (the leader passes it on to its fronts);
  // with neither configured it stops the process as ever.
  const { tls } = gateway;
  const keys = gateway.access.keys;
  if (tls || keys) {
    process.on('SIGHUP', () => {
      logger.info({ signal: 'SIGHUP' }, `infergate ${name} reloading${tls ? ' its TLS certificate' : ''}${tls && keys ? ' and' : ''}${keys ? ' its API keys' : ''}`);
      void tls?.reload();
      // A failed read is logged by the key source, and the keys in force stay.
      keys?.reload().catch(() => {});
      gateway.role.fronts?.signal('SIGHUP');
    });
  }

  let address;
  try {
    address = await gateway.listen();
  } catch (err) {
    // A command-line failure before serving: said on stderr, like a bad config.
    process.stderr.write(`infergate: cannot listen on ${gateway.config.server.host}:${gateway.config.server.port}: ${(err as Error).message}\n`);
    await gateway.close();
    exitAfterLogs(logger, 1);
    return;
  }
  const { config } = gateway;
  const url = `${config.server.tls ? 'https' : 'http'}://${address.address}:${address.port}`;
  const grpc = gateway.grpc ? `${config.server.host}:${config.server.grpcPort}` : undefined;
  logger.info({ url, ...(grpc ? { grpc } : {}), repository: config.models.repository }, `infergate ${name} listening on ${url}${grpc ? ` and gRPC ${grpc}` : ''}`);
  await gateway.whenReady();
  if (frontIndex !== undefined) {
    gateway.logger.info({ readyWorkers: gateway.replicas.replicas.filter((r) => r.state === 'ready').length }, `infergate ${name} ready`);
    return gateway.role.front?.ready();
  }
  await gateway.role.fronts?.whenReady();
  const { registry } = gateway;
  // Model → its versions in that state; each unavailable version's reason was logged once already (ModelRegistry).
  const versionsIn = (state: string): Record<string, string[]> =>
    Object.fromEntries(
      registry.models
        .map((m) => [m.name, registry.status(m.name).filter((v) => v.state === state).map((v) => v.version)] as const)
        .filter(([, versions]) => versions.length > 0),
    );
  const serving = versionsIn('READY');
  const unavailable = versionsIn('UNAVAILABLE');
  const readyWorkers = gateway.replicas.replicas.filter((r) => r.state === 'ready').length;
  logger.info({ serving, unavailable, readyWorkers, workers: gateway.replicas.replicas.length }, 'infergate gateway ready');
}

/** The leader's fronts: this entry forked with the same flags, on the port the leader bound. */
function frontProcesses(config: GatewayConfig, argv: readonly string[], env: NodeJS.ProcessEnv, logger: Logger, gateway: () => Gateway): FrontProcesses {
  return new FrontProcesses({
    count: processCount(config) - 1,
    fork: (index) => {
      const { port } = gateway().http.server.address() as { port: number };
      const frontEnv = { ...env, INFERGATE_FRONT_INDEX: String(index), INFERGATE_LEADER_SOCKET: gateway().role.control.path };
      return fork(ENTRY, ['gateway', ...argv, '--port', String(port)], { env: frontEnv });
    },
    mirror: () => leaderMirror(gateway()),
    mirrorIntervalMs: MIRROR_INTERVAL_MS,
    backoff: { initialMs: config.workers.restartBackoffInitialMs, maxMs: config.workers.restartBackoffMaxMs, stableMs: config.workers.restartBackoffMaxMs },
    askTimeoutMs: FRONT_ASK_TIMEOUT_MS,
    logger,
  });
}

/**
 * Exits once the lines logged so far are out: the logger writes stdout asynchronously, and pino's exit hook
 * writes whatever is still buffered synchronously as the process exits.
 */
function exitAfterLogs(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

if (import.meta.main) {
  await runGateway(process.argv.slice(2), process.env);
}
