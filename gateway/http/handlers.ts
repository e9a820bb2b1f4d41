// KServe v2 / Open Inference Protocol handlers. Each takes a matched route
// and answers a Reply; errors are thrown as catalogued InfergateErrors.
//
// The infer path: resolve model+version → read body (size-limited) → decode
// and validate against the signature (bad input stops here) → one binary
// frame → dispatcher (replica choice, retries) → split the response frame →
// KServe JSON.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import { answerFromFrame, encodeFrame, requestHeader, type InferAnswer, type InferRequestHeader } from '../../common/wire.ts';
import { decodeInferRequest } from '../../common/kserve/decode-request.ts';
import { BINARY_CONTENT_TYPE, HEADER_LENGTH_HEADER } from '../../common/kserve/binary-data.ts';
import { encodeBinaryInferResponse, encodeInferResponse } from '../../common/kserve/encode-response.ts';
import { modelMetadata, modelReadyBody, serverLiveBody, serverMetadata, serverReadyBody } from '../../common/kserve/metadata.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import type { RetryBudget } from '../resilience/retry-budget.ts';
import { requestPriority, requestTimeoutMs, type ModelBatching } from '../batching/model-batching.ts';
import { groupKey, requestRows } from '../batching/tensor-batch.ts';
import { RawBodyIndex, type BodyContext } from '../cache/raw-body-index.ts';
import type { CacheOutcome, ResultCache } from '../cache/result-cache.ts';
import { readBody } from './body.ts';
import type { AdminAccess } from './admin-access.ts';
import { isAdminRoute, type Route } from './routes.ts';
import type { Reply } from './server.ts';

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
  /** Throws for a caller who may not use the admin routes (admin-access.ts). */
  adminAccess: AdminAccess;
  now: () => number;
  version: string;
};


export class Handlers {
  readonly #o: HandlersOptions;
  /** The last reply rendered for each stored answer (see #hitReply). */
  readonly #hitReplies = new WeakMap<InferAnswer, { id: string | undefined; binaryOutputs: string[] | undefined; reply: Reply }>();

  constructor(options: HandlersOptions) {
    this.#o = options;
  }

