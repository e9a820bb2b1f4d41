// The one infer path, with no protocol in it. A front (KServe v2 REST, KServe
// v2 gRPC, TF Serving REST) resolves a target, decodes its protocol into
// tensors and calls `infer`; it gets back the answer and how it was served,
// and renders that in its protocol. Everything between is here, once:
//
//   target ─▶ (early shedding) ─▶ cache key ─▶ cache / single-flight
//                                                   │ miss
//                                                   ▼
//                                   batcher (batchable model) or dispatcher
//
// While a rollout runs for a model, a request that names no version is one
// leg of it: the rollout's traffic split picks stable or candidate, the leg's
// outcome and latency feed the rollout's gates, a stable answer may be
// shadowed to the candidate, and a candidate's failure is answered by the
// stable version instead (the rollout judges the candidate; the client does
// not pay for it).
//
// Errors are catalogued InfergateErrors; each front maps their kinds to its
// statuses.

import { answerFromFrame, encodeFrameBytes, requestHeader, type FrameBytes, type InferAnswer, type InferRequestHeader, type Tensor } from '../../common/wire.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { ModelBatching, ModelPlan } from '../batching/model-batching.ts';
import { groupKey, requestRows } from '../batching/tensor-batch.ts';
import { cacheKeySliced, type CacheKeyParts } from '../cache/cache-key.ts';
import type { CacheOutcome, ResultCache } from '../cache/result-cache.ts';
import type { ModelRegistry, ResolvedModel } from '../models/registry.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import { tagOf, type RequestRecord, type RunObserver } from '../telemetry/request-record.ts';

/** A model version resolved for one request, with how requests to it run. */
export type InferTarget = {
  model: ResolvedModel;
  plan: ModelPlan;
  /** Whether the result cache takes part for this model. */
  cached: boolean;
  /** Set when a rollout's traffic split chose this version for a request that named none. */
  leg?: RolloutLeg;
};

/** A model's traffic while a rollout of it runs (rollout-control.ts). */
export type RolloutTraffic = {
  readonly stable: string;
  readonly candidate: string;
  /** Whether a request that names no version goes to the candidate (the same answer for the same session key). */
  toCandidate(sessionKey: string | undefined): boolean;
  /** A leg ended: how long it took in the gateway (undefined: answered from the cache, no model ran) and whether it failed. */
  settled(candidate: boolean, latencyMs: number | undefined, failed: boolean): void;
  /** The stable version answered `call`: the rollout may send it to the candidate too, after this. */
  shadow(call: InferCall, answer: InferAnswer): void;
};

export type RolloutLeg = { traffic: RolloutTraffic; candidate: boolean; stableTarget: InferTarget };

/** One inference, as any front hands it over. */
export type InferCall = {
  target: InferTarget;
  /** Decoded and checked against the target's signature by the front. */
  tensors: Tensor[];
  /** Outputs asked for, in the order wanted; undefined: every output. */
  outputs: string[] | undefined;
  deadlineMs: number;
  /** 1 is highest (request-controls.ts). */
  priority: number;
  /** Skip the cache lookup (the fresh answer is still stored). */
  bypassCache: boolean;
  /** The client's request id, if it sent one; echoed by the front. */
  requestId: string | undefined;
  /** What happens to the request, written down stage by stage (request-record.ts); undefined when nobody reads it. */
  record: RequestRecord | undefined;
  /** Aborted when the client cancels: a request still queued for a batch leaves the queue. */
  signal?: AbortSignal | undefined;
};

export type InferResult = {
  answer: InferAnswer;
  cache: CacheOutcome;
  /** Whether the answer came from a batch run through the batcher. */
  batched: boolean;
  /** The cache key the answer is stored under (undefined when the cache is off for the model). */
  cacheKey: string | undefined;
};

export type InferServiceDeps = {
  registry: ModelRegistry;
  batching: ModelBatching;
  cache: ResultCache<InferAnswer>;
  dispatcher: Dispatcher;
  /** limits.maxResponseBytes: the worker refuses a larger answer before sending it. */
  maxResponseBytes: number;
  /** Told of each frame sent without the batcher (the batcher tells of its own). */
  onRun?: RunObserver;
  /** The rollout traffic of a model, while one runs. */
  rollouts?: { traffic(model: string): RolloutTraffic | undefined };
  now: () => number;
};

/** Inputs of at least this many bytes are hashed for the cache key in time slices (SHA-256 is linear in the bytes). */
const SLICED_KEY_MIN_BYTES = 1024 * 1024;

