// How a gateway process plays its part when server.processes > 1: the
// leader's mirror of its fleet and its control socket, and what a front does
// when its leader asks (apply a mirror, hand over metrics, purge its cache).

import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { listening } from '../common/listening.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { Registry } from 'prom-client';
import type { ModelRegistry } from './models/registry.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import type { Replica } from './replicas/replica.ts';
import type { RolloutControl } from './rollout/rollout-control.ts';
import type { HttpFront } from './http/server.ts';
import type { ModelStatsBody } from './observability/inference-stats.ts';
import { applyMirror, mirrorOf, type FleetMirror } from './processes/fleet-mirror.ts';
import type { FrontActions, FrontLink } from './processes/front-link.ts';
import type { FrontProcesses } from './processes/front-processes.ts';
import type { RolloutTraffic } from './infer/infer-service.ts';
import type { Discovery } from './sources/discovery.ts';

/** The parts of a gateway (app.ts) that a process role reads. */
export type GatewayParts = {
  registry: ModelRegistry;
  replicas: ReplicaSet;
  supervisor: { readonly replicas: readonly Replica[] };
  modelControl: { rollouts: Pick<RolloutControl, 'traffic'> };
  observability: { registry: Registry; statsBody(model: string | undefined, version: string | undefined): ModelStatsBody };
  cache: { purge(model: string, version?: string): Promise<unknown> };
  redisTier: object | null;
  http: HttpFront;
};

/** server.processes as a count: `auto` is one per core. */
export function processCount(config: GatewayConfig): number {
  return config.server.processes === 'auto' ? availableParallelism() : config.server.processes;
}

export function leaderMirror(gateway: GatewayParts): FleetMirror {
  const { rollouts } = gateway.modelControl;
  return mirrorOf({
    registry: gateway.registry,
    localReplicas: gateway.supervisor.replicas,
    split: (model) => {
      const rollout = rollouts.traffic(model);
      return rollout && { stable: rollout.stable, candidate: rollout.candidate, percent: rollout.candidatePercent };
    },
  });
}

/**
 * This process's part: the only one (neither set), a front (`front`: its link to the leader) or the leader
 * (`fronts`: the front processes it runs, and its control socket). What differs between them is here.
 */
export class ProcessRole {
  readonly front: FrontLink | undefined;
  readonly fronts: FrontProcesses | undefined;
  readonly control: ControlSocket;

  constructor(role: { front?: FrontLink | undefined; fronts?: FrontProcesses | undefined; controlSocketPath: string }) {
    this.front = role.front;
    this.fronts = role.fronts;
    this.control = new ControlSocket(role.controlSocketPath);
  }

  /** Where the infer path reads a model's rollout split: the leader's mirror in a front, else this process's rollouts. */
  traffic(own: (model: string) => RolloutTraffic | undefined): (model: string) => RolloutTraffic | undefined {
    const { front } = this;
    return front ? (model) => front.traffic(model) : own;
  }

  /** The HTTP front's part: forwarding in a front; in a leader, the purge of the fronts' caches and the trusted control socket. */
  httpDeps(): { front?: FrontLink; purgeElsewhere?: (model: string, version: string | undefined) => Promise<void>; controlSockets?: WeakSet<Socket> } {
    const { front, fronts } = this;
    if (front) return { front };
    return fronts ? { purgeElsewhere: (model, version) => fronts.purge(model, version), controlSockets: this.control.sockets } : {};
  }

  /** Once listening: a front starts hearing its leader; a leader opens its control socket and forks its fronts. */
  async start(gateway: GatewayParts, leaderWorkers: Discovery | undefined): Promise<void> {
    if (this.front) this.front.start(frontActions(gateway, leaderWorkers!));
    if (this.fronts) {
      await this.control.listen(gateway.http);
      this.fronts.start();
    }
  }

  /** A leader's fronts serve on its workers: they drain (beside it) before the workers stop. */
  async drain(graceMs: number): Promise<void> {
    await this.fronts?.close(graceMs);
    this.control.close();
    this.front?.close();
  }
}

/** A front's answers to its leader; `leaderWorkers` is the discovery of the leader's workers. */
export function frontActions(gateway: GatewayParts, leaderWorkers: Discovery): FrontActions {
  return {
    mirror: (mirror) => {
      applyMirror(mirror, gateway.registry);
      gateway.registry.observe(gateway.replicas.replicas);
      void leaderWorkers.refresh();
    },
    metrics: () => gateway.observability.registry.getMetricsAsJSON(),
    stats: (model, version) => gateway.observability.statsBody(model, version),
    // With Redis, the purge notice on its channel reaches every process already.
    purge: async (model, version) => (gateway.redisTier ? undefined : gateway.cache.purge(model, version)),
  };
}

/**
 * The leader's control socket: its fronts send it the routes only the leader answers (admin, repository,
 * metrics). It answers through the leader's HTTP front; its connections' requests were checked by the front
 * that forwarded them. The socket lives in the gateway's own directory, which only its user can open.
 */
export class ControlSocket {
  readonly path: string;
  readonly sockets = new WeakSet<Socket>();
  #server: Server | null = null;

  constructor(path: string) {
    this.path = path;
  }

  async listen(front: HttpFront): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer({ keepAliveTimeout: 65_000 }, front.onRequest);
    server.on('connection', (socket) => this.sockets.add(socket));
    await listening(server, { path: this.path });
    // Only this user's processes may connect, whatever directory workers.socketDir names.
    chmodSync(this.path, 0o600);
    this.#server = server;
  }

  close(): void {
    this.#server?.close();
    this.#server?.closeAllConnections();
  }
}
