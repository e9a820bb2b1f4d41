// The onnxruntime sessions of one worker, one per model version, and the one
// way to run them.
//
//   empty ──load()──▶ loading ──every version tried──▶ ready
//     └──────────────────────────close()───────────────▶ closed
//
// Each version ends its load either loaded (session created, warm-up passed)
// or unavailable with a reason naming its file and the cause: a missing or
// corrupt file, an operator onnxruntime cannot run, a tensor type KServe has
// no name for, an invalid config.yaml, or a configured warm-up sample that
// failed. One version's fault never stops the others from loading, and the
// worker never exits for it (it would only restart into the same fault).
// Without configured samples a synthetic warm-up runs (warmup.ts) and its
// failure is only a warning: the session loaded, and a real request will say
// what it needs (a model may need a minimum sequence length, say).
//
// run() validates a request against the session's own signature before
// anything reaches onnxruntime, so onnxruntime only sees well-formed tensors
// and its failures are the model's (GW_ERR_MODEL_EXECUTION, a client error:
// e.g. an index out of range), never a malformed frame.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { datatypeByKServe } from '../common/datatypes.ts';
import { clientText, InfergateError } from '../common/errors.ts';
import { MODEL_FILE, RepositoryError, scanModelRepository, type RepositoryModel, type RepositoryVersion } from '../common/model-repository.ts';
import type { ModelSignature, Tensor, TensorSpec, UnavailableVersion, VersionWarning, WorkerModelsBody } from '../common/wire.ts';
import type { WorkerSessionOptions } from './options.ts';
import { signatureFromMetadata } from './signature.ts';
import { fromOrtTensor, toOrtTensor } from './tensor-convert.ts';
import { configuredWarmup, syntheticWarmup, type WarmupRun } from './warmup.ts';

export type ModelStoreState = 'empty' | 'loading' | 'ready' | 'closed';

/** The subset of an onnxruntime session the store uses (a test can fake it). */
export type Session = Pick<ort.InferenceSession, 'inputMetadata' | 'outputMetadata' | 'release'> & {
  run(feeds: ort.InferenceSession.FeedsType, fetches: readonly string[]): Promise<ort.InferenceSession.ReturnType>;
};
export type CreateSession = (path: string, options: ort.InferenceSession.SessionOptions) => Promise<Session>;

export type ModelStoreOptions = {
  modelsDir: string;
  /** Models to load; empty means every model in modelsDir. */
  models: readonly string[];
  session: WorkerSessionOptions;
  /** Defaults to onnxruntime-node's InferenceSession.create. */
  createSession?: CreateSession;
  /** Told once per version that turned out unavailable, or that loaded with a warning. */
  onProblem?: (problem: { kind: 'unavailable'; version: UnavailableVersion } | { kind: 'warning'; warning: VersionWarning }) => void;
};

export type RunResult = { version: string; outputs: Tensor[] };

type Loaded = { signature: ModelSignature; session: Session; inputs: Map<string, TensorSpec>; outputs: Map<string, TensorSpec> };

