// A source of remote workers found at run time (workers.remote.discovery): a
// list of addresses asked for again every refreshMs, from a static list or a
// DNS name (the A/AAAA records of a Kubernetes headless Service). Each
// address found becomes a replica probed until ready like any other, and
// ramps up on slow start; an address that is no longer found drains out
// (no new request, those in flight finish) and leaves the set. A worker
// says itself which models it serves: its report places them.
//
//   refresh ─▶ found − known: add, probe ─▶ ready (its models placed from its report)
//           ─▶ known − found: drain ─▶ in flight done (or drainMs) ─▶ removed

import type { WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaHealth } from '../health/replica-health.ts';
import { probeRemote, reprobe, type RemoteProbeSettings } from './remote-probe.ts';
import type { ReplicaAddress, ReplicaClientFactory } from '../replicas/replica-client.ts';
import type { ReplicaSource } from '../replicas/replica-source.ts';
import { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';

/** Where the workers are now: `host:port` of each (the mux port, when workers have one, is the same on all). */
export type FindWorkers = () => Promise<Array<{ host: string; port: number }>>;

export type DiscoveryDeps = {
  find: FindWorkers;
  /** Every worker's mux port, when they listen for one. */
  muxPort: number | undefined;
  refreshMs: number;
  /** How long a worker that vanished gets for its requests in flight. */
  drainMs: number;
  replicas: ReplicaSet;
  connect: ReplicaClientFactory;
  healthFor: (replicaId: string) => ReplicaHealth;
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
} & RemoteProbeSettings;

export class Discovery implements ReplicaSource {
  readonly #deps: DiscoveryDeps;
  /** "host:port" → its replica. */
  readonly #known = new Map<string, Replica>();
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(deps: DiscoveryDeps) {
    this.#deps = deps;
  }

  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#deps.refreshMs);
    this.#timer.unref();
  }

  /** Asks where the workers are and brings the set in line; a failed lookup keeps the workers known. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  restart(replica: Replica, reason: string): boolean {
    if (![...this.#known.values()].includes(replica)) return false;
    if (this.#closing || replica.state !== 'ready') return true;
    reprobe(replica, reason, this.#deps.logger, (r) => void this.#probe(r));
    return true;
  }

  close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#closing ??= Promise.all([...this.#known.values()].map((replica) => this.#leave(replica, 0))).then(() => undefined);
    return this.#closing;
  }

  async #refresh(): Promise<void> {
    let found: Array<{ host: string; port: number }>;
    try {
      found = await this.#deps.find();
    } catch (err) {
      this.#deps.logger.warn({ err }, 'worker discovery failed: keeping the workers known');
      return;
    }
    if (this.#closing) return;
    const keys = new Set(found.map(keyOf));
    for (const { host, port } of found) {
      const key = keyOf({ host, port });
      if (this.#known.has(key)) continue;
      const address: ReplicaAddress = this.#deps.muxPort === undefined ? { host, port } : { host, port, muxPort: this.#deps.muxPort };
      const replica = new Replica({ id: `remote-${key}`, address, serving: [], connect: this.#deps.connect, health: this.#deps.healthFor(`remote-${key}`) });
      this.#known.set(key, replica);
      this.#deps.replicas.add(replica);
      this.#deps.logger.info({ replica: replica.id }, 'worker discovered');
      void this.#probe(replica);
    }
    for (const [key, replica] of this.#known) {
      if (keys.has(key)) continue;
      this.#known.delete(key);
      this.#deps.logger.info({ replica: replica.id }, 'worker no longer discovered: draining it out');
      void this.#leave(replica, this.#deps.drainMs);
    }
  }

  #probe(replica: Replica): Promise<void> {
    // What it serves is what it loaded.
    const acceptReport = (r: Replica, report: WorkerModelsBody): void => {
      for (const name of new Set([...report.models, ...report.unavailable].map((m) => m.name))) if (!r.serves(name)) r.place(name, { name });
      this.#deps.acceptReport(r, report);
    };
    return probeRemote(replica, { ...this.#deps, acceptReport }, () => !this.#closing && [...this.#known.values()].includes(replica));
  }

  /** Out of rotation at once; leaves the set once its requests in flight are done, or after `drainMs`. */
  async #leave(replica: Replica, drainMs: number): Promise<void> {
    replica.transition('drain');
    const deadline = this.#deps.now() + drainMs;
    while (replica.outstanding > 0 && this.#deps.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    replica.transition('exit');
    this.#deps.replicas.remove(replica);
    await replica.client.close();
  }
}

function keyOf({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
