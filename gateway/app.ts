// Builds a gateway from a config: model registry, replica set, supervisor of
// local workers, dispatcher and HTTP front, wired together. Nothing listens
// until `listen()`, so tests build the same thing main.ts runs.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import { InfergateError } from '../common/errors.ts';
import { listening } from '../common/listening.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import type { InferAnswer, WorkerModelsBody } from '../common/wire.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { ReplicaClientFactory } from './replicas/replica-client.ts';
import { ModelBatching } from './batching/model-batching.ts';
import type { RedisTier } from './cache/redis-tier.ts';
import type { ResultCache } from './cache/result-cache.ts';
import { buildResultCache } from './result-cache-wiring.ts';
import { InferService } from './infer/infer-service.ts';
import { buildModelControl, type ModelControl } from './model-control-wiring.ts';
import type { HttpFront } from './http/server.ts';
import type { Access } from './access-wiring.ts';
import { buildFronts } from './fronts-wiring.ts';
import type { GrpcFront } from './grpc/grpc-front.ts';
import { HealthChecker } from './health/health-checker.ts';
import { ModelRegistry } from './models/registry.ts';
import { startingModels } from './models/repository.ts';
import { ReplicaSet } from './replicas/replica-set.ts';
import { BreakerClock } from './resilience/circuit-breaker.ts';
import { RetryBudget } from './resilience/retry-budget.ts';
import type { Replica } from './replicas/replica.ts';
import type { ReplicaSource } from './replicas/replica-source.ts';
import type { Supervisor, SpawnWorker } from './supervisor/supervisor.ts';
import { buildReplicaSources, remoteAccessOf } from './replica-sources-wiring.ts';
import { Dispatcher } from './upstream/dispatcher.ts';
import { workerClientFactory } from './upstream/worker-client.ts';
import { buildObservability, type Observability } from './observability-wiring.ts';
import type { FrontLink } from './processes/front-link.ts';
import type { FrontProcesses } from './processes/front-processes.ts';
import { processCount, ProcessRole } from './processes-wiring.ts';
import type { Discovery } from './sources/discovery.ts';
import { buildTls, type TlsReloader } from './tls-wiring.ts';

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export type GatewayDeps = {
  /** Where the gateway's log lines go; default: stdout, at config.logging's level and format. */
  logger?: Logger;
  now?: () => number;
  random?: () => number;
  spawnWorker?: SpawnWorker;
  /** Builds each replica's client; default: a WorkerClient (mux or HTTP to a worker). */
  connect?: ReplicaClientFactory;
  /** Spans go to this tracer (a configured OpenTelemetry provider's); absent: no spans. */
  tracer?: Tracer;
  /** server.processes > 1, in a front process: its link to the leader, whose workers it serves on. */
  front?: FrontLink;
  /** server.processes > 1, in the leader: the front processes it runs. */
  fronts?: FrontProcesses;
};

/** How long a worker may take to hand over its metrics at a scrape (a Prometheus scrape times out after 10 s by default). */
const WORKER_SCRAPE_TIMEOUT_MS = 2_000;

export class Gateway {
  readonly config: GatewayConfig;
  /** The gateway process's log (main.ts writes its lifecycle lines to it too). */
  readonly logger: Logger;
  readonly registry: ModelRegistry;
  readonly replicas: ReplicaSet;
  readonly supervisor: Supervisor;
  /** Every source of replicas: the supervisor of local workers, the static list, and discovery when configured. */
  readonly sources: readonly ReplicaSource[];
  readonly dispatcher: Dispatcher;
  readonly retryBudget: RetryBudget;
  readonly healthChecker: HealthChecker<Replica>;
  readonly #breakerClock: BreakerClock;
  readonly cache: ResultCache<InferAnswer>;
  /** The shared tier, when Redis is configured. */
  readonly redisTier: RedisTier | null;
  readonly batching: ModelBatching;
  /** The protocol-neutral infer path every front calls. */
  readonly infer: InferService;
  /** What changes models and replicas while serving: repository control, poll mode's watch, scaling, autoscaler. */
  readonly modelControl: ModelControl;
  readonly http: HttpFront;
  /** Who may call which route, and how fast: API keys, the admin token, rate limits. */
  readonly access: Access;
  /** KServe v2 gRPC on server.grpcPort; null when it is 0, and in a front process (the leader serves gRPC). */
  readonly grpc: GrpcFront | null;
  readonly tls: TlsReloader | null;
  /** Metrics, inference statistics, spans and the status page. */
  readonly observability: Observability;
  readonly #ownedSocketDir: string | null;
  /** server.processes > 1: a front (its link to the leader) or the leader (its fronts and control socket). */
  readonly role: ProcessRole;
  /** In a front: the discovery of its leader's workers. */
  readonly #leaderWorkers: Discovery | undefined;
  #closing: Promise<void> | null = null;

