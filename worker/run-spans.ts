// One `worker run` span per frame, through @opentelemetry/api: a no-op unless
// the process registered an SDK (common/tracing.ts). The span joins the trace
// of the client request it ran for, from the W3C traceparent the gateway put
// in the frame (common/wire.ts RequestTag); a batched frame ran for several
// requests, so the span is the child of the first one's and links to the
// others'. It is made after the fact from the run's record (start and end
// times given), so it costs the run nothing while it runs.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { RunRecord } from './run-record.ts';

export const RUN_SPAN_NAME = 'worker run';

export type RunSpansDeps = {
  /** trace.getTracer('infergate-worker') in a worker process; a test's own provider's tracer. */
  tracer: Tracer;
  /** performance.timeOrigin: record times are performance.now() values. */
  timeOriginMs?: number;
};

/** The one key a W3C traceparent carrier needs. */
const GETTER = {
  keys: (carrier: { traceparent: string }) => Object.keys(carrier),
  get: (carrier: { traceparent: string }, key: string) => (key === 'traceparent' ? carrier.traceparent : undefined),
};

export class RunSpans {
  readonly #tracer: Tracer;
  readonly #originMs: number;
  // Not the global propagator: the frame's field is W3C trace context whatever the process registered.
  readonly #propagator = new W3CTraceContextPropagator();

  constructor(deps: RunSpansDeps) {
    this.#tracer = deps.tracer;
    this.#originMs = deps.timeOriginMs ?? performance.timeOrigin;
  }

  readonly onRun = (run: RunRecord): void => {
    let parent: Context = ROOT_CONTEXT;
    const links: Link[] = [];
    for (const request of run.requests) {
      if (!request.traceparent) continue;
      const context = this.#propagator.extract(ROOT_CONTEXT, { traceparent: request.traceparent }, GETTER);
      const spanContext = trace.getSpanContext(context);
      if (!spanContext || !trace.isSpanContextValid(spanContext)) continue;
      if (parent === ROOT_CONTEXT) parent = context;
      else links.push({ context: spanContext });
    }
    const span = this.#tracer.startSpan(
      RUN_SPAN_NAME,
      {
        kind: SpanKind.INTERNAL,
        startTime: this.#originMs + run.startMs,
        links,
        attributes: {
          'infergate.model': run.model,
          'infergate.version': run.version,
          'infergate.rows': run.rows,
          'infergate.request_ids': run.requests.map((r) => r.id),
        },
      },
      parent,
    );
    if (run.error) {
      span.setAttribute('error.type', run.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: run.error.code });
    }
    span.end(this.#originMs + run.endMs);
  };
}
