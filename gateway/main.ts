// Entry of the gateway process: load config, build, listen, wire signals.
// Its lifecycle lines go through the gateway's logger; tests and benchmarks
// find "infergate gateway listening on http://<host>:<port>" and
// "infergate gateway ready" in the messages of those lines.

import { trace } from '@opentelemetry/api';
import type { Logger } from '../common/logger.ts';
import { startTracing } from '../common/tracing.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { Gateway } from './app.ts';

export async function runGateway(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let gateway: Gateway;
  // The standard OTEL_* variables switch on span export (docs/observability.md); without them, no spans are made.
  const tracing = await startTracing(env, 'infergate-gateway');
  try {
    gateway = new Gateway(loadConfig(argv, env).config, tracing ? { tracer: trace.getTracer('infergate-gateway') } : {});
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
    logger.info({ signal }, 'infergate gateway draining');
    gateway.close().then(
      async () => {
        await tracing?.shutdown();
        const { accepted, answered, shed, refusedWhileDraining } = gateway.http.stats();
        logger.info({ accepted, answered, shed, refusedWhileDraining }, 'infergate gateway stopped');
        exitAfterLogs(logger, 0);
      },
      (err: unknown) => {
        logger.fatal({ err }, 'infergate gateway shutdown failed');
        exitAfterLogs(logger, 1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

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
  const url = `http://${address.address}:${address.port}`;
  logger.info({ url, repository: config.models.repository }, `infergate gateway listening on ${url}`);
  await gateway.whenReady();
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
