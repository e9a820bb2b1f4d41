// Triton's statistics extension (GET /v2/models[/{m}[/versions/{v}]]/stats):
// cumulative counts and durations per model version since the gateway
// started, added up from each finished request's record and each worker run.
// A request costs two Map lookups and a few additions; the JSON is built only
// when someone asks.
//
// What Triton does, and what we follow (read from its protocol doc
// extension_statistics.md and its core, infer_stats.cc and the
// TRITONSERVER_ServerModelStatistics serializer):
// - Every "$duration_stat" is {count, ns}: how many times, and the summed
//   nanoseconds. Each request goes into success or fail, counted once and
//   timed from its arrival to its answer. A cache hit is a success.
// - Queue and compute are added up for successful requests only. The queue
//   count is the success count (a hit adds about 0 ns). The compute_input,
//   compute_infer and compute_output counts leave out cache hits; each
//   request in a batch adds the whole batch's compute time.
// - cache_hit is timed as looking the answer up and taking it out.
//   cache_miss is timed as the lookup plus putting the computed answer in,
//   not the compute in between.
// - inference_count adds up the rows (batch size) computed, hits left out.
//   execution_count counts model runs: a dynamic batch of 64 requests is one.
//   batch_stats has one entry per batch size that ran, in ascending order,
//   with the compute phases counted once per run. Both are counted only for
//   runs that succeeded.
// - Requests refused during validation (shape, datatype, malformed body)
//   fail before they reach the model's scheduler, so they are not counted
//   anywhere. Only failures after that point count as `fail`.
// - A version that has not served yet shows zero counts, last_inference 0
//   and an empty batch_stats. Each entry also has "response_stats" (per
//   response, for decoupled models: {} here) and "memory_usage" ([] here).
//
// Where the gateway differs, and why:
// - Triton lists only READY versions and answers 400 for the rest. We list
//   every version the registry serves, whatever its state, so a version
//   being reloaded keeps its history on view. An unknown model or version
//   gets the catalogued 404 from the registry.
// - inference_count, execution_count and batch_stats come from the runs
//   (RunObserver), because a record does not hold its request's own rows.
//   So Σ batch_size × count = inference_count always holds. One case
//   differs from Triton: identical requests merged into one batch count
//   their rows once.
// - queue is the wait before the model ran: the time in the batcher's queue,
//   plus the upstream round trip the worker did not spend computing
//   (waiting for a free replica, retries, transport). For an unbatched
//   request it is only the second part.
// - A request that joined an identical one already computing (the result
//   cache's single flight) counts as a cache hit: it ran nothing itself. It
//   is timed from its decoded request to the answer in hand.
// - A cache hit found on the raw body is timed from the request's arrival,
//   since the body read and the lookup are not timed apart.
// - A cache miss is timed as its lookup (decoded → queued or dispatched) plus
//   its insert (answer back → encoding starts).
// - "Reached the scheduler", which decides whether a failure counts, means
//   one of: the request was decoded and handed to the cache and the
//   batcher/dispatcher, or the batcher's admission turned it away before
//   its body was read (GW_ERR_QUEUE_FULL / GW_ERR_OVERLOADED, which Triton
//   counts as REJECTED).
// - last_inference is the wall-clock time, in ms, at which the last counted
//   request (success or fail) ended.

import type { WorkerTiming } from '../../common/wire.ts';
import type { RepositoryModel } from '../../common/model-repository.ts';
import type { VersionStatus } from '../models/registry.ts';
import type { RequestRecord, RunObserver } from '../telemetry/request-record.ts';

/** What the statistics read of the registry: the models served and how a request names one (throwing the catalogued 404s). */
export type StatsRegistry = {
  readonly models: RepositoryModel[];
  model(name: string): RepositoryModel;
  resolveVersion(name: string, version: string | undefined): VersionStatus;
};

