// The onnxruntime sessions of one worker, one per model version, and the one
// way to run them.
//
//   empty ──load()──▶ loading ──every version tried──▶ ready
//     └──────────────────────────close()───────────────▶ closed
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
// run() validates a request against the session's own signature before
// anything reaches onnxruntime, so onnxruntime only sees well-formed tensors
// and its failures are the model's (GW_ERR_MODEL_EXECUTION, a client error:
// e.g. an index out of range), never a malformed frame.

import * as ort from 'onnxruntime-node';
import { clientText, InfergateError } from '../common/errors.ts';
import { latestVersion, MODEL_FILE, RepositoryError, scanModelRepository, type ModelSelection } from '../common/model-repository.ts';
import type { ModelSignature, Tensor, UnavailableVersion, VersionWarning, WorkerModelsBody } from '../common/wire.ts';
import { feedsFor, fetchesFor, type CreateSession, type LoadedVersion } from './loaded-version.ts';
import { loadVersion, toOrtSessionOptions } from './load-version.ts';
import type { WorkerSessionOptions } from '../common/worker-options.ts';
import { fromOrtTensor } from './tensor-convert.ts';

export type ModelStoreState = 'empty' | 'loading' | 'ready' | 'closed';

export type ModelStoreOptions = {
  modelsDir: string;
  /** Models to load, each with every version or only those named; empty means every model in modelsDir. */
  models: readonly ModelSelection[];
  session: WorkerSessionOptions;
  /** Defaults to onnxruntime-node's InferenceSession.create. */
  createSession?: CreateSession;
  /** Told once per version that turned out unavailable, or that loaded with a warning. */
  onProblem?: (problem: { kind: 'unavailable'; version: UnavailableVersion } | { kind: 'warning'; warning: VersionWarning }) => void;
};

export type RunResult = { version: string; outputs: Tensor[] };

