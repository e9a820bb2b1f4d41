// The onnxruntime sessions of one worker, one per model version, and the one
// way to run them.
//
//   empty ──load()──▶ loading ──every session created + warmed up──▶ ready
//     └──────────────────────────close()─────────────────────────────▶ closed
//
// A version is served only after a warm-up inference passed (dynamic dims set
// to 1, inputs zeros or empty strings): onnxruntime allocates and plans on the
// first run, so the first real request would otherwise pay for it, and a model
// that cannot run at all fails the load instead of its first request.
//
// run() validates a request against the session's own signature before
// anything reaches onnxruntime, so onnxruntime only sees well-formed tensors
// and its failures are the model's (GW_ERR_MODEL_EXECUTION, a client error:
// e.g. an index out of range), never a malformed frame.

import * as ort from 'onnxruntime-node';
import { datatypeByKServe, elementCount } from '../common/datatypes.ts';
import { InfergateError } from '../common/errors.ts';
import type { ModelSignature, Tensor, TensorSpec } from '../common/wire.ts';
import type { WorkerSessionOptions } from './options.ts';
import { findModelVersions } from './repository.ts';
import { signatureFromMetadata } from './signature.ts';
import { fromOrtTensor, toOrtTensor } from './tensor-convert.ts';

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
};

export type RunResult = { version: string; outputs: Tensor[] };

type Loaded = { signature: ModelSignature; session: Session; inputs: Map<string, TensorSpec>; outputs: Map<string, TensorSpec> };

export class ModelStore {
  readonly #options: ModelStoreOptions;
  readonly #createSession: CreateSession;
  /** name → version → loaded session; filled while loading, read-only once ready. */
  readonly #models = new Map<string, Map<string, Loaded>>();
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

  /** Creates and warms up every session; resolves once ready. Rejects (a load error) on the first failure. Idempotent. */
  load(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  /** Signatures of every loaded version, by model name then version. */
  signatures(): ModelSignature[] {
    return [...this.#models.values()].flatMap((versions) => [...versions.values()].map((v) => v.signature));
  }

  /**
   * Runs one request. `version` '' means the model's highest version;
   * `outputNames` absent or empty means every output, in signature order.
   * Returns the version that ran and its outputs in the order asked for.
   * Throws InfergateError.
   */
  async run(model: string, version: string, tensors: readonly Tensor[], outputNames?: readonly string[]): Promise<RunResult> {
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
    const files = await findModelVersions(this.#options.modelsDir, this.#options.models);
    const sessionOptions = toOrtSessionOptions(this.#options.session);
    // One at a time: onnxruntime-node builds a session synchronously on the
    // main thread, so loading in parallel would only interleave the work.
    for (const file of files) {
      // close() may have been called while the previous session loaded.
      if (this.state === 'closed') return;
      const where = `model ${file.name} version ${file.version} (${file.path})`;
      let session: Session;
      try {
        session = await this.#createSession(file.path, sessionOptions);
      } catch (err) {
        throw new Error(`${where}: onnxruntime cannot load it: ${(err as Error).message}`, { cause: err });
      }
      let loaded: Loaded;
      try {
        const signature = signatureFromMetadata(file.name, file.version, session.inputMetadata, session.outputMetadata);
        loaded = {
          signature,
          session,
          inputs: new Map(signature.inputs.map((s) => [s.name, s])),
          outputs: new Map(signature.outputs.map((s) => [s.name, s])),
        };
        await warmUp(loaded);
      } catch (err) {
        await session.release().catch(() => {});
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
      }
      const versions = this.#models.get(file.name) ?? new Map<string, Loaded>();
      versions.set(file.version, loaded);
      this.#models.set(file.name, versions);
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

  #lookup(model: string, version: string): Loaded {
    const versions = this.#models.get(model);
    if (!versions) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `this worker serves no model ${JSON.stringify(model)}`);
    // Versions were inserted in ascending numeric order, so the last is the highest.
    const loaded = version === '' ? [...versions.values()].at(-1) : versions.get(version);
    if (!loaded) {
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model ${model} has versions ${[...versions.keys()].join(', ')}, not ${JSON.stringify(version)}`);
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

/** One inference with every dynamic dim 1 and all-zero (or empty-string) inputs. */
async function warmUp(loaded: Loaded): Promise<void> {
  const tensors = loaded.signature.inputs.map((spec): Tensor => {
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const count = elementCount(shape);
    const info = datatypeByKServe(spec.datatype)!;
    // BYTES: each element is a zero u32 length, i.e. an empty string.
    const byteLength = info.bytesPerElement === 0 ? 4 * count : info.bytesPerElement * count;
    return { name: spec.name, datatype: spec.datatype, shape, data: new Uint8Array(byteLength) };
  });
  const fetches = fetchesFor(loaded, undefined);
  try {
    await loaded.session.run(feedsFor(loaded, tensors), fetches);
  } catch (err) {
    throw new Error(`warm-up inference failed: ${(err as Error).message}`, { cause: err });
  }
}

function toOrtSessionOptions(options: WorkerSessionOptions): ort.InferenceSession.SessionOptions {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionMode: options.executionMode,
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpThreads;
  return sessionOptions;
}