export type InferenceStatsDeps = {
  models: StatsRegistry;
  /** Wall clock in ms since the epoch, for last_inference; default Date.now. */
  wallClockMs?: () => number;
};

export type DurationStat = { count: number; ns: number };

export type ModelStat = {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: DurationStat;
    fail: DurationStat;
    queue: DurationStat;
    compute_input: DurationStat;
    compute_infer: DurationStat;
    compute_output: DurationStat;
    cache_hit: DurationStat;
    cache_miss: DurationStat;
  };
  response_stats: Record<string, never>;
  batch_stats: Array<{ batch_size: number; compute_input: DurationStat; compute_infer: DurationStat; compute_output: DurationStat }>;
  memory_usage: never[];
};

export type ModelStatsBody = { model_stats: ModelStat[] };

/** One batch size's runs: compute phases summed in ms. */
type BatchCell = { count: number; inputMs: number; inferMs: number; outputMs: number };

/** One model version's counters, durations in ms (converted to ns only when read). */
type VersionCounters = {
  lastInferenceMs: number;
  inferenceCount: number;
  executionCount: number;
  successCount: number;
  successMs: number;
  failCount: number;
  failMs: number;
  queueMs: number;
  computeCount: number;
  inputMs: number;
  inferMs: number;
  outputMs: number;
  hitCount: number;
  hitMs: number;
  missCount: number;
  missMs: number;
  batches: Map<number, BatchCell>;
};

export class InferenceStats {
  readonly #models: StatsRegistry;
  readonly #wallClockMs: () => number;
  /** model → version → counters: two lookups and no key string per request. */
  readonly #byModel = new Map<string, Map<string, VersionCounters>>();

  constructor(deps: InferenceStatsDeps) {
    this.#models = deps.models;
    this.#wallClockMs = deps.wallClockMs ?? Date.now;
  }

  /** A request ended (RequestObserver). */
  readonly onRequest = (record: RequestRecord): void => {
    const { model, version } = record;
    if (model === undefined || version === undefined) return;
    const status = record.status ?? 500;
    const ok = status >= 200 && status < 300;
    if (!ok && !reachedScheduler(record)) return;
    const c = this.#counters(model, version);
    const durationMs = (record.endedMs ?? record.receivedMs) - record.receivedMs;
    c.lastInferenceMs = this.#wallClockMs();
    if (!ok) {
      c.failCount++;
      c.failMs += durationMs;
      return;
    }
    c.successCount++;
    c.successMs += durationMs;
    if (record.cache === 'hit' || record.cache === 'joined') {
      c.hitCount++;
      c.hitMs += spanMs(record.decodedMs ?? record.receivedMs, record.encodeStartMs);
      return;
    }
    const worker = record.worker;
    c.queueMs += queueMs(record, worker);
    if (worker) {
      c.computeCount++;
      c.inputMs += worker.inputMs;
      c.inferMs += worker.inferMs;
      c.outputMs += worker.outputMs;
    }
    if (record.cache === 'miss') {
      c.missCount++;
      c.missMs += spanMs(record.decodedMs, record.queuedMs ?? record.dispatchedMs) + spanMs(record.answeredMs, record.encodeStartMs);
    }
  };

  /** A worker ran a frame (RunObserver); a run without the worker's timing did not succeed and is not an execution. */
  readonly onRun: RunObserver = (model, version, rows, timing) => {
    if (!timing) return;
    const c = this.#counters(model, version);
    c.executionCount++;
    c.inferenceCount += rows;
    let cell = c.batches.get(rows);
    if (!cell) c.batches.set(rows, (cell = { count: 0, inputMs: 0, inferMs: 0, outputMs: 0 }));
    cell.count++;
    cell.inputMs += timing.inputMs;
    cell.inferMs += timing.inferMs;
    cell.outputMs += timing.outputMs;
  };

