// KServe v2 / Open Inference Protocol handlers. Each takes a matched route
// and answers a Reply; errors are thrown as catalogued InfergateErrors.
//
// The infer path: resolve model+version → read and check every header →
// admission → read the body (size-limited, within the deadline) → decode and
// validate against the signature and the limits (bad input stops here; large
// bodies in time slices) → cache / single-flight → batcher or dispatcher →
// the answer in the requested output order → KServe JSON or binary.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import { answerFromFrame, encodeFrameBytes, requestHeader, type FrameBytes, type InferAnswer, type InferRequestHeader } from '../../common/wire.ts';
import { decodeInferRequest, decodeInferRequestSliced, SLICED_DECODE_MIN_BYTES, type DecodedInferRequest, type DecodeOptions } from '../../common/kserve/decode-request.ts';
import { modelMetadata, modelReadyBody, serverLiveBody, serverMetadata, serverReadyBody } from '../../common/kserve/metadata.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { LimitsConfig } from '../../config/schema.ts';
import type { ModelRegistry, ResolvedModel } from '../models/registry.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import type { RetryBudget } from '../resilience/retry-budget.ts';
import { askedPriority, askedTimeoutMs, type ModelBatching, type ModelPlan } from '../batching/model-batching.ts';
import { groupKey, requestRows } from '../batching/tensor-batch.ts';
import { RawBodyIndex, type BodyContext } from '../cache/raw-body-index.ts';
import { cacheKeySliced, type CacheKeyParts } from '../cache/cache-key.ts';
import type { ResultCache } from '../cache/result-cache.ts';
import { readBody } from './body.ts';
import type { AdminAccess } from './admin-access.ts';
import { headerText, readInferHeaders, type InferHeaders } from './infer-headers.ts';
import { answerReply, inRequestedOrder } from './infer-reply.ts';
import type { Reservation } from './request-budget.ts';
import { isAdminRoute, type Route } from './routes.ts';
import type { Reply } from './server.ts';

export { CACHE_HEADER } from './infer-reply.ts';

export type HandlersOptions = {
  registry: ModelRegistry;
  replicas: ReplicaSet;
  dispatcher: Dispatcher;
  retryBudget: RetryBudget;
  cache: ResultCache<InferAnswer>;
  /** Raw request bodies already seen → their cache key (the decode-free path of a repeated request). */
  rawBodies: RawBodyIndex;
  batching: ModelBatching;
  maxBodyBytes: number;
  limits: LimitsConfig;
  /** GET /v2/health/ready: every version READY (true), or every version READY or UNAVAILABLE (false). */
  strictReadiness: boolean;
  /** Throws for a caller who may not use the admin routes (admin-access.ts). */
  adminAccess: AdminAccess;
  now: () => number;
  version: string;
};

/** Inputs of at least this many bytes are hashed for the cache key in time slices (SHA-256: about 1 ms per MiB). */
const SLICED_KEY_MIN_BYTES = 1024 * 1024;

export class Handlers {
  readonly #o: HandlersOptions;
  /** The last reply rendered for each stored answer (see #hitReply). */
  readonly #hitReplies = new WeakMap<InferAnswer, { id: string | undefined; binaryOutputs: string[] | undefined; reply: Reply }>();

  constructor(options: HandlersOptions) {
    this.#o = options;
  }

