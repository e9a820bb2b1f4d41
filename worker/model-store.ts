// The onnxruntime sessions of one worker, one per model version, and the one
// way to run them.
//
//   empty ──start()──▶ loading ──every version tried──▶ ready ⇄ load(m) / unload(m)
//     └──────────────────────────close()───────────────────▶ closed
//
// Each version ends its load either loaded (session created, warm-up passed)
// or unavailable with a reason naming its file and the cause: a missing or
// corrupt file, an operator onnxruntime cannot run, a tensor type KServe has
// no name for, an invalid config.yaml, a configured warm-up sample that
// failed, or a version the worker was told to load (--model name:1,3) that
// the repository does not have. One version's fault never stops the others
// from loading, and the worker never exits for it (it would only restart into
// the same fault). Without configured samples a synthetic warm-up runs
// (warmup.ts) and its failure is only a warning: the session loaded, and a
// real request will say what it needs (a model may need a minimum sequence
// length, say). Loading one version is load-version.ts; this file owns the
// versions and their runs.
//
// While ready, load(selection) brings one model to what the repository has
// now (steps: load-plan.ts) and unload(name) retires all of it, both without
// stopping the traffic: a version is served only once warmed up, a replaced
// file's new session is swapped in only once warmed up, and a retired
// version takes no new run but finishes those started before its session is
// released (version-runs.ts). start, load and unload run one at a time per
// worker: creating a session holds the event loop anyway (onnxruntime-node
// builds it synchronously), so running them side by side would gain nothing
// and would make a model's state depend on which call finished last.
//
// run() validates a request against the session's own signature before
// anything reaches onnxruntime, so onnxruntime only sees well-formed tensors
// and its failures are the model's (GW_ERR_MODEL_EXECUTION, a client error:
// e.g. an index out of range), never a malformed frame.

import * as ort from 'onnxruntime-node';
import { clientText, InfergateError } from '../common/errors.ts';
import { isVersionName, MODEL_FILE, RepositoryError, scanModelRepository, type ModelSelection, type RepositoryModel } from '../common/model-repository.ts';
import type { ModelSignature, Tensor, WorkerModelsBody, WorkerTiming } from '../common/wire.ts';
import { applyModel, retireVersion, type ApplyModelContext, type ModelProblem } from './apply-model.ts';
import { feedsFor, fetchesFor, type CreateSession } from './loaded-version.ts';
import { loadVersion, toOrtSessionOptions } from './load-version.ts';
import type { WorkerSessionOptions } from '../common/worker-options.ts';
import { fromOrtTensor } from './tensor-convert.ts';
import { VersionRuns } from './version-runs.ts';
import { VersionTable } from './version-table.ts';

export type ModelStoreState = 'empty' | 'loading' | 'ready' | 'closed';

export type ModelStoreOptions = {
  modelsDir: string;
  /** Models to load at start, each with every version or only those named; empty means every model in modelsDir. */
  models: readonly ModelSelection[];
  session: WorkerSessionOptions;
  /** Defaults to onnxruntime-node's InferenceSession.create. */
  createSession?: CreateSession;
  /** Told once per version that turned out unavailable, or that loaded (or failed to reload) with a warning. */
  onProblem?: (problem: ModelProblem) => void;
};

/** The version that ran, its outputs, and where the run's time went (performance.now() around each phase). */
export type RunResult = { version: string; outputs: Tensor[]; timing: WorkerTiming };

