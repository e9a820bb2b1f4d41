// The worker's one way to run inference, shared by POST /infer, the mux
// channel (both through runFrame) and the KServe JSON route (through
// `backend`): the store's run, counted for GET /stats, and told afterwards to
// the run observer (log line, metrics, span: run-record.ts) with what ran,
// for which client requests, and where the time went. The response frame
// carries the same timing back to the gateway.

import { asInfergateError, InfergateError } from '../common/errors.ts';
import { latestVersion } from '../common/model-repository.ts';
import { decodeFrame, encodeFrame, type InferRequestHeader, type InferResponseHeader, type RequestTag, type Tensor } from '../common/wire.ts';
import type { WorkerStatsBody } from '../common/worker-control.ts';
import type { InjectedFault } from '../common/worker-options.ts';
import type { InferenceBackend } from './inference-backend.ts';
import type { RunResult } from './model-store.ts';
import type { RunObserver } from './run-record.ts';
import { checkRequestHeader } from './request-header.ts';
import { RunStats } from './run-stats.ts';

export type InferPathDeps = {
  store: InferenceBackend;
  /** Most output bytes of one answer (a request frame may ask for less). */
  maxResponseBytes: number;
  /** Chaos testing (--inject-fault): 'infer-errors' fails every frame with GW_ERR_INJECTED_FAULT (500). */
  injectFault: InjectedFault;
  /** Told of every frame once it answered or failed; default: nobody. */
  onRun?: RunObserver;
};

const NO_REQUESTS: readonly RequestTag[] = [];

export class InferPath {
  readonly #store: InferenceBackend;
  readonly #maxResponseBytes: number;
  readonly #injectFault: InjectedFault;
  readonly #onRun: RunObserver | undefined;
  readonly #stats = new RunStats();
  /** The store, its runs counted and observed like frames' (the KServe JSON route's backend). */
  readonly backend: InferenceBackend;

  constructor(deps: InferPathDeps) {
    this.#store = deps.store;
    this.#maxResponseBytes = deps.maxResponseBytes;
    this.#injectFault = deps.injectFault;
    this.#onRun = deps.onRun;
    const store = deps.store;
    this.backend = {
      get state() {
        return store.state;
      },
      signatures: () => store.signatures(),
      report: () => store.report(),
      run: (model, version, tensors, outputs) =>
        this.#run(model, version, tensors, NO_REQUESTS, () => this.#stats.count(model, version, tensors[0]?.shape[0] ?? 1, () => store.run(model, version, tensors, outputs, this.#maxResponseBytes))),
    };
  }

  /** GET /stats: what ran, per model version. */
  stats(): WorkerStatsBody {
    return this.#stats.snapshot();
  }

  /** Request frame in, response frame (with the worker's timing) out. Throws InfergateError. */
  async runFrame(body: Uint8Array, receivedAtMs: number = performance.now()): Promise<Uint8Array> {
    let header: InferRequestHeader;
    let tensors: Tensor[];
    try {
      ({ header, tensors } = decodeFrame<InferRequestHeader>(body));
      checkRequestHeader(header);
    } catch (err) {
      // Nothing in an unreadable frame can be trusted as a label or an id.
      const now = performance.now();
      this.#observeFailure('', '', 0, NO_REQUESTS, now, now, err);
      throw err;
    }
    const { model, version } = header;
    const requests = header.requests ?? NO_REQUESTS;
    const result = await this.#run(model, version, tensors, requests, () => {
      if (this.#injectFault === 'infer-errors') throw new InfergateError('GW_ERR_INJECTED_FAULT', 'started with --inject-fault infer-errors');
      // Runs are synchronous on this thread, so "now" is when this request's turn came.
      const waitedMs = performance.now() - receivedAtMs;
      if (header.timeoutMs !== undefined && waitedMs > header.timeoutMs) {
        this.#stats.expired(model, version);
        throw new InfergateError('GW_ERR_DEADLINE_EXCEEDED', `dropped unrun by the worker: waited ${Math.round(waitedMs)} ms of a ${header.timeoutMs} ms budget`);
      }
      const maxOutputBytes = Math.min(header.maxOutputBytes ?? Infinity, this.#maxResponseBytes);
      return this.#stats.count(model, version, tensors[0]?.shape[0] ?? 1, () => this.#store.run(model, version, tensors, header.outputs, maxOutputBytes));
    });
    return encodeFrame<InferResponseHeader>({ model, version: result.version, timing: result.timing }, result.outputs);
  }

  /** Runs `run` and tells the observer how it went. */
  async #run(model: string, version: string, tensors: readonly Tensor[], requests: readonly RequestTag[], run: () => Promise<RunResult>): Promise<RunResult> {
    const startMs = performance.now();
    const rows = rowsOf(tensors);
    let result: RunResult;
    try {
      result = await run();
    } catch (err) {
      this.#observeFailure(model, version, rows, requests, startMs, performance.now(), err);
      throw err;
    }
    this.#onRun?.({ model, version: result.version, served: true, rows, requests, startMs, endMs: performance.now(), timing: result.timing });
    return result;
  }

  #observeFailure(model: string, version: string, rows: number, requests: readonly RequestTag[], startMs: number, endMs: number, err: unknown): void {
    if (!this.#onRun) return;
    const served = this.#servedVersion(model, version);
    this.#onRun({ model, version: served ?? version, served: served !== undefined, rows, requests, startMs, endMs, error: asInfergateError(err) });
  }

  /** The version a run of model/version would use ('' → the highest), when the worker serves it. */
  #servedVersion(model: string, version: string): string | undefined {
    if (model === '' || this.#store.state !== 'ready') return undefined;
    const versions = this.#store.signatures().filter((s) => s.name === model);
    return version === '' ? latestVersion(versions)?.version : versions.find((s) => s.version === version)?.version;
  }
}

/** The batch's rows: the first input's first dim, when it is one (a failed frame's shape may be anything). */
function rowsOf(tensors: readonly Tensor[]): number {
  const rows = tensors[0]?.shape[0];
  return typeof rows === 'number' && Number.isSafeInteger(rows) && rows >= 0 ? rows : 1;
}
