// ModelInfer (and each request of ModelStreamInfer): a gRPC message
// translated into one call of the infer service, and its answer into a
// ModelInferResponse. As for REST, everything about running the request is
// the service's; this file holds what is gRPC's: the deadline from
// grpc-timeout, the session key and request id from the metadata, the
// message's tensors, and the request record the observers read.

import type { Metadata } from '@grpc/grpc-js';
import { asInfergateError } from '../../common/errors.ts';
import { httpStatusOf } from '../../common/http-status.ts';
import type { LimitsConfig } from '../../config/schema.ts';
import { askedPriority, askedTimeoutMs, askedTimeoutUs, inRequestedOrder, wantsFreshAnswer } from '../infer/request-controls.ts';
import type { InferService } from '../infer/infer-service.ts';
import type { Admission } from '../access/access-gate.ts';
import { requestTarget } from '../infer/request-target.ts';
import { newRequestRecord, type RequestObserver, type RequestRecord } from '../telemetry/request-record.ts';
import { decodeGrpcInferRequest, grpcInferResponse, type GrpcInferRequest, type GrpcInferResponse } from './grpc-tensors.ts';

export type GrpcInferDeps = {
  service: InferService;
  limits: LimitsConfig;
  /** Told of every request when it ends (metrics, statistics, access log), as the HTTP front does. */
  observe: RequestObserver | undefined;
  begin: ((record: RequestRecord) => void) | undefined;
  newRequestId: () => string;
  now: () => number;
};

/** One inference: its answer, or a thrown catalogued error. `deadline` is the call's (grpc-timeout), Infinity when none; `signal` aborts when the client cancels; `admission` is the access gate's. */
export async function grpcInfer(deps: GrpcInferDeps, message: GrpcInferRequest, metadata: Metadata, deadline: Date | number, signal: AbortSignal, admission: Admission): Promise<GrpcInferResponse> {
  const { service, now } = deps;
  const requestId = firstValue(metadata, 'x-request-id');
  const record = newRequestRecord(requestId && requestId.length <= 128 ? requestId : deps.newRequestId(), 'grpc', now(), firstValue(metadata, 'traceparent'));
  record.caller = admission.caller;
  record.rowQuota = admission.rows;
  deps.begin?.(record);
  try {
    const targeted = requestTarget(service, message.model_name, message.model_version || undefined, firstValue(metadata, 'x-session-id'), record);
    const target = targeted instanceof Promise ? await targeted : targeted;
    const { plan } = target;
    const { batchAxes } = plan;
    const request = decodeGrpcInferRequest(message, target.model.signature, {
      maxElements: deps.limits.maxElementsPerRequest,
      maxRows: deps.limits.maxRowsPerRequest,
      ...(batchAxes ? { batchAxes } : {}),
    });
    record.decodedMs = now();
    const { parameters } = request;
    // The request's own timeout_ms (or Triton's `timeout` in µs), else the model's default; grpc-timeout when shorter.
    const remainingMs = typeof deadline === 'number' ? deadline - Date.now() : deadline.getTime() - Date.now();
    const askedMs = askedTimeoutMs(parameters?.timeout_ms, plan) ?? askedTimeoutUs(parameters?.timeout, plan) ?? plan.timeoutMs;
    const deadlineMs = record.receivedMs + Math.min(askedMs, Number.isFinite(remainingMs) ? Math.max(0, remainingMs) : askedMs);
    const priority = askedPriority(parameters?.priority, plan) ?? plan.defaultPriority;
    service.admitEarly(target, priority, deadlineMs);
    const bypassCache = wantsFreshAnswer(parameters);
    const result = await service.infer({ target, tensors: request.tensors, outputs: request.outputs, deadlineMs, priority, bypassCache, requestId: request.id, record, signal });
    record.encodeStartMs = now();
    const response = grpcInferResponse(inRequestedOrder(result.answer, request.outputs), request.id, request.rawOutputs);
    record.status = 200;
    return response;
  } catch (err) {
    const error = asInfergateError(err);
    record.status = httpStatusOf(error);
    record.code = error.code;
    throw error;
  } finally {
    if (deps.observe) {
      record.endedMs = now();
      deps.observe(record);
    }
  }
}

function firstValue(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}