export class ModelStore {
  readonly #modelsDir: string;
  readonly #selection: readonly ModelSelection[];
  readonly #sessionOptions: WorkerSessionOptions;
  readonly #createSession: CreateSession;
  readonly #onProblem: NonNullable<ModelStoreOptions['onProblem']>;
  /** name → version → loaded session; filled while loading, read-only once ready. */
  readonly #models = new Map<string, Map<string, LoadedVersion>>();
  /** "name/version" → why it is not served. */
  readonly #unavailable = new Map<string, UnavailableVersion>();
  readonly #warnings: VersionWarning[] = [];
  readonly #running = new Set<Promise<unknown>>();
  #state: ModelStoreState = 'empty';
  #loading: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ModelStoreOptions) {
    this.#modelsDir = options.modelsDir;
    this.#selection = options.models;
    this.#sessionOptions = options.session;
    this.#onProblem = options.onProblem ?? (() => {});
    this.#createSession = options.createSession ?? ((path, sessionOptions) => ort.InferenceSession.create(path, sessionOptions));
  }

  get state(): ModelStoreState {
    return this.#state;
  }

  /**
   * Creates and warms up every version's session; resolves once each one is loaded or unavailable. Rejects only
   * when the repository itself cannot be read or a model named in `models` is not in it. Idempotent.
   */
  load(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  /** Signatures of every loaded version, by model name then version. */
  signatures(): ModelSignature[] {
    return [...this.#models.values()].flatMap((versions) => [...versions.values()].map((v) => v.signature));
  }

  /** What GET /models reports: loaded versions, unavailable ones with their reasons, warnings. */
  report(): WorkerModelsBody {
    return { models: this.signatures(), unavailable: [...this.#unavailable.values()], warnings: [...this.#warnings] };
  }

  /**
   * Runs one request. `version` '' means the model's highest version;
   * `outputNames` absent or empty means every output, in signature order.
   * Returns the version that ran and its outputs in the order asked for.
   * Outputs larger than `maxOutputBytes` in all are not returned:
   * GW_ERR_RESPONSE_TOO_LARGE. Throws InfergateError.
   */
  async run(model: string, version: string, tensors: readonly Tensor[], outputNames?: readonly string[], maxOutputBytes = Infinity): Promise<RunResult> {
    if (this.#state !== 'ready') {
      throw this.#state === 'closed'
        ? new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is closing its sessions')
        : new InfergateError('GW_ERR_MODEL_NOT_READY', 'the worker is still loading its models');
    }
    const loaded = this.#lookup(model, version);
    const feeds = feedsFor(loaded, tensors);
    const fetches = fetchesFor(loaded, outputNames);

    const running = loaded.session.run(feeds, fetches);
    this.#running.add(running);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await running;
    } catch (err) {
      throw new InfergateError('GW_ERR_MODEL_EXECUTION', err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      this.#running.delete(running);
    }
    // Checked before the outputs are converted or framed: an amplifying input must not cost a second copy.
    const outputBytes = fetches.reduce((sum, name) => sum + ortTensorBytes(results[name] as ort.Tensor), 0);
    if (outputBytes > maxOutputBytes) {
      throw new InfergateError('GW_ERR_RESPONSE_TOO_LARGE', `model ${model} version ${loaded.signature.version} produced ${outputBytes} bytes of outputs; the limit is ${maxOutputBytes} (limits.maxResponseBytes): ask for fewer rows or fewer outputs`);
    }
    return {
      version: loaded.signature.version,
      outputs: fetches.map((name) => fromOrtTensor(name, results[name] as ort.Tensor)),
    };
  }

  /** Waits for runs in progress, then releases every session. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #load(): Promise<void> {
    this.#state = 'loading';
    const models = scanModelRepository(this.#modelsDir, this.#selection);
    if (models.length === 0) throw new RepositoryError(`model repository ${this.#modelsDir} has no <name>/<version>/${MODEL_FILE}`);
    const sessionOptions = toOrtSessionOptions(this.#sessionOptions);
    // One at a time: onnxruntime-node builds a session synchronously on the
    // main thread, so loading in parallel would only interleave the work.
    for (const model of models) {
      for (const file of model.versions) {
        // close() may have been called while the previous session loaded.
        if (this.state === 'closed') return;
        const outcome = await loadVersion(model, file, this.#createSession, sessionOptions);
        if ('reason' in outcome) {
          const unavailable = { name: model.name, version: file.version, reason: outcome.reason };
          this.#unavailable.set(`${model.name}/${file.version}`, unavailable);
          this.#onProblem({ kind: 'unavailable', version: unavailable });
          continue;
        }
        if (outcome.warning !== undefined) {
          const warning = { name: model.name, version: file.version, message: outcome.warning };
          this.#warnings.push(warning);
          this.#onProblem({ kind: 'warning', warning });
        }
        const versions = this.#models.get(model.name) ?? new Map<string, LoadedVersion>();
        versions.set(file.version, outcome.loaded);
        this.#models.set(model.name, versions);
      }
    }
    if (this.#state === 'loading') this.#state = 'ready';
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    await this.#loading?.catch(() => {});
    await Promise.allSettled(this.#running);
    const sessions = [...this.#models.values()].flatMap((versions) => [...versions.values()].map((v) => v.session));
    await Promise.allSettled(sessions.map((s) => s.release()));
  }

  #lookup(model: string, version: string): LoadedVersion {
    const unavailable = this.#unavailable.get(`${model}/${version}`);
    if (unavailable) throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model ${clientText(model)} version ${clientText(version)}: ${unavailable.reason}`);
    const versions = this.#models.get(model);
    if (!versions) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `this worker serves no model ${clientText(model)}`);
    const loaded = versions.get(version === '' ? (latestVersion(versions.keys()) ?? '') : version);
    if (!loaded) {
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model ${model} has versions ${[...versions.keys()].join(', ')}, not ${clientText(version)}`);
    }
    return loaded;
  }
}

/** Bytes an output takes on the wire: the raw data, or for strings a u32 length and the UTF-8 bytes of each. */
function ortTensorBytes(tensor: ort.Tensor): number {
  if (tensor.type !== 'string') return (tensor.data as ArrayBufferView).byteLength;
  let bytes = 0;
  for (const text of tensor.data as string[]) bytes += 4 + Buffer.byteLength(text, 'utf8');
  return bytes;
}