  /**
   * The statistics of every served version of every model (by name), of one model's versions, or of one version
   * (a label names its version); throws GW_ERR_MODEL_NOT_FOUND or GW_ERR_VERSION_NOT_FOUND.
   */
  body(model?: string, version?: string): ModelStatsBody {
    const stats: ModelStat[] = [];
    if (model === undefined) {
      const models = [...this.#models.models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const m of models) for (const v of m.versions) stats.push(this.#stat(m.name, v.version));
    } else if (version === undefined || version === '') {
      for (const v of this.#models.model(model).versions) stats.push(this.#stat(model, v.version));
    } else {
      stats.push(this.#stat(model, this.#models.resolveVersion(model, version).version));
    }
    return { model_stats: stats };
  }

  #stat(name: string, version: string): ModelStat {
    const c = this.#byModel.get(name)?.get(version) ?? newCounters();
    const batches = [...c.batches.entries()].sort(([a], [b]) => a - b);
    return {
      name,
      version,
      last_inference: Math.round(c.lastInferenceMs),
      inference_count: c.inferenceCount,
      execution_count: c.executionCount,
      inference_stats: {
        success: stat(c.successCount, c.successMs),
        fail: stat(c.failCount, c.failMs),
        queue: stat(c.successCount, c.queueMs),
        compute_input: stat(c.computeCount, c.inputMs),
        compute_infer: stat(c.computeCount, c.inferMs),
        compute_output: stat(c.computeCount, c.outputMs),
        cache_hit: stat(c.hitCount, c.hitMs),
        cache_miss: stat(c.missCount, c.missMs),
      },
      response_stats: {},
      batch_stats: batches.map(([size, b]) => ({
        batch_size: size,
        compute_input: stat(b.count, b.inputMs),
        compute_infer: stat(b.count, b.inferMs),
        compute_output: stat(b.count, b.outputMs),
      })),
      memory_usage: [],
    };
  }

  #counters(model: string, version: string): VersionCounters {
    let versions = this.#byModel.get(model);
    if (!versions) this.#byModel.set(model, (versions = new Map()));
    let counters = versions.get(version);
    if (!counters) versions.set(version, (counters = newCounters()));
    return counters;
  }
}

/** Whether a failed request got as far as the model's scheduler (see the head of this file). */
function reachedScheduler(record: RequestRecord): boolean {
  return record.decodedMs !== undefined || record.cache !== undefined || record.code === 'GW_ERR_QUEUE_FULL' || record.code === 'GW_ERR_OVERLOADED';
}

/** Waiting before the model ran: in the batcher's queue, and the part of the upstream round trip the worker did not compute. */
function queueMs(record: RequestRecord, worker: WorkerTiming | undefined): number {
  let waitedMs = spanMs(record.queuedMs, record.batchFormedMs);
  if (record.dispatchedMs !== undefined && record.answeredMs !== undefined) {
    const computeMs = worker ? worker.inputMs + worker.inferMs + worker.outputMs : 0;
    waitedMs += Math.max(0, record.answeredMs - record.dispatchedMs - computeMs);
  }
  return waitedMs;
}

/** `to − from` when both were written down, else 0 (never negative). */
function spanMs(fromMs: number | undefined, toMs: number | undefined): number {
  return fromMs === undefined || toMs === undefined ? 0 : Math.max(0, toMs - fromMs);
}

function stat(count: number, ms: number): DurationStat {
  return { count, ns: Math.round(ms * 1e6) };
}

function newCounters(): VersionCounters {
  return {
    lastInferenceMs: 0,
    inferenceCount: 0,
    executionCount: 0,
    successCount: 0,
    successMs: 0,
    failCount: 0,
    failMs: 0,
    queueMs: 0,
    computeCount: 0,
    inputMs: 0,
    inferMs: 0,
    outputMs: 0,
    hitCount: 0,
    hitMs: 0,
    missCount: 0,
    missMs: 0,
    batches: new Map(),
  };
}
