// The gateway's sources of replicas, built from its config: the supervisor of
// local worker processes (placed per model) and the static list of workers it
// does not run. Both feed the one replica set; app.ts owns their lifecycle.

import { readFileSync } from 'node:fs';
import type { Logger } from '../common/logger.ts';
import { parseModelSelection } from '../common/model-selection.ts';
import type { WorkerModelsBody } from '../common/wire.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { ReplicaHealth } from './health/replica-health.ts';
import type { RepositoryModel } from './models/repository.ts';
import type { Replica } from './replicas/replica.ts';
import type { ReplicaClientFactory } from './replicas/replica-client.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import { Breaker, type BreakerClock } from './resilience/circuit-breaker.ts';
import { Discovery, type FindWorkers } from './sources/discovery.ts';
import { dnsWorkers, listedWorkers } from './sources/find-workers.ts';
import { replicaAddressOf, StaticList, type StaticReplica } from './sources/static-list.ts';
import { ExternalClient } from './upstream/external-client.ts';
import type { ExternalModelConfig } from '../config/external-models-schema.ts';
import type { ReplicaSource } from './replicas/replica-source.ts';
import { parseListenAddress } from '../common/listen-address.ts';
import { placeModels } from './supervisor/placement.ts';
import { Supervisor, type SpawnWorker } from './supervisor/supervisor.ts';
import { isReplicaFault } from './upstream/failure.ts';
import type { RemoteAccess } from './upstream/worker-client.ts';

/** Between two readiness checks of a static replica that is not up (a remote host may be down for long). */
const STATIC_PROBE_INTERVAL_MS = 1_000;
const STATIC_PROBE_TIMEOUT_MS = 5_000;

export type ReplicaSourcesDeps = {
  config: GatewayConfig;
  /** The repository's models at start-up. */
  models: readonly RepositoryModel[];
  replicas: ReplicaSet;
  connect: ReplicaClientFactory;
  /** Rotates the rolling windows of every replica's breaker. */
  breakerClock: BreakerClock;
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
  /** Where local workers' sockets go. */
  socketDir: string;
  now: () => number;
  logger: Logger;
  spawnWorker?: SpawnWorker;
  /** In a front process (server.processes > 1): the leader's workers, found from its mirror; it then runs none. */
  leaderWorkers?: FindWorkers;
};

/** How often a front asks its mirror again besides when a new one comes (a safety net: a mirror triggers a refresh). */
const LEADER_WORKERS_REFRESH_MS = 1_000;

/** How long one DNS lookup of discovery may take. */
const DNS_TIMEOUT_MS = 2_000;

