// The `worker run` span of a frame: a child of the first request's trace that has one, linked to the others',
// with the record's times on the wall clock, its model, version, rows and request ids, and the error's code.

import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import t from 'tap';
import { InfergateError } from '../../common/errors.ts';
import type { RunRecord } from '../../worker/run-record.ts';
import { RUN_SPAN_NAME, RunSpans } from '../../worker/run-spans.ts';

const A = { trace: '4bf92f3577b34da6a3ce929d0e0e4736', span: '00f067aa0ba902b7' };
const B = { trace: '0af7651916cd43dd8448eb211c80319c', span: 'b7ad6b7169203331' };
const traceparent = (c: { trace: string; span: string }) => `00-${c.trace}-${c.span}-01`;

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const spans = new RunSpans({ tracer: provider.getTracer('test'), timeOriginMs: 1_700_000_000_000 });
  const only = () => {
    const finished = exporter.getFinishedSpans();
    exporter.reset();
    if (finished.length !== 1) throw new Error(`${finished.length} spans`);
    return finished[0]!;
  };
  return { spans, only };
}

function record(fields: Partial<RunRecord>): RunRecord {
  return { model: 'm', version: '2', served: true, rows: 3, requests: [], startMs: 100, endMs: 104.5, timing: { inputMs: 0.5, inferMs: 3, outputMs: 1 }, ...fields };
}

t.test('a batch: the child of the first trace, linked to the second, with the record’s times and fields', async (t) => {
  const { spans, only } = tracing();
  spans.onRun(record({ requests: [{ id: 'r1', traceparent: traceparent(A) }, { id: 'r2' }, { id: 'r3', traceparent: traceparent(B) }] }));
  const span = only();
  t.equal(span.name, RUN_SPAN_NAME);
  t.equal(span.spanContext().traceId, A.trace, "in the first request's trace");
  t.equal(span.parentSpanContext?.spanId, A.span, 'a child of its span');
  t.same(span.links.map((l) => [l.context.traceId, l.context.spanId]), [[B.trace, B.span]], 'linked to the other trace; r2 had none');
  t.same(span.attributes, { 'infergate.model': 'm', 'infergate.version': '2', 'infergate.rows': 3, 'infergate.request_ids': ['r1', 'r2', 'r3'] });
  t.same(span.startTime, [1_700_000_000, 100_000_000], 'times from the record, on the wall clock');
  t.same(span.endTime, [1_700_000_000, 104_500_000]);
  t.equal(span.status.code, SpanStatusCode.UNSET);
});

t.test('the parent is the first request that carries a valid trace; none: a new trace', async (t) => {
  const { spans, only } = tracing();
  spans.onRun(record({ requests: [{ id: 'r1', traceparent: 'garbage' }, { id: 'r2', traceparent: `00-${'0'.repeat(32)}-${A.span}-01` }, { id: 'r3', traceparent: traceparent(B) }] }));
  const span = only();
  t.equal(span.parentSpanContext?.spanId, B.span, 'malformed and all-zero traceparents are skipped');
  t.same(span.links, []);

  spans.onRun(record({ requests: [] }));
  const root = only();
  t.equal(root.parentSpanContext, undefined, 'no parent');
  t.match(root.spanContext().traceId, /^[0-9a-f]{32}$/);
});

t.test('a failed run is an error span with the code', async (t) => {
  const { spans, only } = tracing();
  spans.onRun(record({ timing: undefined, error: new InfergateError('GW_ERR_SHAPE_MISMATCH', 'input x has shape [3]'), requests: [{ id: 'r1', traceparent: traceparent(A) }] }));
  const span = only();
  t.equal(span.status.code, SpanStatusCode.ERROR);
  t.equal(span.status.message, 'GW_ERR_SHAPE_MISMATCH');
  t.equal(span.attributes['error.type'], 'GW_ERR_SHAPE_MISMATCH');
});