export class ModelStore {
  readonly #options: ModelStoreOptions;
  readonly #createSession: CreateSession;
  /** name → version → loaded session; filled while loading, read-only once ready. */
  readonly #models = new Map<string, Map<string, Loaded>>();
  /** "name/version" → why it is not served. */
  readonly #unavailable = new Map<string, UnavailableVersion>();
  readonly #warnings: VersionWarning[] = [];
  readonly #running = new Set<Promise<unknown>>();
  #state: ModelStoreState = 'empty';
  #loading: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ModelStoreOptions) {
    this.#options = options;
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
    const models = scanModelRepository(this.#options.modelsDir, this.#options.models);
    if (models.length === 0) throw new RepositoryError(`model repository ${this.#options.modelsDir} has no <name>/<version>/${MODEL_FILE}`);
    const sessionOptions = toOrtSessionOptions(this.#options.session);
    // One at a time: onnxruntime-node builds a session synchronously on the
    // main thread, so loading in parallel would only interleave the work.
    for (const model of models) {
      for (const file of model.versions) {
        // close() may have been called while the previous session loaded.
        if (this.state === 'closed') return;
        const outcome = await this.#loadVersion(model, file, sessionOptions);
        if (typeof outcome === 'string') {
          const unavailable = { name: model.name, version: file.version, reason: outcome };
          this.#unavailable.set(`${model.name}/${file.version}`, unavailable);
          this.#options.onProblem?.({ kind: 'unavailable', version: unavailable });
          continue;
        }
        const versions = this.#models.get(model.name) ?? new Map<string, Loaded>();
        versions.set(file.version, outcome);
        this.#models.set(model.name, versions);
      }
    }
    if (this.#state === 'loading') this.#state = 'ready';
  }

  /** The loaded version, or the reason (one line, naming the file) why it cannot be served. */
  async #loadVersion(model: RepositoryModel, file: RepositoryVersion, sessionOptions: ort.InferenceSession.SessionOptions): Promise<Loaded | string> {
    if (model.configError !== undefined) return model.configError;
    if (file.missing) return `${file.path} is missing`;
    let fingerprint: string;
    try {
      fingerprint = await sha256OfFile(file.path);
    } catch (err) {
      return `${file.path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
    let session: Session;
    try {
      session = await this.#createSession(file.path, sessionOptions);
    } catch (err) {
      return `${file.path}: onnxruntime cannot load it: ${oneLine(err)}`;
    }
    try {
      const signature = signatureFromMetadata(model.name, file.version, session.inputMetadata, session.outputMetadata, fingerprint);
      const loaded: Loaded = {
        signature,
        session,
        inputs: new Map(signature.inputs.map((s) => [s.name, s])),
        outputs: new Map(signature.outputs.map((s) => [s.name, s])),
      };
      const samples = model.config.warmup;
      if (samples) {
        for (const run of await configuredWarmup(samples, signature, dirname(dirname(file.path)))) await warmUp(loaded, run);
      } else {
        const synthetic = syntheticWarmup(signature);
        try {
          await warmUp(loaded, synthetic);
        } catch (err) {
          const warning = { name: model.name, version: file.version, message: `${file.path}: ${oneLine(err)}; served anyway (configure warmup in ${model.name}/config.yaml to warm it up with inputs it accepts)` };
          this.#warnings.push(warning);
          this.#options.onProblem?.({ kind: 'warning', warning });
        }
      }
      return loaded;
    } catch (err) {
      await session.release().catch(() => {});
      return `${file.path}: ${oneLine(err)}`;
    }
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    await this.#loading?.catch(() => {});
    await Promise.allSettled(this.#running);
    const sessions = [...this.#models.values()].flatMap((versions) => [...versions.values()].map((v) => v.session));
    await Promise.allSettled(sessions.map((s) => s.release()));
  }

  #lookup(model: string, version: string): Loaded {
    const unavailable = this.#unavailable.get(`${model}/${version}`);
    if (unavailable) throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model ${clientText(model)} version ${clientText(version)}: ${unavailable.reason}`);
    const versions = this.#models.get(model);
    if (!versions) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `this worker serves no model ${clientText(model)}`);
    // Versions were inserted in ascending numeric order, so the last is the highest.
    const loaded = version === '' ? [...versions.values()].at(-1) : versions.get(version);
    if (!loaded) {
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model ${model} has versions ${[...versions.keys()].join(', ')}, not ${clientText(version)}`);
    }
    return loaded;
  }
}

/** Request tensors → onnxruntime feeds, after checking them against the signature. */
function feedsFor(loaded: Loaded, tensors: readonly Tensor[]): ort.InferenceSession.FeedsType {
  const { signature } = loaded;
  const feeds: Record<string, ort.Tensor> = {};
  const where = `model ${signature.name} version ${signature.version}`;
  for (const tensor of tensors) {
    const spec = loaded.inputs.get(tensor.name);
    if (!spec) throw new InfergateError('GW_ERR_UNKNOWN_INPUT', `${where} has no input ${JSON.stringify(tensor.name)}`);
    if (Object.hasOwn(feeds, tensor.name)) throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `input ${JSON.stringify(tensor.name)} is given twice`);
    if (tensor.datatype !== spec.datatype) {
      const code = datatypeByKServe(tensor.datatype) ? 'GW_ERR_DATATYPE_MISMATCH' : 'GW_ERR_UNKNOWN_DATATYPE';
      throw new InfergateError(code, `input ${JSON.stringify(tensor.name)} is ${JSON.stringify(tensor.datatype)}; ${where} takes ${spec.datatype}`);
    }
    if (!shapeFits(tensor.shape, spec.shape)) {
      throw new InfergateError('GW_ERR_SHAPE_MISMATCH', `input ${JSON.stringify(tensor.name)} has shape ${JSON.stringify(tensor.shape)}; ${where} takes ${JSON.stringify(spec.shape)}`);
    }
    feeds[tensor.name] = toOrtTensor(tensor);
  }
  for (const spec of signature.inputs) {
    if (!Object.hasOwn(feeds, spec.name)) throw new InfergateError('GW_ERR_MISSING_INPUT', `${where} needs input ${JSON.stringify(spec.name)}`);
  }
  return feeds;
}

function fetchesFor(loaded: Loaded, outputNames: readonly string[] | undefined): string[] {
  if (!outputNames || outputNames.length === 0) return loaded.signature.outputs.map((s) => s.name);
  const seen = new Set<string>();
  for (const name of outputNames) {
    if (!loaded.outputs.has(name)) {
      const { name: model, version } = loaded.signature;
      throw new InfergateError('GW_ERR_UNKNOWN_OUTPUT', `model ${model} version ${version} has no output ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `output ${JSON.stringify(name)} is asked for twice`);
    seen.add(name);
  }
  return [...outputNames];
}

