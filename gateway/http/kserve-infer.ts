// POST /v2/models/{m}[/versions/{v}]/infer: KServe v2 REST translated into
// one call of the infer service, and its answer into KServe JSON (or the
// binary tensor extension). Everything about running the request is the
// service's; this file holds only what is HTTP's:
//
//   headers (checked before anything else) → early shedding → body (size,
//   deadline, reservation) → raw-body index (a byte-identical body whose
//   answer is stored is answered without decoding) → decode and validate →
//   infer(call) → the answer in the requested output order, rendered.

import type { IncomingMessage } from 'node:http';
import { decodeInferRequest, decodeInferRequestSliced, SLICED_DECODE_MIN_BYTES, type DecodedInferRequest, type DecodeOptions } from '../../common/kserve/decode-request.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { InferAnswer } from '../../common/wire.ts';
import type { LimitsConfig } from '../../config/schema.ts';
import { RawBodyIndex, type BodyContext } from '../cache/raw-body-index.ts';
import { askedPriority, askedTimeoutMs, askedTimeoutUs, inRequestedOrder, wantsFreshAnswer } from '../infer/request-controls.ts';
import type { InferService, InferTarget } from '../infer/infer-service.ts';
import { requestTarget } from '../infer/request-target.ts';
import { readBody } from './body.ts';
import { readInferHeaders, sessionKeyOf, type InferHeaders } from './infer-headers.ts';
import { answerReply } from './infer-reply.ts';
import type { Reply } from './reply.ts';
import type { RequestRecord } from '../telemetry/request-record.ts';
import type { Reservation } from './request-budget.ts';

export type KServeInferDeps = {
  service: InferService;
  /** Raw request bodies already seen → their cache key (the decode-free path of a repeated request). */
  rawBodies: RawBodyIndex;
  maxBodyBytes: number;
  limits: LimitsConfig;
  now: () => number;
};

export class KServeInferRoute {
  readonly #deps: KServeInferDeps;
  /** The last reply rendered for each stored answer (see #hitReply). */
  readonly #hitReplies = new WeakMap<InferAnswer, { id: string | undefined; binaryOutputs: string[] | undefined; reply: Reply }>();

  constructor(deps: KServeInferDeps) {
    this.#deps = deps;
  }

  async handle(modelName: string, version: string | undefined, req: IncomingMessage, reservation: Reservation | undefined, record: RequestRecord): Promise<Reply> {
    const { service, rawBodies, now } = this.#deps;
    const startedMs = record.receivedMs;
    // Resolve before reading so that an unknown or unavailable model costs no body buffering. A rollout's canary
    // split keeps a client that sends x-session-id on one version.
    const targeted = requestTarget(service, modelName, version, sessionKeyOf(req), record);
    const target = targeted instanceof Promise ? await targeted : targeted;
    const { plan } = target;
    // Every header is checked now, before the cache is asked: a hit answers only what a miss would.
    const headers = readInferHeaders(req, plan);
    const timeoutMs = headers.timeoutMs ?? plan.timeoutMs;
    service.admitEarly(target, headers.priority ?? plan.defaultPriority, startedMs + timeoutMs);
    const body = await readBody(req, { maxBytes: this.#deps.maxBodyBytes, startedMs, timeoutMs, now, ...(reservation ? { reservation } : {}) });
    const headerLength = headers.binaryHeaderLength === undefined ? undefined : Number(headers.binaryHeaderLength);

    // A body seen before (byte for byte) whose answer is still stored is answered without decoding it. Not a
    // rollout's leg: its outcome feeds the gates and a stable answer may be shadowed, which takes the infer path
    // (where a hit is still a hit, only decoded first).
    const indexed = target.cached && target.leg === undefined && !headers.fresh && body.byteLength <= rawBodies.maxBodyBytes;
    const bodyContext: BodyContext | undefined = indexed ? { model: target.model.name, version: target.model.version, fingerprint: target.model.signature.fingerprint, binaryHeaderLength: headerLength } : undefined;
    const fingerprint = indexed ? RawBodyIndex.fingerprint(body) : undefined;
    const seen = bodyContext && fingerprint !== undefined ? rawBodies.get(bodyContext, fingerprint, body) : undefined;
    const peeked = seen && service.stored(seen.key);
    const stored = peeked instanceof Promise ? await peeked : peeked;
    if (seen && stored) {
      record.cache = 'hit';
      record.encodeStartMs = now();
      return this.#hitReply(inRequestedOrder(stored, seen.outputs), seen.id, seen.binaryOutputs);
    }

    const request = await this.#decode(body, target, headers);
    record.decodedMs = now();
    const { parameters, outputs } = request;
    // The header first, then the gateway's own timeout_ms, then Triton's timeout (µs), then the model's default.
    const askedMs = headers.timeoutMs ?? askedTimeoutMs(parameters?.timeout_ms, plan) ?? askedTimeoutUs(parameters?.timeout, plan);
    const deadlineMs = startedMs + (askedMs ?? plan.timeoutMs);
    const priority = headers.priority ?? askedPriority(parameters?.priority, plan) ?? plan.defaultPriority;
    const bypassCache = headers.fresh || wantsFreshAnswer(parameters);
    const result = await service.infer({ target, tensors: request.tensors, outputs, deadlineMs, priority, bypassCache, requestId: request.id, record });
    record.encodeStartMs = now();
    if (bodyContext && fingerprint !== undefined && result.cacheKey !== undefined && !bypassCache) {
      rawBodies.set(bodyContext, fingerprint, body, { key: result.cacheKey, id: request.id, binaryOutputs: request.binaryOutputs, outputs });
    }
    return answerReply(inRequestedOrder(result.answer, outputs), request.id, request.binaryOutputs, result.cache);
  }

  /** Decodes and validates the body against the signature and the limits; a large body in time slices. */
  #decode(body: Uint8Array, target: InferTarget, headers: InferHeaders): DecodedInferRequest | Promise<DecodedInferRequest> {
    const { limits } = this.#deps;
    const { batchAxes } = target.plan;
    const options: DecodeOptions = {
      maxElements: limits.maxElementsPerRequest,
      maxRows: limits.maxRowsPerRequest,
      ...(batchAxes ? { batchAxes } : {}),
      ...(headers.binaryHeaderLength !== undefined ? { binaryHeaderLength: headers.binaryHeaderLength } : {}),
    };
    const { signature } = target.model;
    if (body.byteLength < SLICED_DECODE_MIN_BYTES) return decodeInferRequest(body, signature, options);
    return decodeInferRequestSliced(body, signature, options, new TimeSlicer());
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
}

/** `"no_cache": true` in the request's parameters asks for a freshly computed answer (as Cache-Control: no-cache does). */
