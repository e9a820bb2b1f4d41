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

/**
 * A worker found: its replica id (stable while it is found), where it listens, and, when the finder knows it
 * better than a probe (a leader process passing its own workers' reports), what it serves now.
 */
export type FoundWorker = { id: string; address: ReplicaAddress; report?: WorkerModelsBody };

/** Where the workers are now. */
export type FindWorkers = () => Promise<FoundWorker[]>;

export type DiscoveryDeps = {
  find: FindWorkers;
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
  /** Replica id → its replica. */
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
    let found: FoundWorker[];
    try {
      found = await this.#deps.find();
    } catch (err) {
      this.#deps.logger.warn({ err }, 'worker discovery failed: keeping the workers known');
      return;
    }
    if (this.#closing) return;
    for (const { id, address, report } of found) {
      const known = this.#known.get(id);
      if (known) {
        // A report passed on is newer than the one the probe read; once ready, the replica follows it.
        if (report && known.state === 'ready' && JSON.stringify(report) !== JSON.stringify(known.report)) this.#accept(known, report);
        continue;
      }
      const replica = new Replica({ id, address, serving: [], connect: this.#deps.connect, health: this.#deps.healthFor(id) });
      this.#known.set(id, replica);
      this.#deps.replicas.add(replica);
      this.#deps.logger.info({ replica: replica.id }, 'worker discovered');
      void this.#probe(replica);
    }
    const ids = new Set(found.map((worker) => worker.id));
    for (const [id, replica] of this.#known) {
      if (ids.has(id)) continue;
      this.#known.delete(id);
      this.#deps.logger.info({ replica: replica.id }, 'worker no longer discovered: draining it out');
      void this.#leave(replica, this.#deps.drainMs);
    }
  }

  /** What a discovered worker serves is what it loaded. */
  readonly #accept = (replica: Replica, report: WorkerModelsBody): void => {
    for (const name of new Set([...report.models, ...report.unavailable].map((m) => m.name))) if (!replica.serves(name)) replica.place(name, { name });
    this.#deps.acceptReport(replica, report);
  };

  #probe(replica: Replica): Promise<void> {
    return probeRemote(replica, { ...this.#deps, acceptReport: this.#accept }, () => !this.#closing && [...this.#known.values()].includes(replica));
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