/** Same rank; every static dim equal (-1 accepts any size). Non-integer dims are left to the frame check. */
function shapeFits(shape: unknown, spec: readonly number[]): boolean {
  if (!Array.isArray(shape) || shape.length !== spec.length) return false;
  for (let i = 0; i < spec.length; i++) {
    const want = spec[i]!;
    if (want !== -1 && shape[i] !== want) return false;
  }
  return true;
}

/** Runs a warm-up sample its count of times through the request path's checks; throws Error naming the sample. */
async function warmUp(loaded: Loaded, run: WarmupRun): Promise<void> {
  try {
    const feeds = feedsFor(loaded, run.tensors);
    const fetches = fetchesFor(loaded, run.outputs);
    for (let i = 0; i < run.count; i++) await loaded.session.run(feeds, fetches);
  } catch (err) {
    throw new Error(`warm-up ${run.label} failed: ${oneLine(err)}`, { cause: err });
  }
}

/** Bytes an output takes on the wire: the raw data, or for strings a u32 length and the UTF-8 bytes of each. */
function ortTensorBytes(tensor: ort.Tensor): number {
  if (tensor.type !== 'string') return (tensor.data as ArrayBufferView).byteLength;
  let bytes = 0;
  for (const text of tensor.data as string[]) bytes += 4 + Buffer.byteLength(text, 'utf8');
  return bytes;
}

/** SHA-256 of a file's bytes, read as a stream (a model may be gigabytes). */
function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .once('error', reject)
      .once('end', () => resolve(hash.digest('hex')));
  });
}

/** An error's message on one line: onnxruntime's carry newlines and source locations. */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

function toOrtSessionOptions(options: WorkerSessionOptions): ort.InferenceSession.SessionOptions {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionMode: options.executionMode,
    // Fatal only: every error of a run reaches us as an exception and is answered (or reported once as a
    // version's reason); onnxruntime's own copy on stderr would print a line per bad client request.
    logSeverityLevel: 4,
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpThreads;
  return sessionOptions;
}
