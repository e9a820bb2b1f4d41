// TF Serving's REST API, translated into the gateway's: model status and
// metadata from the registry, and POST …:predict as one call of the infer
// service (cache, batching, breakers and metrics are the service's, as for
// every front). This file holds only what is HTTP's; the codec is pure
// (tfserving-request.ts, tfserving-response.ts, tfserving-model.ts):
//
//   target (404/400 before the body is read) → control headers → early
//   shedding → body (size, deadline, reservation) → decode and validate →
//   infer(call) → predictions or outputs, in the format asked for.
//
// Errors are the catalogued ones, answered {"error": "…", "code": "GW_ERR_…"}
// by the front: TF Serving's clients read `error`, and TF Serving's own
// status map (canonical code → HTTP) gives the same status as
// common/http-status.ts for every kind the two share (test/gateway/http/
// tfserving-errors.test.ts holds the table).
//
// The body is parsed whole (JSON.parse), unlike a large KServe body, which
// is decoded in time slices: that decoder reads one `data` span per input,
// and a row-format input is spread over every instance.
//
// A version or a label (/versions/{v}, /labels/{l}) is resolved by the
// registry, config.yaml `labels` and a rollout's `stable` included.

import type { IncomingMessage } from 'node:http';
import type { DecodeOptions } from '../../common/kserve/decode-request.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { LimitsConfig } from '../../config/schema.ts';
import type { InferService } from '../infer/infer-service.ts';
import { requestTarget } from '../infer/request-target.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { RequestRecord } from '../telemetry/request-record.ts';
import { readBody } from './body.ts';
import { readControlHeaders, sessionKeyOf } from './infer-headers.ts';
import { CACHE_HEADER, SLICED_ANSWER_MIN_BYTES } from './infer-reply.ts';
import type { Reply } from './reply.ts';
import type { Reservation } from './request-budget.ts';
import { modelMetadataBody, modelStatusBody } from './tfserving-model.ts';
import { decodePredictBody } from './tfserving-request.ts';
import { joinPieces, predictResponsePieces, slicedPieces } from './tfserving-response.ts';

export type TfServingDeps = {
  service: InferService;
  registry: ModelRegistry;
  maxBodyBytes: number;
  limits: LimitsConfig;
  now: () => number;
};

export class TfServingRoute {
  readonly #deps: TfServingDeps;

  constructor(deps: TfServingDeps) {
    this.#deps = deps;
  }

  /** GET /v1/models/{m}[/versions/{v}|/labels/{l}]: every version of the model, or the one named. */
  status(model: string, version: string | undefined): Reply {
    const { registry } = this.#deps;
    const versions = version === undefined ? registry.status(model) : [registry.resolveVersion(model, version)];
    return { status: 200, body: modelStatusBody(versions) };
  }

  /** GET …/metadata: the signature of the version named, or of the one a request naming none gets. */
  metadata(model: string, version: string | undefined): Reply {
    return { status: 200, body: modelMetadataBody(this.#deps.registry.resolve(model, version)) };
  }

  /** POST …:predict. */
  async predict(modelName: string, version: string | undefined, req: IncomingMessage, reservation: Reservation | undefined, record: RequestRecord): Promise<Reply> {
    const { service, now, limits } = this.#deps;
    const startedMs = record.receivedMs;
    const targeted = requestTarget(service, modelName, version, sessionKeyOf(req), record);
    const target = targeted instanceof Promise ? await targeted : targeted;
    const { plan } = target;
    // TF Serving's body has no parameters: the gateway's headers are how a client asks for a priority, a
    // shorter deadline or a fresh answer.
    const controls = readControlHeaders(req, plan);
    const deadlineMs = startedMs + (controls.timeoutMs ?? plan.timeoutMs);
    const priority = controls.priority ?? plan.defaultPriority;
    service.admitEarly(target, priority, deadlineMs);
    const body = await readBody(req, { maxBytes: this.#deps.maxBodyBytes, startedMs, timeoutMs: deadlineMs - startedMs, now, ...(reservation ? { reservation } : {}) });
    const { batchAxes } = plan;
    const options: DecodeOptions = { maxElements: limits.maxElementsPerRequest, maxRows: limits.maxRowsPerRequest, ...(batchAxes ? { batchAxes } : {}) };
    const request = decodePredictBody(body, target.model.signature, options);
    record.decodedMs = now();
    const result = await service.infer({ target, tensors: request.tensors, outputs: undefined, deadlineMs, priority, bypassCache: controls.fresh, requestId: undefined, record });
    record.encodeStartMs = now();
    const pieces = predictResponsePieces(result.answer.tensors, request.format);
    const headers = { [CACHE_HEADER]: result.cache };
    let bytes = 0;
    for (const t of result.answer.tensors) bytes += t.data.byteLength;
    // As for KServe answers: a large one is rendered in time slices, so that no one answer holds the event loop.
    if (bytes < SLICED_ANSWER_MIN_BYTES) return { status: 200, headers, body: joinPieces(pieces) };
    return { status: 200, headers, stream: slicedPieces(pieces, new TimeSlicer()) };
  }
}