export class ModelStore {
  readonly #modelsDir: string;
  readonly #selection: readonly ModelSelection[];
  readonly #table = new VersionTable();
  readonly #runs = new VersionRuns();
  readonly #applyContext: ApplyModelContext;
  #state: ModelStoreState = 'empty';
  /** The tail of the queue start, load and unload take turns in. */
  #control: Promise<unknown> = Promise.resolve();
  #starting: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ModelStoreOptions) {
    this.#modelsDir = options.modelsDir;
    this.#selection = options.models;
    const sessionOptions = toOrtSessionOptions(options.session);
    const createSession: CreateSession = options.createSession ?? ((path, o) => ort.InferenceSession.create(path, o));
    this.#applyContext = {
      table: this.#table,
      runs: this.#runs,
      loadVersion: (model, file, fingerprint) => loadVersion(model, file, createSession, sessionOptions, fingerprint),
      onProblem: options.onProblem ?? (() => {}),
      closed: () => this.#state === 'closed',
    };
  }

  get state(): ModelStoreState {
    return this.#state;
  }

  /**
   * Creates and warms up every version's session; resolves once each one is loaded or unavailable. Rejects only
   * when the repository itself cannot be read or a model named in `models` is not in it. Idempotent.
   */
  start(): Promise<void> {
    if (this.#state === 'empty') this.#state = 'loading';
    this.#starting ??= this.#turn(() => this.#start());
    return this.#starting;
  }

  /**
   * Brings one model to what the repository holds now: the versions `selection` names (absent: those its
   * versionPolicy serves) are loaded, reloaded when their model.onnx changed, or left alone when it did not;
   * versions it no longer names are retired. Resolves with the new report once done (replaced sessions released).
   * Throws InfergateError: GW_ERR_INVALID_REQUEST (a bad name or version), GW_ERR_MODEL_NOT_FOUND (no such model
   * directory), GW_ERR_MODEL_NOT_READY (not started), GW_ERR_SHUTTING_DOWN.
   */
  async load(selection: ModelSelection): Promise<WorkerModelsBody> {
    checkSelection(selection);
    return this.#controlled(() => {
      let models: RepositoryModel[];
      try {
        models = scanModelRepository(this.#modelsDir, [selection]);
      } catch (err) {
        if (err instanceof RepositoryError) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', err.message, { cause: err });
        throw err;
      }
      return applyModel(models[0]!, this.#applyContext);
    });
  }

  /**
   * Retires every version of a model: no new run starts on it; resolves with the new report once the runs in
   * flight on it ended and its sessions were released. Unloading a model the worker does not hold is not an error
   * (a caller may repeat an unload whose answer it lost). Throws InfergateError as load() does.
   */
  async unload(name: string): Promise<WorkerModelsBody> {
    checkSelection({ name });
    return this.#controlled(() => Promise.all(this.#table.knownVersions(name).map((version) => retireVersion(this.#table, this.#runs, name, version))));
  }

  /** Signatures of every loaded version, by model name then version. */
  signatures(): ModelSignature[] {
    return this.#table.signatures();
  }

  /** What GET /models reports: loaded versions, unavailable ones with their reasons, warnings. */
  report(): WorkerModelsBody {
    return this.#table.report();
  }

  /**
   * Runs one request. `version` '' means the model's highest version;
   * `outputNames` absent or empty means every output, in signature order.
   * Returns the version that ran and its outputs in the order asked for.
   * Outputs larger than `maxOutputBytes` in all are not returned:
   * GW_ERR_RESPONSE_TOO_LARGE. Throws InfergateError.
   *
   * Timing: input is checking and converting the request tensors (feedsFor), infer the session run (until its
   * promise settles here), output the size check and the conversion of the outputs into wire tensors.
   */
  async run(model: string, version: string, tensors: readonly Tensor[], outputNames?: readonly string[], maxOutputBytes = Infinity): Promise<RunResult> {
    if (this.#state !== 'ready') {
      throw this.#state === 'closed'
        ? new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is closing its sessions')
        : new InfergateError('GW_ERR_MODEL_NOT_READY', 'the worker is still loading its models');
    }
    const loaded = this.#table.lookup(model, version);
    const startMs = performance.now();
    const feeds = feedsFor(loaded, tensors);
    const fetches = fetchesFor(loaded, outputNames);
    const fedMs = performance.now();
    // Tracked in the turn of the lookup: a version retired later waits for this run (version-runs.ts).
    const running = this.#runs.track(loaded, loaded.session.run(feeds, fetches));
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await running;
    } catch (err) {
      throw new InfergateError('GW_ERR_MODEL_EXECUTION', err instanceof Error ? err.message : String(err), { cause: err });
    }
    const ranMs = performance.now();
    // Checked before the outputs are converted or framed: an amplifying input must not cost a second copy.
    const outputBytes = fetches.reduce((sum, name) => sum + ortTensorBytes(results[name] as ort.Tensor), 0);
    if (outputBytes > maxOutputBytes) {
      throw new InfergateError('GW_ERR_RESPONSE_TOO_LARGE', `model ${model} version ${loaded.signature.version} produced ${outputBytes} bytes of outputs; the limit is ${maxOutputBytes} (limits.maxResponseBytes): ask for fewer rows or fewer outputs`);
    }
    const outputs = fetches.map((name) => fromOrtTensor(name, results[name] as ort.Tensor));
    const doneMs = performance.now();
    return { version: loaded.signature.version, outputs, timing: { inputMs: toMicros(fedMs - startMs), inferMs: toMicros(ranMs - fedMs), outputMs: toMicros(doneMs - ranMs) } };
  }

  /** Waits for loads and runs in progress, then releases every session. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Queues `op` after every earlier start, load and unload. */
  #turn<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#control.then(op);
    this.#control = result.catch(() => {});
    return result;
  }

  /** A load or unload: refused unless started and not closing; answers the report once `op` is done. */
  #controlled(op: () => Promise<unknown>): Promise<WorkerModelsBody> {
    if (this.#state === 'closed') return Promise.reject(new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is closing its sessions'));
    if (this.#state === 'empty') return Promise.reject(new InfergateError('GW_ERR_MODEL_NOT_READY', 'the worker has not started loading its models'));
    return this.#turn(async () => {
      if (this.#state === 'closed') throw new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is closing its sessions');
      await op();
      return this.#table.report();
    });
  }

  async #start(): Promise<void> {
    const models = scanModelRepository(this.#modelsDir, this.#selection);
    if (models.length === 0) throw new RepositoryError(`model repository ${this.#modelsDir} has no <name>/<version>/${MODEL_FILE}`);
    for (const model of models) await applyModel(model, this.#applyContext);
    if (this.#state === 'loading') this.#state = 'ready';
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    await this.#control;
    await this.#runs.settled();
    await Promise.allSettled(this.#table.all().map((v) => v.session.release()));
  }
}

/** A model name is one directory below the repository root; versions are canonical positive integers. */
function checkSelection({ name, versions }: ModelSelection): void {
  // Dot-names are skipped by the scan (and "." / ".." would leave the repository).
  if (name === '' || name.startsWith('.') || /[/\\]/.test(name)) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `${clientText(name)} is not a model directory name`);
  }
  if (versions !== undefined && (versions.length === 0 || !versions.every((v) => typeof v === 'string' && isVersionName(v)))) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', 'versions must be a non-empty list of positive integers written as strings, e.g. ["1", "3"]');
  }
}

/** Bytes an output takes on the wire: the raw data, or for strings a u32 length and the UTF-8 bytes of each. */
function ortTensorBytes(tensor: ort.Tensor): number {
  if (tensor.type !== 'string') return (tensor.data as ArrayBufferView).byteLength;
  let bytes = 0;
  for (const text of tensor.data as string[]) bytes += 4 + Buffer.byteLength(text, 'utf8');
  return bytes;
}

/** Milliseconds kept to the microsecond: the timing travels in every response frame's JSON header, where 17 digits would cost parse time. */
function toMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
