// Trace spans of inference requests, through @opentelemetry/api. Used only
// when a tracer provider is configured (common/tracing.ts): then each request
// opens an `infer` span as it starts (a child of the client's traceparent,
// when it sent one), the worker's `worker run` span joins it through the
// traceparent carried in the frame, and the stages are added as child spans
// when the request ends, from the times its record holds:
//
//   infer ─┬─ receive   received → decoded
//          ├─ cache     decoded → computing (or the hit's answer)
//          ├─ queue     in a batcher's queue
//          ├─ batch     batch formed → frame dispatched
//          ├─ dispatch  frame dispatched → answer back (worker run inside, from the worker)
//          └─ encode    answer rendered and sent
//
// Made after the fact, the stage spans cost nothing while the request runs.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { RequestRecord } from '../telemetry/request-record.ts';

export type RequestSpansDeps = {
  tracer: Tracer;
  /** performance.timeOrigin: record times are performance.now() values. */
  timeOriginMs?: number;
};

export class RequestSpans {
  readonly #tracer: Tracer;
  readonly #originMs: number;
  readonly #open = new WeakMap<RequestRecord, Span>();

  constructor(deps: RequestSpansDeps) {
    this.#tracer = deps.tracer;
    this.#originMs = deps.timeOriginMs ?? performance.timeOrigin;
  }

  /** Opens the request's span; the traceparent its worker joins becomes this span's. */
  readonly begin = (record: RequestRecord): void => {
    const span = this.#tracer.startSpan('infer', { kind: SpanKind.SERVER, startTime: this.#at(record.receivedMs), attributes: { 'infergate.request_id': record.id } }, parentOf(record.traceparent));
    this.#open.set(record, span);
    const own = span.spanContext();
    if (trace.isSpanContextValid(own)) record.traceparent = `00-${own.traceId}-${own.spanId}-${own.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
  };

  /** Closes the request's span with a child per stage it went through. */
  readonly onRequest = (record: RequestRecord): void => {
    const span = this.#open.get(record);
    if (!span) return;
    this.#open.delete(record);
    const endedMs = record.endedMs ?? record.receivedMs;
    if (span.isRecording()) {
      const parent = trace.setSpan(ROOT_CONTEXT, span);
      const computingMs = record.queuedMs ?? record.dispatchedMs ?? record.encodeStartMs;
      this.#stage(parent, 'receive', record.receivedMs, record.decodedMs);
      this.#stage(parent, 'cache', record.decodedMs, computingMs);
      this.#stage(parent, 'queue', record.queuedMs, record.batchFormedMs);
      this.#stage(parent, 'batch', record.batchFormedMs, record.dispatchedMs);
      this.#stage(parent, 'dispatch', record.dispatchedMs, record.answeredMs);
      this.#stage(parent, 'encode', record.encodeStartMs, endedMs);
      span.setAttributes({
        'infergate.model': record.model ?? '',
        'infergate.version': record.version ?? '',
        'http.response.status_code': record.status ?? 0,
        ...(record.cache ? { 'infergate.cache': record.cache } : {}),
        ...(record.batchRows !== undefined ? { 'infergate.batch_rows': record.batchRows } : {}),
        ...(record.code ? { 'error.type': record.code } : {}),
      });
      // As OpenTelemetry's HTTP conventions say for a server: only a 5xx is the span's error.
      if ((record.status ?? 500) >= 500) span.setStatus({ code: SpanStatusCode.ERROR, ...(record.code ? { message: record.code } : {}) });
    }
    span.end(this.#at(endedMs));
  };

  #stage(parent: Context, name: string, fromMs: number | undefined, toMs: number | undefined): void {
    if (fromMs === undefined || toMs === undefined) return;
    this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: this.#at(fromMs) }, parent).end(this.#at(toMs));
  }

  #at(ms: number): number {
    return this.#originMs + ms;
  }
}

/** The client's trace as a remote parent; a new trace when it sent none. */
function parentOf(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const [, traceId, spanId, flags] = traceparent.split('-');
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) & TraceFlags.SAMPLED, isRemote: true });
}