  constructor(config: GatewayConfig, deps: GatewayDeps = {}) {
    const logger = (this.logger = deps.logger ?? createLogger({ level: config.logging.level, format: config.logging.format, bindings: { process: 'gateway' } }));
    const now = deps.now ?? (() => performance.now());
    const random = deps.random ?? Math.random;
    this.config = config;
    this.tls = buildTls(config, logger);

    const models = startingModels(config.models);
    this.registry = new ModelRegistry(models, logger);
    this.replicas = new ReplicaSet({
      random,
      maxWaitingPerModel: config.upstream.maxWaitingForReplica,
      panicThresholdPercent: config.health.panicThresholdPercent,
      maxEjectionPercent: config.health.maxEjectionPercent,
      slowStart: { windowMs: config.health.slowStartWindowMs, minWeightPercent: config.health.slowStartMinWeightPercent },
      now,
      logger,
    });
    // One timer rotates the rolling windows of every replica's breaker.
    this.#breakerClock = new BreakerClock(config.breaker.rollingWindowMs / config.breaker.rollingBuckets);
    // Every replica state change, arrival or departure can change a version's state (READY, LOADING, UNAVAILABLE).
    const observe = (): void => this.registry.observe(this.replicas.replicas);
    this.replicas.on('state', observe);
    this.replicas.on('removed', (replica) => {
      observe();
      // A replica that left takes no new calls: its breaker's timers stop.
      replica.health.breaker.shutdown();
    });
    const connect = deps.connect ?? workerClientFactory({ maxConnections: config.workers.maxConnectionsPerWorker, remote: remoteAccessOf(config.workers.remote) });
    // A version loaded from another file than the one this gateway already serves under that name is not routed to.
    const acceptReport = (replica: Replica, report: WorkerModelsBody): void => replica.setReport(report, this.registry.learn(replica.id, report));

    this.#ownedSocketDir = config.workers.socketDir ? null : mkdtempSync(join(tmpdir(), 'infergate-'));
    const { supervisor, others, leaderWorkers } = buildReplicaSources({
      config,
      models,
      replicas: this.replicas,
      connect,
      breakerClock: this.#breakerClock,
      acceptReport,
      socketDir: config.workers.socketDir || this.#ownedSocketDir!,
      now,
      logger,
      ...(deps.spawnWorker ? { spawnWorker: deps.spawnWorker } : {}),
      ...(deps.front ? { leaderWorkers: deps.front.findWorkers } : {}),
    });
    this.#leaderWorkers = leaderWorkers;
    this.role = new ProcessRole({ front: deps.front, fronts: deps.fronts, controlSocketPath: join(config.workers.socketDir || this.#ownedSocketDir!, 'control.sock') });
    this.supervisor = supervisor;
    this.sources = [supervisor, ...others];
    this.retryBudget = new RetryBudget(
      { percent: config.upstream.retryBudgetPercent, minRetriesPerSecond: config.upstream.minRetriesPerSecond, windowMs: config.upstream.retryBudgetWindowMs },
      now,
    );
    this.dispatcher = new Dispatcher({
      replicas: this.replicas,
      maxAttempts: config.upstream.maxAttempts,
      attemptTimeoutMs: config.upstream.attemptTimeoutMs,
      retryBudget: this.retryBudget,
      now,
    });
    this.healthChecker = new HealthChecker({
      replicas: this.replicas,
      config: config.health,
      random,
      logger,
      restart: (replica, reason) => this.sources.some((source) => source.restart(replica, reason)),
    });
    ({ cache: this.cache, redisTier: this.redisTier } = buildResultCache(config, (name) => this.registry.model(name), now, logger));
    this.batching = new ModelBatching({
      defaults: config.batching,
      requestTimeoutMs: config.server.requestTimeoutMs,
      maxResponseBytes: config.limits.maxResponseBytes,
      modelOf: (name) => this.registry.model(name),
      dispatcher: this.dispatcher,
      capacity: this.replicas,
      now,
      onRun: (...run) => this.observability.onRun(...run),
    });
    this.infer = new InferService({
      registry: this.registry,
      batching: this.batching,
      cache: this.cache,
      dispatcher: this.dispatcher,
      maxResponseBytes: config.limits.maxResponseBytes,
      onRun: (...run) => this.observability.onRun(...run),
      rollouts: { traffic: this.role.traffic((model) => this.modelControl.rollouts.traffic(model)) },
      now,
    });
    this.observability = buildObservability({
      models: this.registry,
      replicas: this.replicas,
      dispatcher: this.dispatcher,
      retryBudget: this.retryBudget,
      batching: this.batching,
      cache: this.cache,
      redisTier: this.redisTier,
      front: () => this.http.stats(),
      access: () => ({ refusals: this.access.gate.refusals(), storeFailures: this.access.storeFailures() }),
      autoscaling: () => this.modelControl.autoscaler.decisions(),
      rollouts: () => this.modelControl.rollouts.summaries(),
      workerScrapeTimeoutMs: WORKER_SCRAPE_TIMEOUT_MS,
      ...(deps.fronts ? { otherProcesses: () => deps.fronts!.metrics(), otherStats: (model, version) => deps.fronts!.stats(model, version) } : {}),
      logger,
      logging: config.logging,
      random,
      version: PACKAGE_VERSION,
      ...(deps.tracer ? { tracer: deps.tracer } : {}),
    });
    this.modelControl = buildModelControl({
      config,
      registry: this.registry,
      replicas: this.replicas,
      fleet: this.supervisor,
      batching: this.batching,
      acceptReport,
      drained: (model) => this.infer.drained(model),
      ongoingRequests: (model) => this.infer.running(model),
      busySeconds: (model) => this.observability.requestMetrics.busySeconds(model),
      queueTotals: (model) => this.batching.queueTotals(model),
      runShadow: (call, version) => this.infer.shadowCopy(call, version),
      sharesAdminActions: !deps.front,
      now,
      random,
      logger,
    });
    ({ access: this.access, http: this.http, grpc: this.grpc } = buildFronts(this, { version: PACKAGE_VERSION, now, logger }));
  }

  /**
   * Binds the HTTP listener, then starts the workers (binding first, so a
   * taken port fails before any worker is spawned); resolves with the bound
   * address. Requests that arrive before a replica is ready wait for one.
   */
  async listen(): Promise<AddressInfo> {
    const { server } = this.http;
    const { host, port, grpcPort } = this.config.server;
    await listening(server, { port, host, reusePort: processCount(this.config) > 1 });
    await this.grpc?.listen(host, grpcPort);
    for (const source of this.sources) source.start();
    this.healthChecker.start();
    // A front changes nothing: the leader runs the model control, and its mirror says what changed.
    if (!this.role.front) {
      this.modelControl.watch?.start();
      this.modelControl.autoscaler.start();
    }
    await this.role.start(this, this.#leaderWorkers);
    return server.address() as AddressInfo;
  }

  /** Resolves once every model version is READY or UNAVAILABLE (none is still loading). */
  whenReady(): Promise<void> {
    if (this.registry.settled()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.registry.settled()) return;
        this.replicas.off('state', check);
        resolve();
      };
      this.replicas.on('state', check);
    });
  }

  /**
   * Graceful stop: refuse new requests, let accepted ones finish (up to
   * server.shutdownGraceMs), then drain and stop the workers. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.modelControl.watch?.close();
      this.modelControl.autoscaler.close();
      this.modelControl.rollouts.close();
      const graceMs = this.config.server.shutdownGraceMs;
      await Promise.all([this.tls?.close(), this.http.drain(graceMs), this.grpc?.close(graceMs), this.role.drain(graceMs)]);
      // Whatever still waits (for a batch, or for a ready replica) after the grace period will not be served.
      const stopped = new InfergateError('GW_ERR_SHUTTING_DOWN', 'the gateway stopped before this request was dispatched');
      this.batching.destroy(stopped);
      this.replicas.rejectWaiters(stopped);
      this.healthChecker.close();
      await Promise.all(this.sources.map((source) => source.close()));
      for (const replica of this.replicas.replicas) replica.health.breaker.shutdown();
      this.#breakerClock.stop();
      this.observability.close();
      await Promise.all([this.redisTier?.close(), this.modelControl.bus?.close(), this.access.close()]);
      if (this.#ownedSocketDir) rmSync(this.#ownedSocketDir, { recursive: true, force: true });
    })();
    return this.#closing;
  }
}
