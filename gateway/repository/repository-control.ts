// Loads, reloads and unloads models while the gateway serves (the KServe v2
// model repository extension's load and unload), inside the running
// workers: no process restarts.
//
//   load m     rescan m → the registry takes it (a version served now keeps
//              serving) → every replica placed for m (new model: the first
//              R local workers), one after another and each out of routing
//              meanwhile, loads it and warms its new versions up → their
//              reports make the new versions READY
//   unload m   m's versions turn UNLOADING (no new request resolves to
//              them) → calls already running finish → every replica
//              unloads m (its running inferences finish first) → m is
//              forgotten (404 from then on)
//
// One control action at a time: each starts from what the one before left.

import { clientText, InfergateError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { RepositoryError, scanModelRepository, type RepositoryModel } from '../../common/model-repository.ts';
import type { WorkerModelsBody } from '../../common/wire.ts';
import type { ModelRegistry, VersionState } from '../models/registry.ts';
import type { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';

/** How long a replica set aside for a load waits for the requests already on it (they take milliseconds). */
const ASIDE_DRAIN_MS = 2_000;

/** One row of POST /v2/repository/index. */
export type RepositoryIndexEntry = { name: string; version?: string; state: VersionState; reason?: string };

export type RepositoryControlDeps = {
  repository: string;
  /** models.include: only these may be loaded (empty: any model of the repository). */
  include: readonly string[];
  registry: ModelRegistry;
  replicas: ReplicaSet;
  /** The local workers in placement order: a model new to the gateway is loaded by the first R of them. */
  localReplicas: () => readonly Replica[];
  /** Replicas when a model's config.yaml names none (models.defaultReplicas). */
  defaultReplicas: number;
  /** Takes a replica's report after a load (the registry learns its files). */
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
  /** Told after each load of the replica count its config.yaml asks for (absent: it names none), to scale to it. */
  onLoaded?: (name: string, replicas: number) => void;
  /** Throws GW_ERR_ADMIN_CONFLICT while another action owns the model (a rollout of it). */
  checkFree: (model: string) => void;
  /** Resolves once no request of the model is running in the gateway. */
  drained: (model: string) => Promise<void>;
  /** One replica's load or unload fails after this long (a load includes the warm-up). */
  callTimeoutMs: number;
  logger: Logger;
};

export class RepositoryControl {
  readonly #deps: RepositoryControlDeps;
  #queue: Promise<unknown> = Promise.resolve();
  /** Models this control has loaded: a replica that starts later may have read them before the change. */
  readonly #loaded = new Set<string>();

  constructor(deps: RepositoryControlDeps) {
    this.#deps = deps;
  }

  /** Every model in the repository, and of each loaded one every version with its state. */
  index(): RepositoryIndexEntry[] {
    const { registry } = this.#deps;
    const loaded = new Set(registry.models.map((m) => m.name));
    const entries: RepositoryIndexEntry[] = [];
    for (const model of registry.models) {
      for (const v of registry.status(model.name)) entries.push({ name: model.name, version: v.version, state: v.state, ...(v.reason ? { reason: v.reason } : {}) });
    }
    for (const model of scanModelRepository(this.#deps.repository, [])) {
      if (!loaded.has(model.name) && this.#allowed(model.name)) entries.push({ name: model.name, state: 'UNAVAILABLE', reason: 'unloaded' });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  load(name: string): Promise<void> {
    this.#deps.checkFree(name);
    return this.#serially(() => this.#load(name));
  }

  /** Runs `action` alone among loads, unloads and whatever else changes the fleet's models (scaling steps). */
  exclusively<T>(action: () => Promise<T>): Promise<T> {
    return this.#serially(action);
  }

  /** Loads a model into one running replica, set aside from routing meanwhile; throws when it cannot. Call exclusively. */
  async loadOn(replica: Replica, name: string): Promise<void> {
    const failures = await this.#loadRolling([replica], name, (r, report) => this.#deps.acceptReport(r, report));
    if (failures.length > 0) throw new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `could not load model ${clientText(name)}: ${failures.join('; ')}`);
  }

  unload(name: string): Promise<void> {
    this.#deps.checkFree(name);
    return this.#serially(() => this.#unload(name));
  }

  /**
   * A replica just turned ready: it read the repository when it started, maybe before a load changed it. It loads
   * again each model loaded while serving (a worker whose files are unchanged does nothing); until then the
   * registry keeps it off any version whose file differs from the gateway's.
   */
  catchUp(replica: Replica): Promise<void> {
    return this.#serially(async () => {
      const names = [...this.#loaded].filter((name) => replica.serves(name));
      if (replica.state !== 'ready' || names.length === 0) return;
      for (const name of names) await this.#loadRolling([replica], name, (r, report) => this.#deps.acceptReport(r, report));
      this.#deps.registry.observe(this.#deps.replicas.replicas);
    });
  }

  async #load(name: string): Promise<void> {
    const { registry, replicas } = this.#deps;
    const model = this.#scan(name);
    this.#loaded.add(name);
    // The repository's version policy decides again what serves, over a version a rollout pinned.
    registry.pinStable(name, undefined);
    registry.upsert(model);
    registry.observe(replicas.replicas);
    registry.loadBegins(name);
    const { hosts, leaving } = this.#placement(name, model);
    const local = this.#deps.localReplicas();
    for (const host of hosts) if (!host.serves(name) || local.includes(host)) host.place(name, { name });
    // A replica that is not ready now loads the model when it starts (its command line names it).
    const ready = hosts.filter((r) => r.state === 'ready');
    const reports = new Map<Replica, WorkerModelsBody>();
    const failures = await this.#loadRolling(ready, name, (r, report) => reports.set(r, report));
    // The files are learned anew from what the replicas loaded now (a replaced model.onnx has another fingerprint).
    if (reports.size > 0) registry.forgetFiles(name);
    for (const [replica, report] of reports) this.#deps.acceptReport(replica, report);
    registry.observe(replicas.replicas);
    // Fewer replicas asked for (config.yaml `replicas`): the others let go of the model once it serves on the rest.
    await this.#onEach(leaving.filter((r) => r.state === 'ready'), 'unload', (r) => r.client.unloadModel(name, this.#deps.callTimeoutMs), (r, report) => r.setReport(report));
    for (const replica of leaving) replica.place(name, undefined);
    registry.observe(replicas.replicas);
    if (ready.length > 0 && failures.length === ready.length) {
      throw new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `no replica could load model ${clientText(name)}: ${failures.join('; ')}`);
    }
    // More replicas than running workers can give (new processes) is the scaler's job.
    if (model.config.replicas !== undefined) this.#deps.onLoaded?.(name, model.config.replicas);
  }

  async #unload(name: string): Promise<void> {
    const { registry, replicas } = this.#deps;
    registry.beginUnload(name);
    this.#loaded.delete(name);
    registry.observe(replicas.replicas);
    await this.#deps.drained(name);
    const hosts = replicas.replicas.filter((r) => r.serves(name));
    await this.#onEach(hosts.filter((r) => r.state === 'ready'), 'unload', (r) => r.client.unloadModel(name, this.#deps.callTimeoutMs), (r, report) => r.setReport(report));
    for (const host of hosts) host.place(name, undefined);
    registry.remove(name);
    registry.observe(replicas.replicas);
  }

  /**
   * Which replicas host the model after this load: those that do now, the first local workers added when its
   * config asks for more, and local workers beyond its count let go (replicas of other sources are kept as listed).
   */
  #placement(name: string, model: RepositoryModel): { hosts: Replica[]; leaving: Replica[] } {
    const wanted = model.config.replicas ?? this.#deps.defaultReplicas;
    const local = this.#deps.localReplicas();
    const hosting = this.#deps.replicas.replicas.filter((r) => r.serves(name));
    const remote = hosting.filter((r) => !local.includes(r));
    const localHosts = local.filter((r) => r.serves(name));
    for (const replica of local) if (localHosts.length < wanted && !localHosts.includes(replica)) localHosts.push(replica);
    const keep = local.filter((r) => localHosts.includes(r)).slice(0, wanted);
    return { hosts: [...keep, ...remote], leaving: localHosts.filter((r) => !keep.includes(r)) };
  }

  #allowed(name: string): boolean {
    return this.#deps.include.length === 0 || this.#deps.include.includes(name);
  }

  /** The model as the repository has it now; 404 when it is not there (or not in models.include). */
  #scan(name: string): RepositoryModel {
    if (!this.#allowed(name)) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `${clientText(name)} is not in models.include`);
    try {
      return scanModelRepository(this.#deps.repository, [name])[0]!;
    } catch (err) {
      if (err instanceof RepositoryError) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', err.message);
      throw err;
    }
  }

  /**
   * Loads the model on one replica after another, each set aside meanwhile (ReplicaSet.aside): a session build holds
   * its worker's thread, so the traffic of its other models goes to the other replicas instead of waiting behind it.
   */
  async #loadRolling(hosts: readonly Replica[], name: string, then: (r: Replica, report: WorkerModelsBody) => void): Promise<string[]> {
    const { replicas, callTimeoutMs } = this.#deps;
    const failures: string[] = [];
    for (const host of hosts) {
      // The versions it is placed to run (a rollout pins them), else those the model's version policy serves.
      const versions = host.serving.find((s) => s.name === name)?.versions;
      failures.push(...(await this.#onEach([host], 'load', (r) => replicas.aside(r, ASIDE_DRAIN_MS, () => r.client.loadModel(name, callTimeoutMs, versions)), then)));
    }
    return failures;
  }

  /** Runs `call` on every replica at once; a replica that fails is logged and named in the result. */
  async #onEach(hosts: readonly Replica[], action: string, call: (r: Replica) => Promise<WorkerModelsBody>, then: (r: Replica, report: WorkerModelsBody) => void): Promise<string[]> {
    const failures: string[] = [];
    await Promise.all(
      hosts.map(async (replica) => {
        try {
          then(replica, await call(replica));
        } catch (err) {
          this.#deps.logger.error({ action, replica: replica.id, err }, 'repository action failed on a replica');
          failures.push(`${replica.id}: ${(err as Error).message}`);
        }
      }),
    );
    return failures;
  }

  #serially<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(action, action);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