export class InferService {
  readonly #deps: InferServiceDeps;
  /** One target per resolved version (the registry hands out the same object until a version's state changes). */
  readonly #targets = new WeakMap<ResolvedModel, InferTarget>();
  /** Calls running per model, and who waits for a model's to end (an unload). */
  readonly #running = new Map<string, number>();
  readonly #drainWaiters = new Map<string, Array<() => void>>();

  constructor(deps: InferServiceDeps) {
    this.#deps = deps;
  }

  /**
   * The model version a request names (undefined: the stable one, or what a rollout's split picks with the client's
   * session key); throws the catalogued 404 or 400. A version still loading is waited for, up to the model's default
   * request timeout.
   */
  target(model: string, version: string | undefined, sessionKey?: string): InferTarget | Promise<InferTarget> {
    if (version === undefined && this.#deps.rollouts) {
      const traffic = this.#deps.rollouts.traffic(model);
      if (traffic) return this.#legOf(model, traffic, sessionKey);
    }
    const { registry, batching } = this.#deps;
    let resolved: ResolvedModel;
    try {
      resolved = registry.resolve(model, version);
    } catch (refusal) {
      return registry.whenLoaded(refusal, model, version, batching.defaultTimeoutMs(model)).then((loaded) => this.#targetOf(loaded));
    }
    return this.#targetOf(resolved);
  }

  /** The leg a split request takes; the stable version when the candidate cannot serve now. */
  #legOf(model: string, traffic: RolloutTraffic, sessionKey: string | undefined): InferTarget | Promise<InferTarget> {
    const stable = this.target(model, traffic.stable);
    if (stable instanceof Promise) return stable;
    const leg = (candidate: boolean, target: InferTarget): InferTarget => ({ ...target, leg: { traffic, candidate, stableTarget: stable } });
    if (!traffic.toCandidate(sessionKey)) return leg(false, stable);
    try {
      return leg(true, this.#targetOf(this.#deps.registry.resolve(model, traffic.candidate)));
    } catch {
      return leg(false, stable);
    }
  }

  #targetOf(resolved: ResolvedModel): InferTarget {
    const known = this.#targets.get(resolved);
    if (known) return known;
    const target = { model: resolved, plan: this.#deps.batching.plan(resolved), cached: this.#deps.cache.enabledFor(resolved.name) };
    this.#targets.set(resolved, target);
    return target;
  }

  /**
   * Sheds a request before its body is read when the queue already says no: under overload, refusing must cost
   * far less than serving. (With the cache on, the request may be a hit that needs no queue: `infer` decides.)
   */
  admitEarly(target: InferTarget, priority: number, deadlineMs: number): void {
    if (target.plan.batcher && !target.cached) target.plan.batcher.admit(priority, deadlineMs);
  }

  /** A stored answer under `key`, without computing anything: undefined when there is none. */
  stored(key: string): InferAnswer | undefined | Promise<InferAnswer | undefined> {
    return this.#deps.cache.peek(key);
  }

  /** Calls of `model` running now. */
  running(model: string): number {
    return this.#running.get(model) ?? 0;
  }

  /** Resolves once no call of `model` is running (those started before a model is unloaded finish first). */
  drained(model: string): Promise<void> {
    if (!this.#running.get(model)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#drainWaiters.get(model) ?? [];
      waiters.push(resolve);
      this.#drainWaiters.set(model, waiters);
    });
  }

  /** The answer to one call and how it was served; the call counts as running (see `drained`) until it settles. */
  infer(call: InferCall): Promise<InferResult> {
    const quota = call.record?.rowQuota;
    if (quota !== undefined) return this.#chargedRows(call, quota);
    const { leg } = call.target;
    return leg === undefined ? this.#infer(call) : this.#inferLeg(call, leg);
  }

