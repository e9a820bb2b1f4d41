// The models the gateway serves: their versions, each version's state, and
// (once a replica has loaded it) its signature. Resolves a request's model
// and optional version to one signature, or to the catalogued error.
//
// A version's state comes from the repository scan and the replicas' reports
// (GET /models of each worker), recomputed whenever a replica changes state:
//
//   UNAVAILABLE  config.yaml invalid, model.onnx missing, or reported
//                unavailable by a replica and loaded by no ready one
//   READY        a ready replica runs it
//   LOADING      otherwise: no replica has said yet, or all are restarting
//
// (the names of the KServe repository extension). One version's fault never
// touches another: a request without a version goes to the highest version
// that is not UNAVAILABLE. Each unavailable reason and warm-up warning is
// logged once.

import { clientText, InfergateError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { TimedWaiters } from '../../common/timed-waiters.ts';
import { latestVersion, type ModelSelection, type RepositoryModel } from '../../common/model-repository.ts';
import type { ModelSignature, WorkerModelsBody } from '../../common/wire.ts';
import { LoadClock, type VersionLoad } from './load-clock.ts';

export type ResolvedModel = { name: string; version: string; signature: ModelSignature };

export type VersionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

export type VersionStatus = { version: string; state: VersionState; reason?: string };

/** What the registry reads of a replica. */
export type ReplicaView = {
  id: string;
  state: string;
  /** What the worker reported when it last became ready; null before. */
  report: WorkerModelsBody | null;
  /** Whether this replica may run `model` `version` (it loaded it, from the file the registry knows). */
  runs(model: string, version: string): boolean;
};

type VersionRecord = VersionStatus & { resolved: ResolvedModel | undefined };

/** Requests that may wait at once for versions still loading; beyond that they are answered 503 at once. */
const MAX_LOAD_WAITERS = 4096;
type ModelRecord = { model: RepositoryModel; versions: Map<string, VersionRecord>; defaultVersion: VersionRecord | undefined };

export class ModelRegistry {
  readonly #models = new Map<string, RepositoryModel>();
  readonly #records = new Map<string, ModelRecord>();
  /** "name/version" → the signature first learned (its fingerprint is the file this gateway serves). */
  readonly #signatures = new Map<string, ModelSignature>();
  readonly #logged = new Set<string>();
  /** Models being unloaded: they take no new request. */
  readonly #unloading = new Set<string>();
  /** When each version last started loading and became READY (wall clock, ms), and how long that took. */
  readonly #loads: LoadClock;
  /** Model → the version a rollout made stable: requests naming no version (or the label `stable`) get it. */
  readonly #stable = new Map<string, string>();
  /** Requests waiting for a version that is LOADING (see `whenLoaded`). */
  readonly #loadWaiters = new TimedWaiters<{ name: string; version: string | undefined }, ResolvedModel>({ unrefTimers: false });
  readonly #logger: Logger;

  constructor(models: readonly RepositoryModel[], logger: Logger = silentLogger(), now: () => number = Date.now) {
    this.#logger = logger;
    this.#loads = new LoadClock(now);
    for (const model of models) this.#models.set(model.name, model);
    this.observe([]);
  }

  get models(): RepositoryModel[] { return [...this.#models.values()]; }

  /**
   * Records the signatures a replica reports. The first file learned for a version is the one served; returns the
   * versions this replica loaded from another file (another fingerprint), which it must not serve.
   */
  learn(replicaId: string, report: WorkerModelsBody): ModelSignature[] {
    const conflicting: ModelSignature[] = [];
    for (const signature of report.models) {
      const key = `${signature.name}/${signature.version}`;
      const known = this.#signatures.get(key);
      if (!known) this.#signatures.set(key, signature);
      else if (known.fingerprint !== signature.fingerprint) {
        conflicting.push(signature);
        this.#logOnce(
          `${replicaId}/${key}/${signature.fingerprint}`,
          { replica: replicaId, model: signature.name, version: signature.version, sha256: signature.fingerprint, servedSha256: known.fingerprint },
          'replica loaded a model version from another file; it will not serve it',
        );
      }
    }
    for (const warning of report.warnings) {
      this.#logOnce(`warn/${warning.name}/${warning.version}/${warning.message}`, { model: warning.name, version: warning.version, warning: warning.message }, 'model version loaded with a warning');
    }
    return conflicting;
  }

  /** "name/version" → the sha256 of the file served, for each version a replica has reported. */
  fingerprints(): Map<string, string> {
    return new Map([...this.#signatures].map(([key, signature]) => [key, signature.fingerprint]));
  }

  /** Takes a model as the repository has it now (new, or rescanned for a load): its versions' states are recomputed at the next `observe`. */
  upsert(model: RepositoryModel): void {
    this.#models.set(model.name, model);
    this.#unloading.delete(model.name);
  }

  /** Forgets the files learned for a model, so that the next reports (after a reload) are learned anew. */
  forgetFiles(name: string): void {
    for (const key of [...this.#signatures.keys()]) if (key.startsWith(`${name}/`)) this.#signatures.delete(key);
  }

  /** Marks every version of a model UNLOADING (no new request resolves to it) until `remove`. */
  beginUnload(name: string): void {
    this.model(name);
    this.#unloading.add(name);
  }

  /** Forgets a model (unloaded): requests for it are answered 404 from now on. */
  remove(name: string): void {
    this.#models.delete(name);
    this.#records.delete(name);
    this.#unloading.delete(name);
    this.#stable.delete(name);
    this.forgetFiles(name);
    this.#wakeLoadWaiters();
  }

  /** Recomputes every version's state from the replicas; call on every replica state change. */
  observe(replicas: readonly ReplicaView[]): void {
    for (const model of this.#models.values()) {
      const versions = new Map<string, VersionRecord>();
      for (const file of model.versions) {
        const status: VersionStatus = this.#unloading.has(model.name)
          ? { version: file.version, state: 'UNLOADING' }
          : versionStatus(model, file.version, file.missing ? `${file.path} is missing` : undefined, replicas);
        if (status.state === 'UNAVAILABLE') this.#logOnce(`${model.name}/${file.version}/${status.reason}`, { model: model.name, version: file.version, reason: status.reason }, 'model version unavailable');
        const signature = status.state === 'UNAVAILABLE' || status.state === 'UNLOADING' ? undefined : this.#signatures.get(`${model.name}/${file.version}`);
        this.#loads.observe(`${model.name}/${file.version}`, status.state);
        versions.set(file.version, { ...status, resolved: signature && { name: model.name, version: file.version, signature } });
      }
      // The highest version that serves now; before any does, the highest on its way (a version being loaded
      // while others serve takes no traffic until it is READY).
      const all = [...versions.values()];
      const stable = versions.get(this.#stable.get(model.name) ?? '');
      const pinned = stable && (stable.state === 'READY' || stable.state === 'LOADING') ? stable : undefined;
      const defaultVersion = pinned ?? latestVersion(all.filter((v) => v.state === 'READY')) ?? latestVersion(all.filter((v) => v.state === 'LOADING'));
      this.#records.set(model.name, { model, versions, defaultVersion });
    }
    this.#wakeLoadWaiters();
  }

  /** When a version last finished loading (READY, its warm-up included) and how long it took; undefined before. */
  lastLoad(name: string, version: string): VersionLoad | undefined {
    return this.#loads.last(`${name}/${version}`);
  }

  /** A load of the model's files begins (a reload too, though its versions stay READY): the next READY stops this clock. */
  loadBegins(name: string): void {
    this.#loads.begins((this.#models.get(name)?.versions ?? []).map((v) => `${name}/${v.version}`));
  }

  /**
   * Pins the version requests naming none get (and the label `stable` names), over the version policy's latest, and
   * with it the versions replicas are placed to run (`placement`); undefined unpins. A rollout pins; a load from the
   * repository unpins (the repository's policy decides again). Takes effect at the next `observe`.
   */
  pinStable(name: string, version: string | undefined): void {
    if (version === undefined) this.#stable.delete(name);
    else this.#stable.set(name, version);
  }

  /** The version a rollout pinned as stable; undefined when the version policy decides. */
  stableVersion(name: string): string | undefined {
    return this.#stable.get(name);
  }

  /** What a replica of the model is placed to run: the registry's versions while a version is pinned, else what the version policy serves. */
  placement(name: string): ModelSelection {
    return this.#stable.has(name) ? { name, versions: this.model(name).versions.map((v) => v.version) } : { name };
  }

  /** The model; throws GW_ERR_MODEL_NOT_FOUND. */
  model(name: string): RepositoryModel {
    const model = this.#models.get(name);
    if (!model) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', clientText(name));
    return model;
  }

  /** Each version of a model with its state (and reason when unavailable), ascending. */
  status(name: string): VersionStatus[] {
    return [...this.#record(name).versions.values()].map(({ version, state, reason }) => (reason === undefined ? { version, state } : { version, state, reason }));
  }

  /** The version a request means: the named one or the one a label names (any state), or the highest that is not unavailable. Throws the catalogued 404s and 400. */
  resolveVersion(name: string, version: string | undefined): VersionStatus {
    const record = this.#record(name);
    if (version === undefined || version === '') {
      if (record.defaultVersion) return record.defaultVersion;
      const reasons = [...record.versions.values()].map((v) => `version ${v.version}: ${v.reason ?? v.state}`).join('; ');
      throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model "${name}" has no version that can serve: ${reasons}`);
    }
    // A label (config.yaml `labels`, or `stable` once pinned) stands for the version it names; answers and cache keys carry the number.
    const labels = record.model.config.labels;
    const pinned = version === 'stable' ? this.#stable.get(name) : undefined;
    const number = pinned ?? (labels && Object.hasOwn(labels, version) ? String(labels[version]) : version);
    const found = record.versions.get(number);
    if (!found) {
      const labelled = labels && Object.keys(labels).length > 0 ? ` or labels ${Object.keys(labels).join(', ')}` : '';
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model "${name}" serves versions ${[...record.versions.keys()].join(', ')}${labelled}, not ${clientText(version)}`);
    }
    return found;
  }

  /** The signature of the version a request means; throws 404s, GW_ERR_MODEL_UNAVAILABLE, or GW_ERR_MODEL_NOT_READY before any replica loaded it. */
  resolve(name: string, version: string | undefined): ResolvedModel {
    const found = this.resolveVersion(name, version) as VersionRecord;
    if (found.state === 'UNAVAILABLE') throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model "${name}" version ${found.version}: ${found.reason}`);
    if (found.state === 'UNLOADING') throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model "${name}" version ${found.version} is being unloaded`);
    if (!found.resolved) throw new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${name}" version ${found.version} has not been loaded by any replica yet`);
    return found.resolved;
  }

  /**
   * After `resolve` refused with `refusal`: when that was only because no replica has loaded the version yet (it is
   * LOADING), waits for it at most `waitMs`, so that a request for a version on its way is served once its warm-up
   * ends instead of failing. Otherwise throws `refusal` at once.
   */
  whenLoaded(refusal: unknown, name: string, version: string | undefined, waitMs: number): Promise<ResolvedModel> {
    if (!this.#isStillLoading(refusal, name, version) || waitMs <= 0 || this.#loadWaiters.size >= MAX_LOAD_WAITERS) throw refusal;
    return this.#loadWaiters.wait({ name, version }, waitMs, () => new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${name}" version ${version ?? '(latest)'} was still loading after ${waitMs} ms`));
  }

  /** Whether `resolve` refused only because no replica has loaded the version yet. */
  #isStillLoading(err: unknown, name: string, version: string | undefined): boolean {
    if (!(err instanceof InfergateError) || err.code !== 'GW_ERR_MODEL_NOT_READY') return false;
    // resolve() got past resolveVersion(), so this cannot throw.
    return this.resolveVersion(name, version).state === 'LOADING';
  }

  /** After a state change: each waiter is served, refused with what `resolve` says now, or waits on. */
  #wakeLoadWaiters(): void {
    this.#loadWaiters.wake(({ name, version }) => {
      try {
        return { value: this.resolve(name, version) };
      } catch (error) {
        return this.#isStillLoading(error, name, version) ? undefined : { error };
      }
    });
  }

  /** True once no version is LOADING (each is READY or UNAVAILABLE). */
  settled = (): boolean => this.#unready(false).length === 0;

  /** /v2/health/ready. Strict (Triton's --strict-readiness): every version READY; else READY or UNAVAILABLE. The reason names those holding it back. */
  readiness(strict: boolean): { ready: boolean; reason: string } {
    const unready = this.#unready(strict);
    if (unready.length === 0) return { ready: true, reason: '' };
    const shown = unready.slice(0, 5).join('; ');
    return { ready: false, reason: `${unready.length} model version${unready.length === 1 ? ' is' : 's are'} not ready: ${shown}${unready.length > 5 ? '; …' : ''}` };
  }

  #unready(strict: boolean): string[] {
    const unready: string[] = [];
    for (const { model, versions } of this.#records.values()) {
      for (const v of versions.values()) {
        if (v.state === 'LOADING' || (strict && v.state === 'UNAVAILABLE')) unready.push(`${model.name} version ${v.version} ${v.state}${v.reason ? ` (${v.reason})` : ''}`);
      }
    }
    return unready;
  }

  #record(name: string): ModelRecord {
    const record = this.#records.get(name);
    if (!record) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', clientText(name));
    return record;
  }

  /** Each problem is a warning, logged once however many replicas report it and however often. */
  #logOnce(key: string, fields: object, message: string): void {
    if (this.#logged.has(key)) return;
    this.#logged.add(key);
    this.#logger.warn(fields, message);
  }
}

/** One version's state from the scan's own verdict (`fault`) and the replicas' reports. Pure. */
export function versionStatus(model: RepositoryModel, version: string, fault: string | undefined, replicas: readonly ReplicaView[]): VersionStatus {
  const reason = model.configError ?? fault;
  if (reason !== undefined) return { version, state: 'UNAVAILABLE', reason };
  if (replicas.some((r) => r.state === 'ready' && r.runs(model.name, version))) return { version, state: 'READY' };
  for (const replica of replicas) {
    const reported = replica.report?.unavailable.find((u) => u.name === model.name && u.version === version);
    if (reported) return { version, state: 'UNAVAILABLE', reason: reported.reason };
  }
  return { version, state: 'LOADING' };
}