  /** An answer, or a promise of one for routes that wait (infer, purge); throws a catalogued error. Not async: a hit then resolves in fewer microtask turns. */
  handle(route: Route, req: IncomingMessage, reservation?: Reservation): Reply | Promise<Reply> {
    if (isAdminRoute(route)) this.#o.adminAccess(headerText(req, 'authorization'), req.socket.remoteAddress);
    switch (route.name) {
      case 'live':
        return { status: 200, body: serverLiveBody(true) };
      case 'ready': {
        const { ready, reason } = this.#o.registry.readiness(this.#o.strictReadiness);
        return ready ? { status: 200, body: serverReadyBody(true) } : notReady(reason);
      }
      case 'serverMetadata':
        return { status: 200, body: serverMetadata(this.#o.version, ['binary_tensor_data']) };
      case 'modelMetadata': {
        const model = this.#o.registry.model(route.model);
        const resolved = this.#o.registry.resolve(route.model, route.version);
        const versions = route.version === undefined ? model.versions.map((v) => v.version) : [resolved.version];
        return { status: 200, body: modelMetadata(resolved.signature, versions) };
      }
      case 'modelReady': {
        const status = this.#o.registry.resolveVersion(route.model, route.version);
        if (status.state === 'READY') return { status: 200, body: modelReadyBody(route.model, status.version, true) };
        return notReady(`model "${route.model}" version ${status.version} is ${status.state}${status.reason ? `: ${status.reason}` : ''}`);
      }
      case 'infer':
        return this.#infer(route.model, route.version, req, reservation);
      case 'replicas':
        return { status: 200, body: this.#replicasBody() };
      case 'cacheStats':
        return { status: 200, body: this.#o.cache.stats() };
      case 'cachePurge':
        return this.#purge(route.model, route.version);
      case 'batchingStats':
        return { status: 200, body: this.#o.batching.snapshot() };
    }
  }

  /** Each replica's lifecycle and health, each model's versions and routing (panic mode or not) and the retry budget. */
  #replicasBody(): object {
    const { replicas, registry, retryBudget } = this.#o;
    const models = Object.fromEntries(
      registry.models.map((m) => {
        const { replicas: routable, panic } = replicas.route(m.name, undefined);
        const ready = replicas.replicas.filter((r) => r.state === 'ready' && r.serves(m.name)).length;
        return [m.name, { ready, routable: routable.map((r) => r.id), panic, versions: registry.status(m.name) }];
      }),
    );
    return { replicas: replicas.replicas.map((r) => r.snapshot()), models, retryBudget: retryBudget.snapshot() };
  }

  async #infer(modelName: string, version: string | undefined, req: IncomingMessage, reservation: Reservation | undefined): Promise<Reply> {
    const startedMs = this.#o.now();
    // Resolve before reading so that an unknown or unavailable model costs no body buffering.
    const resolved = this.#o.registry.resolve(modelName, version);
    const plan = this.#o.batching.plan(resolved);
    // Every header is checked now, before the cache is asked: a hit answers only what a miss would.
    const headers = readInferHeaders(req, plan);
    const cacheOn = this.#o.cache.enabledFor(resolved.name);
    const timeoutMs = headers.timeoutMs ?? plan.timeoutMs;
    // Shed before reading the body when the queue already says no (by the headers' priority and deadline):
    // under overload, refusing must cost far less than serving. (With the cache on, the request may be a
    // hit that needs no queue: the batcher decides after the lookup.)
    if (plan.batcher && !cacheOn) plan.batcher.admit(headers.priority ?? plan.defaultPriority, startedMs + timeoutMs);
    const body = await readBody(req, { maxBytes: this.#o.maxBodyBytes, startedMs, timeoutMs, now: this.#o.now, ...(reservation ? { reservation } : {}) });
    const headerLength = headers.binaryHeaderLength === undefined ? undefined : Number(headers.binaryHeaderLength);

    // A body seen before (byte for byte) whose answer is still stored is answered without decoding it.
    const indexed = cacheOn && !headers.fresh && body.byteLength <= this.#o.rawBodies.maxBodyBytes;
    const bodyContext: BodyContext | undefined = indexed ? { model: resolved.name, version: resolved.version, binaryHeaderLength: headerLength } : undefined;
    const fingerprint = indexed ? RawBodyIndex.fingerprint(body) : undefined;
    const seen = bodyContext && fingerprint !== undefined ? this.#o.rawBodies.get(bodyContext, fingerprint, body) : undefined;
    const peeked = seen && this.#o.cache.peek(seen.key);
    const stored = peeked instanceof Promise ? await peeked : peeked;
    if (seen && stored) return this.#hitReply(inRequestedOrder(stored, seen.outputs), seen.id, seen.binaryOutputs);

    const request = await this.#decode(body, resolved, plan, headers);
    const parameters = request.parameters;
    const deadlineMs = startedMs + (headers.timeoutMs ?? askedTimeoutMs(parameters?.timeout_ms, plan) ?? plan.timeoutMs);
    const priority = headers.priority ?? askedPriority(parameters?.priority, plan) ?? plan.defaultPriority;
    const fresh = headers.fresh || wantsFreshAnswer(parameters);
    const { outputs, tensors: inputs } = request;
    // The cache key is a SHA-256 over the model file's digest and the inputs: computed only when the cache runs (the batcher reuses it).
    const keyed = cacheOn ? this.#keyFor({ model: resolved.name, version: resolved.version, fingerprint: resolved.signature.fingerprint, outputs, tensors: inputs }) : undefined;
    const key = keyed instanceof Promise ? await keyed : keyed;
    const rows = plan.axes && requestRows(inputs, plan.axes);

    const compute = async (): Promise<InferAnswer> => {
      if (plan.batcher && rows !== undefined) {
        return plan.batcher.submit({ tensors: inputs, outputs, rows, groupKey: groupKey(inputs, plan.axes!, outputs), dedupeKey: key, priority, deadlineMs });
      }
      const maxOutputBytes = this.#o.limits.maxResponseBytes;
      const encode = (budgetMs: number): FrameBytes =>
        encodeFrameBytes<InferRequestHeader>(requestHeader(resolved.name, resolved.version, { outputs, budgetMs, maxOutputBytes }), inputs);
      return answerFromFrame(await this.#o.dispatcher.dispatch(resolved.name, resolved.version, encode, deadlineMs));
    };
    const { value: answer, outcome } = await this.#o.cache.getOrCompute(resolved.name, key ?? '', fresh, compute);
    if (bodyContext && fingerprint !== undefined && key !== undefined && !fresh) {
      this.#o.rawBodies.set(bodyContext, fingerprint, body, { key, id: request.id, binaryOutputs: request.binaryOutputs, outputs });
    }
    return answerReply(inRequestedOrder(answer, outputs), request.id, request.binaryOutputs, outcome);
  }

  /** Decodes and validates the body against the signature and the limits; a large body in time slices. */
  #decode(body: Uint8Array, resolved: ResolvedModel, plan: ModelPlan, headers: InferHeaders): DecodedInferRequest | Promise<DecodedInferRequest> {
    const { limits } = this.#o;
    const options: DecodeOptions = {
      maxElements: limits.maxElementsPerRequest,
      maxRows: limits.maxRowsPerRequest,
      ...(plan.batchAxes ? { batchAxes: plan.batchAxes } : {}),
      ...(headers.binaryHeaderLength !== undefined ? { binaryHeaderLength: headers.binaryHeaderLength } : {}),
    };
    if (body.byteLength < SLICED_DECODE_MIN_BYTES) return decodeInferRequest(body, resolved.signature, options);
    return decodeInferRequestSliced(body, resolved.signature, options, new TimeSlicer());
  }

  /** The cache key; over large inputs hashed in time slices. */
  #keyFor(parts: CacheKeyParts): string | Promise<string> {
    let bytes = 0;
    for (const t of parts.tensors) bytes += t.data.byteLength;
    if (bytes < SLICED_KEY_MIN_BYTES) return this.#o.cache.keyFor(parts);
    return cacheKeySliced(parts, new TimeSlicer()).then((digest) => this.#o.cache.keyOf(parts.model, parts.version, digest));
  }

  /**
   * A repeated body's hit. An entry of the in-process tier decodes to the
   * same answer object on every hit (the result cache keeps decoded answers
   * of hot entries), and a repeated body echoes the same id and asks for the
   * same binary outputs (the raw-body index hands back the same values), so
   * the encoded reply is kept with the answer and sent again as it is: a hit
   * then costs no JSON encoding.
   */
  #hitReply(answer: InferAnswer, id: string | undefined, binaryOutputs: string[] | undefined): Reply | Promise<Reply> {
    const rendered = this.#hitReplies.get(answer);
    if (rendered && rendered.id === id && rendered.binaryOutputs === binaryOutputs) return rendered.reply;
    const reply = answerReply(answer, id, binaryOutputs, 'hit');
    // Large answers are rendered in slices each time (and are rarely stored: cache.maxEntryBytes).
    if (!(reply instanceof Promise)) this.#hitReplies.set(answer, { id, binaryOutputs, reply });
    return reply;
  }

  async #purge(modelName: string, version: string | undefined): Promise<Reply> {
    // Known names only: a typo must not report "0 removed" as if it had worked.
    const model = this.#o.registry.model(modelName);
    const resolvedVersion = version === undefined ? undefined : this.#o.registry.resolveVersion(model.name, version).version;
    const result = await this.#o.cache.purge(model.name, resolvedVersion);
    const failed = Object.entries(result.errors);
    if (failed.length > 0) {
      const detail = failed.map(([tier, message]) => `${tier}: ${message}`).join('; ');
      throw new InfergateError('GW_ERR_CACHE_UNAVAILABLE', `purge of ${result.prefix}* removed ${JSON.stringify(result.removed)}, failed in ${detail}`);
    }
    return { status: 200, body: { model: model.name, ...(resolvedVersion !== undefined ? { version: resolvedVersion } : {}), removed: result.removed } };
  }
}

/** `"no_cache": true` in the request's parameters asks for a freshly computed answer (as Cache-Control: no-cache does). */
function wantsFreshAnswer(parameters: Record<string, unknown> | undefined): boolean {
  const noCache = parameters?.no_cache;
  if (noCache === undefined || typeof noCache === 'boolean') return noCache === true;
  throw new InfergateError('GW_ERR_INVALID_REQUEST', `"parameters": "no_cache" must be true or false, not ${JSON.stringify(noCache)}`);
}

function notReady(reason: string): Reply {
  // The protocol's readiness endpoints answer 400 when not ready.
  return { status: 400, body: { error: reason } };
}
