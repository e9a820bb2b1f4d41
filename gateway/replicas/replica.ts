// The gateway's view of one replica (a local worker process, or a worker on
// another host): its lifecycle state, the requests outstanding on it, the
// model versions it serves and the client that reaches it. The balancer reads
// `outstanding`; its source (supervisor, static list) drives `state` through
// the one transition function.

import { EventEmitter } from 'node:events';
import type { ModelSignature, WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaHealth, ReplicaHealthSnapshot } from '../health/replica-health.ts';
import { describeAddress, type ReplicaAddress, type ReplicaClient, type ReplicaClientFactory } from './replica-client.ts';
import { nextReplicaState, type ReplicaEvent, type ReplicaState } from './replica-state.ts';
import type { ModelSelection } from '../../common/model-repository.ts';
import { formatModelSelection } from '../../common/model-selection.ts';

export type ReplicaOptions = {
  id: string;
  address: ReplicaAddress;
  /** The models, and of each the versions (none named: every version), this replica is placed to serve. */
  serving: readonly ModelSelection[];
  /** Builds the client of each process of this replica (again after a restart). */
  connect: ReplicaClientFactory;
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
  health: ReplicaHealthSnapshot & { weight: number };
};

export type ReplicaEvents = { state: [replica: Replica, from: ReplicaState, to: ReplicaState] };

/** Emits 'state' (replica, from, to) on every transition. */
export class Replica extends EventEmitter<ReplicaEvents> {
  readonly id: string;
  readonly address: ReplicaAddress;
  #serving: readonly ModelSelection[];
  #models: readonly string[];
  readonly health: ReplicaHealth;
  /** What the worker reported (GET /models) when it last became ready: loaded, unavailable, warnings. */
  #report: WorkerModelsBody | null = null;
  /** Model → the versions this replica runs: placed, loaded, and not excluded (no string built per routing decision). */
  readonly #runs = new Map<string, Set<string>>();
  /** Requests sent and not yet answered. */
  outstanding = 0;
  /** Taken out of routing while it loads a model (ReplicaSet.aside): the load holds its worker's one thread. */
  aside = false;
  completed = 0;
  failed = 0;
  /** Bumped on every restart, so "already tried this replica" expires when it comes back. */
  generation = 0;
  pid: number | null = null;
  /** When its slow-start ramp began (balancer/slow-start.ts); -Infinity: a full share from the start. */
  rampStartedMs = -Infinity;
  #client: ReplicaClient;
  readonly #connect: ReplicaClientFactory;
  #state: ReplicaState = 'starting';

  constructor(options: ReplicaOptions) {
    super();
    this.id = options.id;
    this.address = options.address;
    this.#serving = options.serving;
    this.#models = options.serving.map((s) => s.name);
    this.health = options.health;
    this.#connect = options.connect;
    this.#client = this.#connect(this);
  }

  get state(): ReplicaState {
    return this.#state;
  }

  get client(): ReplicaClient {
    return this.#client;
  }

  /** The models, and of each the versions (none named: every version), it is placed to serve. */
  get serving(): readonly ModelSelection[] {
    return this.#serving;
  }

  /** Names of the models it is placed to serve. */
  get models(): readonly string[] {
    return this.#models;
  }

  /** Places a model on this replica, or takes it off (a model loaded or unloaded while it runs); a restart keeps it. */
  place(model: string, selection: ModelSelection | undefined): void {
    const others = this.#serving.filter((s) => s.name !== model);
    this.#serving = selection ? [...others, selection] : others;
    this.#models = this.#serving.map((s) => s.name);
    if (!selection) this.#runs.delete(model);
  }

  /** Applies a lifecycle event; returns false (and changes nothing) when it does not apply. */
  transition(event: ReplicaEvent): boolean {
    const from = this.#state;
    const to = nextReplicaState(from, event);
    if (to === undefined) return false;
    if (event === 'restart') {
      this.generation++;
      // Connections to the old process are dead; start from a fresh client.
      void this.#client.destroy();
      this.#client = this.#connect(this);
    }
    this.#state = to;
    if (from !== to) this.emit('state', this, from, to);
    return true;
  }

  /** Whether the replica is placed to serve `model` (it may not have loaded every version). */
  serves(model: string): boolean {
    return this.#models.includes(model);
  }

  /** Whether the replica runs this version of `model`; undefined: any version it is placed to serve. */
  runs(model: string, version: string | undefined): boolean {
    return version === undefined ? this.serves(model) : this.#runs.get(model)?.has(version) === true;
  }

  get report(): WorkerModelsBody | null {
    return this.#report;
  }

  /**
   * Records what the worker loaded, less what it must not serve: versions it is not placed to serve, and versions
   * loaded from another file than the gateway's (`excluded`).
   */
  setReport(report: WorkerModelsBody, excluded: readonly ModelSignature[] = []): void {
    this.#report = report;
    this.#runs.clear();
    for (const s of report.models) {
      if (excluded.includes(s) || !this.#placedToRun(s.name, s.version)) continue;
      const versions = this.#runs.get(s.name) ?? new Set<string>();
      versions.add(s.version);
      this.#runs.set(s.name, versions);
    }
  }

  /** Its state and counters; `weight` is its slow-start traffic weight now (the replica set knows the ramp). */
  snapshot(weight: number): ReplicaSnapshot {
    return {
      id: this.id,
      state: this.#state,
      address: describeAddress(this.address),
      models: this.#serving.map(formatModelSelection),
      outstanding: this.outstanding,
      completed: this.completed,
      failed: this.failed,
      restarts: this.generation,
      pid: this.pid,
      health: { ...this.health.snapshot(), weight: Number(weight.toFixed(3)) },
    };
  }

  #placedToRun(model: string, version: string): boolean {
    const served = this.#serving.find((s) => s.name === model);
    return served !== undefined && (served.versions === undefined || served.versions.includes(version));
  }
}
