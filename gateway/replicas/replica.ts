// The gateway's view of one worker process (local or remote): its lifecycle
// state, the requests outstanding on it, the models it serves and the client
// that reaches it. The balancer reads `outstanding`; the supervisor drives
// `state` through the one transition function.

import { EventEmitter } from 'node:events';
import type { ModelSignature, WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaHealth, ReplicaHealthSnapshot } from '../health/replica-health.ts';
import { describeAddress, WorkerClient, type WorkerAddress } from '../upstream/worker-client.ts';
import { nextReplicaState, type ReplicaEvent, type ReplicaState } from './replica-state.ts';

export type ReplicaOptions = {
  id: string;
  address: WorkerAddress;
  /** Model names this replica is asked to serve. */
  models: readonly string[];
  maxConnections: number;
  health: ReplicaHealth;
};

export type ReplicaSnapshot = {
  id: string;
  state: ReplicaState;
  address: string;
  models: string[];
  outstanding: number;
  completed: number;
  failed: number;
  restarts: number;
  pid: number | null;
  health: ReplicaHealthSnapshot;
};

/** Emits 'state' (replica, from, to) on every transition. */
export class Replica extends EventEmitter {
  readonly id: string;
  readonly address: WorkerAddress;
  readonly models: readonly string[];
  readonly health: ReplicaHealth;
  /** What the worker reported (GET /models) when it last became ready: loaded, unavailable, warnings. */
  #report: WorkerModelsBody | null = null;
  /** Model → the versions this replica runs: loaded, and not excluded (no string built per routing decision). */
  readonly #runs = new Map<string, Set<string>>();
  /** Requests sent and not yet answered. */
  outstanding = 0;
  completed = 0;
  failed = 0;
  /** Bumped on every restart, so "already tried this replica" expires when it comes back. */
  generation = 0;
  pid: number | null = null;
  client: WorkerClient;
  #state: ReplicaState = 'starting';
  #maxConnections: number;

  constructor(options: ReplicaOptions) {
    super();
    this.id = options.id;
    this.address = options.address;
    this.models = options.models;
    this.health = options.health;
    this.#maxConnections = options.maxConnections;
    this.client = this.#newClient();
  }

  get state(): ReplicaState {
    return this.#state;
  }

  /** Applies a lifecycle event; returns false (and changes nothing) when it does not apply. */
  transition(event: ReplicaEvent): boolean {
    const from = this.#state;
    const to = nextReplicaState(from, event);
    if (to === undefined) return false;
    if (event === 'restart') {
      this.generation++;
      // Connections to the old process are dead; start from a fresh pool.
      void this.client.destroy();
      this.client = this.#newClient();
    }
    this.#state = to;
    if (from !== to) this.emit('state', this, from, to);
    return true;
  }

  /** Whether the replica is placed to serve `model` (it may not have loaded every version). */
  serves(model: string): boolean {
    return this.models.includes(model);
  }

  /** Whether the replica runs this version of `model`; undefined: any version it is placed to serve. */
  runs(model: string, version: string | undefined): boolean {
    return version === undefined ? this.serves(model) : this.#runs.get(model)?.has(version) === true;
  }

  get report(): WorkerModelsBody | null {
    return this.#report;
  }

  /** Records what the worker loaded, less the versions it must not serve (loaded from another file than the gateway's). */
  setReport(report: WorkerModelsBody, excluded: readonly ModelSignature[] = []): void {
    this.#report = report;
    this.#runs.clear();
    for (const s of report.models) {
      if (excluded.includes(s)) continue;
      const versions = this.#runs.get(s.name) ?? new Set<string>();
      versions.add(s.version);
      this.#runs.set(s.name, versions);
    }
  }

  snapshot(): ReplicaSnapshot {
    return {
      id: this.id,
      state: this.#state,
      address: describeAddress(this.address),
      models: [...this.models],
      outstanding: this.outstanding,
      completed: this.completed,
      failed: this.failed,
      restarts: this.generation,
      pid: this.pid,
      health: this.health.snapshot(),
    };
  }

  #newClient(): WorkerClient {
    return new WorkerClient({ id: this.id, address: this.address, maxConnections: this.#maxConnections });
  }
}