/** The supervisor of local workers, and the other sources: the static list, and discovery when configured. */
export function buildReplicaSources(deps: ReplicaSourcesDeps): { supervisor: Supervisor; others: ReplicaSource[]; leaderWorkers?: Discovery } {
  const { config, models, replicas, connect, acceptReport, now, logger } = deps;
  const healthFor = (replicaId: string): ReplicaHealth => {
    const breaker = new Breaker(replicaId, config.breaker, deps.breakerClock, isReplicaFault);
    breaker.on('state', (to: string, from: string) => logger[to === 'open' ? 'warn' : 'info']({ replica: replicaId, from, to }, 'circuit breaker changed state'));
    return new ReplicaHealth({ breaker, config: config.health, now });
  };
  const supervisor = new Supervisor({
    replicas,
    // A model whose config.yaml is invalid is UNAVAILABLE without a worker loading it. A front runs no worker.
    placements: deps.leaderWorkers ? [] : placeModels(models.filter((m) => m.configError === undefined).map((m) => ({ name: m.name, replicas: m.config.replicas ?? config.models.defaultReplicas }))),
    connect,
    transport: config.workers.transport,
    repository: config.models.repository,
    socketDir: deps.socketDir,
    sessionOptions: config.workers.sessionOptions,
    startupTimeoutMs: config.workers.startupTimeoutMs,
    drainTimeoutMs: config.workers.drainTimeoutMs,
    backoff: {
      initialMs: config.workers.restartBackoffInitialMs,
      maxMs: config.workers.restartBackoffMaxMs,
      stableMs: config.workers.restartBackoffMaxMs,
    },
    healthFor,
    acceptReport,
    injectFaults: config.workers.injectFaults,
    now,
    logger,
    // The workers log at the gateway's level and format (their lines share its stdout).
    workerLogging: { level: config.logging.level, format: config.logging.format },
    ...(deps.spawnWorker ? { spawnWorker: deps.spawnWorker } : {}),
  });
  // Workers the gateway does not run, listed or discovered, are brought up and watched alike.
  const remote = { replicas, connect, healthFor, probeIntervalMs: STATIC_PROBE_INTERVAL_MS, probeTimeoutMs: STATIC_PROBE_TIMEOUT_MS, acceptReport, now, logger };
  const staticList = new StaticList({
    entries: config.staticReplicas.map((entry, i) => ({
      id: entry.id ?? `static-${i}`,
      address: entry.muxPort !== undefined ? { ...replicaAddressOf(entry.address), muxPort: entry.muxPort } : replicaAddressOf(entry.address),
      serving: entry.models.map(parseModelSelection),
    })),
    ...remote,
  });
  const found = config.workers.remote.discovery;
  const finders = [
    ...(found.static.length > 0 ? [listedWorkers(found.static.map(tcpAddressOf), found.muxPort)] : []),
    ...(found.dns ? [dnsWorkers({ ...found.dns, muxPort: found.muxPort, servers: found.servers, timeoutMs: DNS_TIMEOUT_MS })] : []),
  ];
  const others: ReplicaSource[] = [staticList];
  // External model servers: replicas of their own kind (health on the server's route, requests proxied as they are).
  if (config.externalModels.length > 0) {
    const { entries, connect: externalConnect } = externalReplicas(config.externalModels);
    others.push(new StaticList({ ...remote, entries, connect: externalConnect }));
  }
  if (finders.length > 0) {
    const find = async () => (await Promise.all(finders.map((finder) => finder()))).flat();
    others.push(new Discovery({ find, refreshMs: found.refreshMs, drainMs: config.workers.drainTimeoutMs, ...remote }));
  }
  if (!deps.leaderWorkers) return { supervisor, others };
  // A front finds its leader's workers as any gateway finds remote ones: probed, slow start, drained out when gone.
  const leaderWorkers = new Discovery({ find: deps.leaderWorkers, refreshMs: LEADER_WORKERS_REFRESH_MS, drainMs: config.workers.drainTimeoutMs, ...remote });
  return { supervisor, others: [...others, leaderWorkers], leaderWorkers };
}

function tcpAddressOf(text: string): { host: string; port: number } {
  const address = parseListenAddress(text);
  if (address.kind !== 'tcp') throw new Error(`workers.remote.discovery.static: ${text} is not host:port`);
  return { host: address.host, port: address.port };
}

/** workers.remote as the worker clients use it: the token, and TLS with its CA read from tlsCaFile (a config error naming the field when unreadable). */
export function remoteAccessOf(remote: GatewayConfig['workers']['remote']): RemoteAccess {
  const access: RemoteAccess = remote.token === undefined ? {} : { token: remote.token };
  if (!remote.tls) return access;
  if (remote.tlsCaFile === undefined) return { ...access, tls: {} };
  try {
    return { ...access, tls: { ca: readFileSync(remote.tlsCaFile) } };
  } catch (err) {
    throw new Error(`workers.remote.tlsCaFile: ${remote.tlsCaFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The replicas of the external models, the client of each (its base URL and health route), and each one's base URL. */
export function externalReplicas(models: readonly ExternalModelConfig[]): { entries: StaticReplica[]; connect: ReplicaClientFactory; baseUrlOf: (id: string) => string | undefined } {
  const targets = new Map<string, { baseUrl: string; healthPath: string }>();
  const entries = models.flatMap((model) =>
    model.replicas.map((baseUrl, i) => {
      const id = `external-${model.name}-${i}`;
      targets.set(id, { baseUrl, healthPath: model.healthPath });
      const url = new URL(baseUrl);
      return { id, address: { host: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) }, serving: [{ name: model.name }] };
    }),
  );
  return { entries, connect: ({ id }) => new ExternalClient(targets.get(id)!.baseUrl, targets.get(id)!.healthPath), baseUrlOf: (id) => targets.get(id)?.baseUrl };
}
