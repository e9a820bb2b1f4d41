// Which OTEL_* settings switch the trace SDK on: the OpenTelemetry SDK environment variables, read as specified.

import t from 'tap';
import { tracesExporters } from '../../common/tracing.ts';

const cases: Array<[string, NodeJS.ProcessEnv, string[]]> = [
  ['nothing set: no SDK (no-op tracing)', {}, []],
  ['an OTLP endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, ['otlp']],
  ['a traces endpoint', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, ['otlp']],
  ['the exporter named', { OTEL_TRACES_EXPORTER: 'otlp' }, ['otlp']],
  ['two exporters', { OTEL_TRACES_EXPORTER: 'otlp, console' }, ['otlp', 'console']],
  ['exporter none wins over an endpoint', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, []],
  ['SDK disabled', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, []],
  ['SDK disabled, any case', { OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, []],
  ['an exporter this build lacks is ignored', { OTEL_TRACES_EXPORTER: 'zipkin' }, []],
];

for (const [name, env, expected] of cases) t.same(tracesExporters(env), expected, name);
