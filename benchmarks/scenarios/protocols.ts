// Scenario `protocols`: one inference by the three ways a KServe v2 client
// can call the gateway — REST JSON, REST with the binary tensor extension,
// gRPC with raw contents — on the small classifier and the heavy model,
// against one gateway process per model (batching and cache off, so every
// request is one inference on one worker and only the front differs).
//
//   gateway (REST + gRPC on a free port) ──▶ 2 workers
//     ▲ REST JSON      autocannon / undici
//     ▲ REST binary    autocannon / undici, binary inputs and outputs
//     ▲ gRPC raw       grpc-js (grpc-loop.ts), raw_input_contents in, raw_output_contents out
//
// The three are measured in interleaved rounds against the same process
// (every protocol at 16 connections, then at 64, their order rotating each
// round: rounds.ts), so a drift of the machine's speed weighs on all alike;
// figures are medians of the rounds, and each ratio to REST JSON is taken
// within a round before its median.

import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { BodyFormat } from '../lib/bodies.ts';
import type { Target } from '../lib/harness.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { ChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import { median, medianOf, medianRun, pairedRatiosOf, roundPlan, roundsOf, times, us } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';

const MODELS = ['classifier', 'heavy'] as const;
const PROTOCOLS: ReadonlyArray<{ name: string; format: BodyFormat }> = [
  { name: 'REST JSON', format: 'json' },
  { name: 'REST binary', format: 'kserve-binary' },
  { name: 'gRPC raw', format: 'grpc-raw' },
];
const BASE = 'REST JSON';
/** The expectation: gRPC with raw contents beats REST JSON on this model. */
const EXPECTED_WIN = { protocol: 'gRPC raw', model: 'heavy' } as const;

const label = (model: string, protocol: string): string => `${model} ${protocol}`;