  /** A caller limited in rows per second (rateLimits' rowsPerSecond) pays for its rows before anything runs: a model without a batch axis counts one row. */
  async #chargedRows(call: InferCall, quota: (rows: number) => void | Promise<void>): Promise<InferResult> {
    // Charged once: a rollout leg answered by the stable version after all is the same request.
    call.record!.rowQuota = undefined;
    const { axes } = call.target.plan;
    await quota((axes && requestRows(call.tensors, axes)) ?? 1);
    return this.infer(call);
  }

  async #inferLeg(call: InferCall, leg: RolloutLeg): Promise<InferResult> {
    const { now } = this.#deps;
    const startedMs = now();
    try {
      const result = await this.#infer(call);
      // A cache hit says nothing of the version's speed: counted, not timed (the candidate's shadow copies never hit).
      leg.traffic.settled(leg.candidate, result.cache === 'hit' ? undefined : now() - startedMs, false);
      if (!leg.candidate) leg.traffic.shadow(call, result.answer);
      return result;
    } catch (err) {
      leg.traffic.settled(leg.candidate, now() - startedMs, true);
      if (!leg.candidate || now() >= call.deadlineMs) throw err;
      if (call.record) call.record.version = leg.stableTarget.model.version;
      return this.#infer({ ...call, target: leg.stableTarget });
    }
  }

  async #infer(call: InferCall): Promise<InferResult> {
    const { target, tensors, outputs } = call;
    const { model, plan } = target;
    this.#running.set(model.name, (this.#running.get(model.name) ?? 0) + 1);
    try {
      // The key is a SHA-256 over the model file's digest and the inputs: computed only when the cache runs (the batcher reuses it).
      const keyed = target.cached ? this.#keyFor({ model: model.name, version: model.version, fingerprint: model.signature.fingerprint, outputs, tensors }) : undefined;
      const cacheKey = keyed instanceof Promise ? await keyed : keyed;
      const rows = plan.axes && requestRows(tensors, plan.axes);
      const batched = plan.batcher !== undefined && rows !== undefined;

      const { record } = call;
      const compute = (): Promise<InferAnswer> => {
        if (batched) {
          return plan.batcher!.submit({ tensors, outputs, rows: rows!, groupKey: groupKey(tensors, plan.axes!, outputs), dedupeKey: cacheKey, priority: call.priority, deadlineMs: call.deadlineMs, record, signal: call.signal });
        }
        return this.#dispatch(model, tensors, outputs, call.deadlineMs, record);
      };
      const { value: answer, outcome } = await this.#deps.cache.getOrCompute(model.name, cacheKey ?? '', call.bypassCache, compute);
      if (record) record.cache = outcome;
      return { answer, cache: outcome, batched: batched && (outcome === 'miss' || outcome === 'bypass' || outcome === 'off'), cacheKey };
    } finally {
      this.#ended(model.name);
    }
  }

  /** A rollout's shadow: a copy of `call` on another version of its model, never answered from the cache, at the model's default priority (the candidate's queue is its own). */
  async shadowCopy(call: InferCall, version: string): Promise<InferAnswer> {
    const targeted = this.target(call.target.model.name, version);
    const target = targeted instanceof Promise ? await targeted : targeted;
    const deadlineMs = this.#deps.now() + target.plan.timeoutMs;
    const copy: InferCall = { ...call, target, deadlineMs, priority: target.plan.defaultPriority, bypassCache: true, requestId: undefined, record: undefined };
    return (await this.#infer(copy)).answer;
  }

  /** A call of `model` ended: the last one wakes whoever waits for the model to drain. */
  #ended(model: string): void {
    const left = this.#running.get(model)! - 1;
    if (left > 0) {
      this.#running.set(model, left);
      return;
    }
    this.#running.delete(model);
    const waiters = this.#drainWaiters.get(model);
    this.#drainWaiters.delete(model);
    for (const resolve of waiters ?? []) resolve();
  }

  async #dispatch(model: ResolvedModel, tensors: Tensor[], outputs: string[] | undefined, deadlineMs: number, record: RequestRecord | undefined): Promise<InferAnswer> {
    const { maxResponseBytes: maxOutputBytes, now, onRun } = this.#deps;
    const requests = record && [tagOf(record)];
    const encode = (budgetMs: number): FrameBytes =>
      encodeFrameBytes<InferRequestHeader>(requestHeader(model.name, model.version, { outputs, budgetMs, maxOutputBytes, requests }), tensors);
    if (record) record.dispatchedMs = now();
    const answer = answerFromFrame(await this.#deps.dispatcher.dispatch(model.name, model.version, encode, deadlineMs));
    if (record) {
      record.answeredMs = now();
      record.worker = answer.timing;
    }
    onRun?.(answer.model, answer.version, tensors[0]?.shape[0] ?? 1, answer.timing);
    return answer;
  }

  /** The cache key; over large inputs hashed in time slices. */
  #keyFor(parts: CacheKeyParts): string | Promise<string> {
    let bytes = 0;
    for (const t of parts.tensors) bytes += t.data.byteLength;
    if (bytes < SLICED_KEY_MIN_BYTES) return this.#deps.cache.keyFor(parts);
    return cacheKeySliced(parts, new TimeSlicer()).then((digest) => this.#deps.cache.keyOf(parts.model, parts.version, digest));
  }
}
