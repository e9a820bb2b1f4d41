// Trace context end to end, with the real processes and a real OTLP/HTTP exporter: `infergate gateway` started
// with the standard OTEL_* variables sends its spans, and its workers send theirs, to a collector this test runs
// on loopback. A client's traceparent makes the gateway's infer span its child; the worker's run span is a child
// of the gateway's; every stage span is there.

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { CLASSIFIER_ONLY, startGatewayProcess } from '../helpers/gateway-process.ts';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

type ExportedSpan = { service: string; name: string; traceId: string; spanId: string; parentSpanId: string; attributes: Record<string, unknown> };

/** An OTLP/HTTP (JSON) trace collector: POST /v1/traces. */
async function collector(t: { teardown(fn: () => unknown): void }): Promise<{ endpoint: string; spans: ExportedSpan[] }> {
  const spans: ExportedSpan[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = resourceSpans.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue;
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            const attributes = Object.fromEntries((span.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]));
            spans.push({ service, name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', attributes });
          }
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

t.test("a client's traceparent: gateway spans and the worker's run span join its trace", async (t) => {
  const otlp = await collector(t);
  const gateway = await startGatewayProcess(t, {
    replicas: 1,
    config: { ...CLASSIFIER_ONLY },
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  const res = await fetch(`${gateway.origin}/v2/models/classifier/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array(64).fill(0.5) }] }),
  });
  t.equal(res.status, 200);
  await res.arrayBuffer();

  const deadline = Date.now() + 20_000;
  const ofTrace = () => otlp.spans.filter((s) => s.traceId === CLIENT_TRACE);
  while (!(ofTrace().some((s) => s.name === 'worker run') && ofTrace().some((s) => s.name === 'infer')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const spans = ofTrace();
  const infer = spans.find((s) => s.name === 'infer');
  t.ok(infer, 'the gateway exported its infer span in the trace');
  t.equal(infer?.parentSpanId, CLIENT_SPAN, "…as a child of the client's span");
  t.equal(infer?.service, 'infergate-gateway');
  for (const stage of ['receive', 'cache', 'queue', 'batch', 'dispatch', 'encode']) {
    t.equal(spans.find((s) => s.name === stage)?.parentSpanId, infer?.spanId, `${stage} is a child of infer`);
  }
  const run = spans.find((s) => s.name === 'worker run');
  t.ok(run, 'the worker exported its run span in the same trace');
  t.equal(run?.parentSpanId, infer?.spanId, "…as a child of the gateway's infer span");
  t.equal(run?.service, 'infergate-worker');
});
