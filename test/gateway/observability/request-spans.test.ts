// Spans of a request: the infer span is a child of the client's trace, the traceparent sent to the worker names it,
// and each stage the record went through becomes a child span with the record's times.

import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { RequestSpans } from '../../../gateway/observability/request-spans.ts';
import { newRequestRecord } from '../../../gateway/telemetry/request-record.ts';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, spans: new RequestSpans({ tracer: provider.getTracer('test'), timeOriginMs: 1_700_000_000_000 }) };
}

t.test("a batched request: infer joins the client's trace; its stages are children with the record's times", async (t) => {
  const { exporter, spans } = tracing();
  const record = newRequestRecord('req-1', 'rest', 100, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
  spans.begin(record);
  const [, traceId, spanId, flags] = record.traceparent!.split('-');
  t.equal(traceId, CLIENT_TRACE, "the worker joins the client's trace");
  t.not(spanId, CLIENT_SPAN, '…as a child of the gateway span, not of the client');
  t.equal(flags, '01');
  Object.assign(record, { model: 'm', version: '1', status: 200, cache: 'miss', decodedMs: 101, queuedMs: 102, batchFormedMs: 104, dispatchedMs: 104.5, answeredMs: 110, encodeStartMs: 110.5, endedMs: 111, batchRows: 8 });
  spans.onRequest(record);

  const finished = exporter.getFinishedSpans();
  const infer = finished.find((s) => s.name === 'infer')!;
  t.equal(infer.spanContext().spanId, spanId);
  t.equal(infer.parentSpanContext?.spanId, CLIENT_SPAN);
  t.equal(infer.attributes['infergate.batch_rows'], 8);
  t.equal(infer.attributes['infergate.request_id'], 'req-1');
  const stages = finished.filter((s) => s.name !== 'infer');
  t.same(stages.map((s) => s.name), ['receive', 'cache', 'queue', 'batch', 'dispatch', 'encode']);
  for (const stage of stages) t.equal(stage.parentSpanContext?.spanId, spanId, `${stage.name} is a child of infer`);
  const queue = stages.find((s) => s.name === 'queue')!;
  t.same(queue.startTime, [1_700_000_000, 102_000_000], 'times from the record, on the wall clock');
  t.same(queue.endTime, [1_700_000_000, 104_000_000]);
});

t.test('a cache hit with no client trace: a new trace, no queue or dispatch spans; a 5xx marks the span an error', async (t) => {
  const { exporter, spans } = tracing();
  const hit = newRequestRecord('req-2', 'rest', 100, undefined);
  spans.begin(hit);
  t.match(hit.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  Object.assign(hit, { model: 'm', version: '1', status: 200, cache: 'hit', encodeStartMs: 100.2, endedMs: 100.3 });
  spans.onRequest(hit);
  t.same(exporter.getFinishedSpans().map((s) => s.name).sort(), ['encode', 'infer']);

  exporter.reset();
  const failed = newRequestRecord('req-3', 'rest', 100, undefined);
  spans.begin(failed);
  Object.assign(failed, { status: 503, code: 'GW_ERR_NO_READY_REPLICA', endedMs: 101 });
  spans.onRequest(failed);
  const infer = exporter.getFinishedSpans().find((s) => s.name === 'infer')!;
  t.equal(infer.status.code, 2, 'ERROR');
  t.equal(infer.attributes['error.type'], 'GW_ERR_NO_READY_REPLICA');
});

t.test('without a configured provider the API tracer records nothing, and the client trace is passed on unchanged', async (t) => {
  const spans = new RequestSpans({ tracer: trace.getTracer('noop') });
  const record = newRequestRecord('req-4', 'rest', 100, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
  spans.begin(record);
  t.equal(record.traceparent, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
  spans.onRequest(record);
});
