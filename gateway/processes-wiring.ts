// How a gateway process plays its part when server.processes > 1: the
// leader's mirror of its fleet and its control socket, and what a front does
// when its leader asks (apply a mirror, hand over metrics, purge its cache).

import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import type { GatewayConfig } from '../config/schema.ts';
import type { Gateway } from './app.ts';
import type { HttpFront } from './http/server.ts';
import { applyMirror, mirrorOf, type FleetMirror } from './processes/fleet-mirror.ts';
import type { FrontActions } from './processes/front-link.ts';
import type { Discovery } from './sources/discovery.ts';

/** server.processes as a count: `auto` is one per core. */
export function processCount(config: GatewayConfig): number {
  return config.server.processes === 'auto' ? availableParallelism() : config.server.processes;
}

export function leaderMirror(gateway: Gateway): FleetMirror {
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

/** A front's answers to its leader; `leaderWorkers` is the discovery of the leader's workers. */
export function frontActions(gateway: Gateway, leaderWorkers: Discovery): FrontActions {
  return {
    mirror: (mirror) => {
      applyMirror(mirror, gateway.registry);
      gateway.registry.observe(gateway.replicas.replicas);
      void leaderWorkers.refresh();
    },
    metrics: () => gateway.observability.registry.getMetricsAsJSON(),
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
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    this.#server = server;
  }

  close(): void {
    this.#server?.close();
    this.#server?.closeAllConnections();
  }
}