const scenario: Scenario = {
  name: 'protocols',
  title: 'Protocols: REST JSON vs REST binary vs gRPC, classifier and heavy',
  summary: 'REST JSON vs REST binary vs gRPC raw against one gateway per model, classifier and heavy, 16 and 64 connections (batching and cache off), interleaved rounds',
  description:
    'The same inference against one gateway process per model, by KServe v2 REST JSON, REST with the binary tensor extension ' +
    '(`Inference-Header-Content-Length`, inputs raw and every output asked back binary) and KServe v2 gRPC `ModelInfer` with ' +
    '`raw_input_contents` (answers in `raw_output_contents`). Dynamic batching and the result cache are off and bodies are unique, so every ' +
    'request is one inference on one of 2 workers and only the front differs. Closed loop unless `--rate` asks for an open loop: ' +
    'REST by autocannon (open loop: undici), gRPC by a grpc-js loop with the same accounting (latency from the send, or from the intended ' +
    'send time in open loop; a non-OK status counts as a non-2xx answer, recorded under its HTTP equivalent; no status at all as an error). ' +
    'For gRPC, N connections are N concurrent calls spread over ceil(N / k) channels, each its own HTTP/2 connection, ' +
    'k = `--grpc-calls-per-channel` (8 unless said otherwise below): grpc-js multiplexes calls on a connection, where an HTTP/1.1 client ' +
    'holds one connection per request in flight. ' +
    'Neither generator decodes answers (autocannon counts bytes; the gRPC loop sends pre-encoded requests and keeps answers as bytes). ' +
    'The three protocols run in interleaved rounds against the same process; figures are medians of the rounds, ratios to REST JSON are ' +
    'paired within each round. Gateway CPU per request is the gateway process\'s (cpu.ts), workers apart. Load generator and systems share the machine’s cores.',
  defaults: { systems: ['gateway'], connections: [16, 64], rounds: 3, durationS: 8 },

  async run(h) {
    const o = h.options;
    const loads = o.connections.map((connections): LoadSpec =>
      o.ratePerS === undefined
        ? { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }
        : { mode: 'open', ratePerS: o.ratePerS, arrivals: o.arrivals, connections, durationS: o.durationS },
    );
    const gatewayConfig = { cache: { enabled: false }, batching: { enabled: false } };
    for (const model of MODELS) {
      await h.withSystem('gateway', { model, grpc: true, gatewayConfig, label: label(model, BASE) }, async (json) => {
        const targets: Target[] = [json];
        for (const p of PROTOCOLS.slice(1)) targets.push(await h.variant(json, { format: p.format, label: label(model, p.name) }));
        for (const step of roundPlan(o.rounds, loads.length, targets.length)) {
          await h.measure(targets[step.system]!, loads[step.load]!, { round: step.round });
          if (h.aborted) return;
        }
      });
      if (h.aborted) return;
    }
  },

  present(report) {
    const highlights: string[] = [];
    const medians = ['| model | protocol | connections | req/s | p99 ms | gateway µs/req | workers µs/req | load generator µs/req | req/s by round |', '|---|---|--:|--:|--:|--:|--:|--:|---|'];
    const ratios = ['| model | connections | protocol vs REST JSON | req/s × | p99 × | gateway µs/req × | rounds paired |', '|---|--:|---|--:|--:|--:|--:|'];
    const medianRuns: RunRecord[] = [];
    for (const model of MODELS) {
      for (const connections of [...new Set(report.runs.filter((r) => r.model === model).map((r) => r.load.connections))]) {
        const rounds = (protocol: string): RunRecord[] => roundsOf(report.runs, label(model, protocol), connections);
        for (const p of PROTOCOLS) {
          const runs = rounds(p.name);
          if (runs.length === 0) continue;
          medianRuns.push(medianRun(runs)!);
          const cells = [
            formatRate(median(runs.map((r) => r.summary.responsesPerS))),
            median(runs.map((r) => r.summary.latency.p99Ms)).toFixed(2),
            us(medianOf(runs, (r) => r.cpu?.usPerRequest.gateway)),
            us(medianOf(runs, (r) => r.cpu?.usPerRequest.workers)),
            us(medianOf(runs, (r) => r.cpu?.usPerRequest['load generator'])),
            runs.map((r) => formatRate(r.summary.responsesPerS)).join(', '),
          ];
          medians.push(`| ${model} | ${p.name} | ${connections} | ${cells.join(' | ')} |`);
        }
        const base = rounds(BASE);
        const parts: string[] = [];
        for (const p of PROTOCOLS.filter((x) => x.name !== BASE)) {
          const other = rounds(p.name);
          const rate = pairedRatiosOf(other, base, (r) => r.summary.responsesPerS);
          if (rate.length === 0) continue;
          const p99 = pairedRatiosOf(other, base, (r) => r.summary.latency.p99Ms);
          const cpu = pairedRatiosOf(other, base, (r) => r.cpu?.usPerRequest.gateway);
          ratios.push(`| ${model} | ${connections} | ${p.name} | ${times(rate)} | ${times(p99)} | ${times(cpu)} | ${rate.length} |`);
          parts.push(`${p.name}/${BASE} req/s ${times(rate)} (rounds ${rate.map((x) => x.toFixed(2)).join(', ')}), p99 ${times(p99)}, gateway CPU/req ${times(cpu)}`);
          if (p.name === EXPECTED_WIN.protocol && model === EXPECTED_WIN.model) {
            const wins = rate.filter((x) => x > 1).length;
            parts.push(`expected ${p.name} to beat ${BASE} here: ${median(rate) > 1 ? 'it does' : 'it does not'} (faster in ${wins} of ${rate.length} rounds)`);
          }
        }
        if (parts.length > 0) highlights.push(`**${model}, ${connections} conn**: ${parts.join('; ')}`);
      }
    }
    const perChannel = report.config.grpcCallsPerChannel;
    if (typeof perChannel === 'number') highlights.push(`gRPC: ${perChannel} calls in flight per channel (one HTTP/2 connection each)`);
    const category = (r: RunRecord): string => `${r.load.connections} conn`;
    const charts: ChartSpec[] = MODELS.map((model) =>
      throughputBars(medianRuns.filter((r) => r.model === model), { file: `throughput-${model}.svg`, title: `Throughput by protocol, ${model} (median round)`, subtitle: 'one gateway process, batching and cache off', xLabel: 'load', category }),
    );
    charts.push(latencyVsThroughput(medianRuns, 'latency-vs-throughput.svg', 'median round of each protocol, model and load'));
    const sections = [`**Medians of the rounds**\n\n${medians.join('\n')}`, `**Paired ratios to REST JSON** (median of the per-round ratios)\n\n${ratios.join('\n')}`];
    return { highlights, charts, sections };
  },
};

export default scenario;