  /** An answer, or a promise of one for routes that wait (infer, purge); throws a catalogued error. Not async: a hit then resolves in fewer microtask turns. */
  handle(route: Route, req: IncomingMessage): Reply | Promise<Reply> {
    if (isAdminRoute(route)) this.#o.adminAccess(headerText(req, 'authorization'), req.socket.remoteAddress);
    switch (route.name) {
      case 'live':
        return { status: 200, body: serverLiveBody(true) };
      case 'ready':
        return this.#isServerReady() ? { status: 200, body: serverReadyBody(true) } : notReady('not every model has a ready replica');
      case 'serverMetadata':
        return { status: 200, body: serverMetadata(this.#o.version, ['binary_tensor_data']) };
      case 'modelMetadata': {
        const model = this.#o.registry.model(route.model);
        const resolved = this.#o.registry.resolve(route.model, route.version);
        return { status: 200, body: modelMetadata(resolved.signature, route.version === undefined ? model.versions : [resolved.version]) };
      }
      case 'modelReady': {
        const version = this.#o.registry.resolveVersion(route.model, route.version);
        return this.#o.replicas.hasReady(route.model)
          ? { status: 200, body: modelReadyBody(route.model, version, true) }
          : notReady(`model "${route.model}" has no ready replica`);
      }
      case 'infer':
        return this.#infer(route.model, route.version, req);
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

  /** Each replica's lifecycle and health, each model's routing (panic mode or not) and the retry budget. */
  #replicasBody(): object {
    const { replicas, registry, retryBudget } = this.#o;
    const models = Object.fromEntries(
      registry.models.map((m) => {
        const { replicas: routable, panic } = replicas.route(m.name);
        const ready = replicas.replicas.filter((r) => r.state === 'ready' && r.serves(m.name)).length;
        return [m.name, { ready, routable: routable.map((r) => r.id), panic }];
      }),
    );
    return { replicas: replicas.replicas.map((r) => r.snapshot()), models, retryBudget: retryBudget.snapshot() };
  }

  #isServerReady(): boolean {
    return this.#o.registry.models.every((m) => this.#o.replicas.hasReady(m.name));
  }

  async #infer(modelName: string, version: string | undefined, req: IncomingMessage): Promise<Reply> {
    const startedMs = this.#o.now();
    const binaryHeaderLength = headerText(req, HEADER_LENGTH_HEADER);
    checkContentType(req.headers['content-type'], binaryHeaderLength !== undefined);
    // Resolve before reading so that an unknown model costs no body buffering.
    const resolved = this.#o.registry.resolve(modelName, version);
    const plan = this.#o.batching.plan(resolved);
    const cacheOn = this.#o.cache.enabledFor(resolved.name);
    // Shed before reading the body when the queue already says no (by the headers' priority and deadline):
    // under overload, refusing must cost far less than serving. (With the cache on, the request may be a
    // hit that needs no queue: the batcher decides after the lookup.)
    if (plan.batcher && !cacheOn) {
      plan.batcher.admit(requestPriority(req, undefined, plan), startedMs + requestTimeoutMs(req, undefined, plan));
    }
    const body = await readBody(req, this.#o.maxBodyBytes);
    const headerLength = binaryHeaderLength === undefined ? undefined : Number(binaryHeaderLength);

    // A body seen before (byte for byte) whose answer is still stored is answered without decoding it.
    const indexed = cacheOn && !wantsFreshAnswer(req, undefined);
    const bodyContext: BodyContext | undefined = indexed ? { model: resolved.name, version: resolved.version, binaryHeaderLength: headerLength } : undefined;
    const fingerprint = indexed ? RawBodyIndex.fingerprint(body) : undefined;
    const seen = bodyContext && fingerprint !== undefined ? this.#o.rawBodies.get(bodyContext, fingerprint, body) : undefined;
    const peeked = seen && this.#o.cache.peek(seen.key);
    const stored = peeked instanceof Promise ? await peeked : peeked;
    if (seen && stored) return this.#hitReply(stored, seen.id, seen.binaryOutputs);

    const request = decodeInferRequest(body, resolved.signature, binaryHeaderLength === undefined ? {} : { binaryHeaderLength });
    const deadlineMs = startedMs + requestTimeoutMs(req, request.parameters, plan);
    const priority = requestPriority(req, request.parameters, plan);
    const { outputs, tensors: inputs } = request;
    // The cache key is a SHA-256 over the inputs: computed only when the cache runs (the batcher reuses it).
    const key = cacheOn ? this.#o.cache.keyFor({ model: resolved.name, version: resolved.version, outputs, tensors: inputs }) : undefined;
    const rows = plan.axes && requestRows(inputs, plan.axes);

    const compute = async (): Promise<InferAnswer> => {
      if (plan.batcher && rows !== undefined) {
        return plan.batcher.submit({ tensors: inputs, outputs, rows, groupKey: groupKey(inputs, plan.axes!, outputs), dedupeKey: key, priority, deadlineMs });
      }
      const encode = (budgetMs: number): Uint8Array => encodeFrame<InferRequestHeader>(requestHeader(resolved.name, resolved.version, outputs, budgetMs), inputs);
      return answerFromFrame(await this.#o.dispatcher.dispatch(resolved.name, encode, deadlineMs));
    };
    const fresh = wantsFreshAnswer(req, request.parameters);
    const { value: answer, outcome } = await this.#o.cache.getOrCompute(resolved.name, key ?? '', fresh, compute);
    if (bodyContext && fingerprint !== undefined && key !== undefined && !fresh) {
      this.#o.rawBodies.set(bodyContext, fingerprint, body, { key, id: request.id, binaryOutputs: request.binaryOutputs });
    }
    return answerReply(answer, request.id, request.binaryOutputs, outcome);
  }

  /**
   * A repeated body's hit. An entry of the in-process tier decodes to the
   * same answer object on every hit (the result cache decodes each stored
   * buffer once), and a repeated body echoes the same id and asks for the
   * same binary outputs (the raw-body index hands back the same values), so
   * the encoded reply is kept with the answer and sent again as it is: a hit
   * then costs no JSON encoding.
   */
  #hitReply(answer: InferAnswer, id: string | undefined, binaryOutputs: string[] | undefined): Reply {
    const rendered = this.#hitReplies.get(answer);
    if (rendered && rendered.id === id && rendered.binaryOutputs === binaryOutputs) return rendered.reply;
    const reply = answerReply(answer, id, binaryOutputs, 'hit');
    this.#hitReplies.set(answer, { id, binaryOutputs, reply });
    return reply;
  }

  async #purge(modelName: string, version: string | undefined): Promise<Reply> {
    // Known names only: a typo must not report "0 removed" as if it had worked.
    const model = this.#o.registry.model(modelName);
    const resolvedVersion = version === undefined ? undefined : this.#o.registry.resolveVersion(model.name, version);
    const result = await this.#o.cache.purge(model.name, resolvedVersion);
    const failed = Object.entries(result.errors);
    if (failed.length > 0) {
      const detail = failed.map(([tier, message]) => `${tier}: ${message}`).join('; ');
      throw new InfergateError('GW_ERR_CACHE_UNAVAILABLE', `purge of ${result.prefix}* removed ${JSON.stringify(result.removed)}, failed in ${detail}`);
    }
    return { status: 200, body: { model: model.name, ...(resolvedVersion !== undefined ? { version: resolvedVersion } : {}), removed: result.removed } };
  }
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** JSON bodies are application/json; binary-extension bodies (with Inference-Header-Content-Length) may also be application/octet-stream. */
function checkContentType(contentType: string | undefined, binary: boolean): void {
  if (contentType === undefined || /^application\/json\b/i.test(contentType)) return;
  if (binary && /^application\/octet-stream\b/i.test(contentType)) return;
  throw new InfergateError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `"${contentType}"; send application/json${binary ? ' or application/octet-stream' : ''}`);
}

/** The KServe answer (JSON, or the binary extension when outputs were asked for as binary data). */
function answerReply(answer: InferAnswer, id: string | undefined, binaryOutputs: string[] | undefined, outcome: CacheOutcome): Reply {
  const response = { modelName: answer.model, modelVersion: answer.version, ...(id !== undefined ? { id } : {}), outputs: answer.tensors };
  if (!binaryOutputs) return { status: 200, headers: { [CACHE_HEADER]: outcome }, body: encodeInferResponse(response) };
  const { body, headerLength } = encodeBinaryInferResponse(response, new Set(binaryOutputs));
  return { status: 200, headers: { [CACHE_HEADER]: outcome, 'content-type': BINARY_CONTENT_TYPE, [HEADER_LENGTH_HEADER]: String(headerLength) }, body };
}

/** Response header saying how the cache took part: hit, miss, joined, bypass or off. */
export const CACHE_HEADER = 'x-infergate-cache';

/** `Cache-Control: no-cache` (or no-store), or `"no_cache": true` in the request's parameters, asks for a freshly computed answer. */
function wantsFreshAnswer(req: IncomingMessage, parameters: Record<string, unknown> | undefined): boolean {
  const control = req.headers['cache-control'];
  if (control !== undefined && /\bno-(cache|store)\b/i.test(control)) return true;
  const noCache = parameters?.no_cache;
  if (noCache === undefined || typeof noCache === 'boolean') return noCache === true;
  throw new InfergateError('GW_ERR_INVALID_REQUEST', `"parameters": "no_cache" must be true or false, not ${JSON.stringify(noCache)}`);
}

function notReady(reason: string): Reply {
  // The protocol's readiness endpoints answer 400 when not ready.
  return { status: 400, body: { error: reason } };
}
