// Scenario `processes`: what per-process state costs when several gateway
// processes serve one port (server.processes). Each process keeps its own
// least-connections counts, batcher queues and breakers, as NGINX workers do
// without a shared `zone`: it balances only the requests it sees, and
// batches only the rows that reach it.
//
//   batching off: does each process's least-connections still spread the work evenly over the workers?
//   batching on:  how much smaller do batches get when each process batches alone?
//
// The gateway runs once per --gateway-processes count (gateway, gateway-2p)
// and batching setting, all started at once and measured in interleaved
// rounds. Around every run the gateway's GET /metrics is scraped; the
// differences give the work by worker and by process (lib/work-sharing.ts).

import { throughputBars } from '../lib/charts.ts';
import { gatewayLabel } from '../lib/gateway-processes.ts';
import type { SystemSettings } from '../lib/harness.ts';
import { measureInterleaved, type RoundsHarness } from '../lib/interleaved.ts';
import type { BarChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import { formatRate } from '../lib/report-markdown.ts';
import { median, pairedRatios, representativeRuns, roundsOf } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { SystemName } from '../lib/systems.ts';
import { processShares, scrapeMetrics, sharingBetween } from '../lib/work-sharing.ts';

/** Small enough to cost little latency, long enough for a batch to gather rows from several connections. */
const MAX_QUEUE_DELAY_MS = 2;

const CONFIGS = [
  { name: 'batching off', batching: { enabled: false } },
  // maxBatchSize stays at its default (64).
  { name: 'batching on', batching: { enabled: true, maxQueueDelayMs: MAX_QUEUE_DELAY_MS } },
] as const;

const label = (processes: number, config: string): string => `${gatewayLabel(processes)} ${config}`;

const scenario: Scenario = {
  name: 'processes',
  title: 'Processes: what per-process balancing and batching cost (1 vs 2 gateway processes)',
  summary: 'gateway with 1 vs 2 processes, batching off and on, 64 connections, interleaved rounds: work per worker, rows per run, share per process',
  description:
    'The gateway served by one process (`gateway`) and by two (`gateway-2p`, `server.processes: 2`: a leader running the workers and a front), ' +
    `each with dynamic batching off and on (maxQueueDelayMs ${MAX_QUEUE_DELAY_MS}, maxBatchSize 64), over the same number of workers; result cache off, unique bodies, closed loop. ` +
    'Each process keeps its own least-connections counts and batcher queues. All four gateways run at once and are measured in interleaved rounds; ' +
    'figures are medians of the rounds, ratios paired within a round. Around every run the gateway’s `GET /metrics` is scraped and differenced: ' +
    'requests per worker are the rows it ran (`infergate_worker_batch_rows_sum`, one row per request; `infergate_worker_runs_total` counts batches), ' +
    'their max/min and coefficient of variation (standard deviation / mean) say how evenly the work spread; rows per run is rows / runs over all workers; ' +
    'the share per process is `infergate_requests_total` by `process` (the kernel’s SO_REUSEPORT spreads connections, not requests).',
  defaults: { systems: ['gateway'], gatewayProcesses: [1, 2], connections: [64], rounds: 5 },

  async run(h) {
    const o = h.options;
    if (!o.systems.includes('gateway')) return h.note('processes runs against the gateway only: add gateway to --systems');
    const systems: Array<readonly [SystemName, SystemSettings]> = CONFIGS.flatMap((config) =>
      o.gatewayProcesses.map((processes) => ['gateway', { processes, label: label(processes, config.name), gatewayConfig: { batching: config.batching } }] as const),
    );
    const loads = o.connections.map((connections): LoadSpec => ({ mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }));
    // The harness's measure, with a scrape of GET /metrics on either side: the scrapes stay outside the measured window.
    const scraping: RoundsHarness = {
      withSystems: (s, fn) => h.withSystems(s, fn),
      measure: async (target, load, extras) => {
        const before = await scrapeMetrics(target.system.origin, h.signal);
        const run = await h.measure(target, load, extras);
        run.sharing = sharingBetween(before, await scrapeMetrics(target.system.origin, h.signal), target.model);
        return run;
      },
      get aborted() {
        return h.aborted;
      },
    };
    await measureInterleaved(scraping, systems, loads, o.rounds);
  },

  present(report) {
    const runs = report.runs.filter((r) => !r.failure && r.sharing);
    const systems = [...new Set(runs.map((r) => r.system))];
    const loads = [...new Set(runs.map((r) => r.load.connections))];
    const perRun = ['| run | req/s | p99 ms | gateway µs/req | requests per worker | max/min | CV | rows/run | share by process |', '|---|--:|--:|--:|---|--:|--:|--:|---|'];
    for (const r of runs) perRun.push(`| ${r.system} · ${r.load.connections} conn${r.round === undefined ? '' : ` · round ${r.round}`} | ${cells(r).join(' | ')} |`);
    const medians = ['| system | conn | rounds | req/s | p99 ms | gateway µs/req | max/min | CV | rows/run | share by process |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|'];
    const highlights: string[] = [];
    for (const connections of loads) {
      for (const system of systems) {
        const rounds = roundsOf(runs, system, connections);
        if (rounds.length === 0) continue;
        const m = mediansOf(rounds);
        medians.push(`| ${system} | ${connections} | ${rounds.length} | ${formatRate(m.rps)} | ${m.p99Ms.toFixed(2)} | ${us(m.gatewayUs)} | ${fixed(m.maxMin, 3)} | ${fixed(m.cv, 3)} | ${fixed(m.rowsPerRun, 2)} | ${m.shares} |`);
      }
      for (const config of CONFIGS) highlights.push(...comparison(runs, config.name, connections));
    }
    const chosen = representativeRuns(runs);
    const category = (r: RunRecord): string => `${r.load.connections} conn`;
    const subtitle = `${report.config.model}, ${report.config.replicas} workers, closed loop`;
    return {
      highlights,
      charts: [
        throughputBars(chosen, { file: 'throughput.svg', title: 'Throughput by process count and batching', subtitle: `${subtitle}, median round`, xLabel: 'load', category }),
        sharingBars(runs, loads, systems, `${subtitle}, median of the rounds`),
      ],
      sections: [`**Medians of the rounds**\n\n${medians.join('\n')}`, `**Every run** (requests per worker: rows each worker ran)\n\n${perRun.join('\n')}`],
    };
  },
};

type Medians = { rps: number; p99Ms: number; gatewayUs: number | null; maxMin: number | null; cv: number; rowsPerRun: number; shares: string };

function mediansOf(rounds: readonly RunRecord[]): Medians {
  const of = (value: (r: RunRecord) => number | null | undefined): number | null => {
    const values = rounds.map(value).filter((v): v is number => v !== null && v !== undefined);
    return values.length > 0 ? median(values) : null;
  };
  // Each process's median share; the processes are the same in every round.
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.sharing!.processes)))];
  const shares = names.map((p) => `${p} ${percent(of((r) => processShares(r.sharing!).find((s) => s.process === p)?.share) ?? 0)}`).join(' · ');
  return {
    rps: of((r) => r.summary.responsesPerS)!,
    p99Ms: of((r) => r.summary.latency.p99Ms)!,
    gatewayUs: of((r) => r.cpu?.usPerRequest.gateway),
    maxMin: of((r) => r.sharing!.rowsMaxMin),
    cv: of((r) => r.sharing!.rowsCv)!,
    rowsPerRun: of((r) => r.sharing!.rowsPerRun)!,
    shares,
  };
}

/** One config at one load: each process count against one process, medians and the paired req/s ratio. */
function comparison(runs: readonly RunRecord[], config: string, connections: number): string[] {
  const one = roundsOf(runs, label(1, config), connections);
  if (one.length === 0) return [];
  const m1 = mediansOf(one);
  const lines: string[] = [];
  for (const system of [...new Set(runs.map((r) => r.system))].filter((s) => s.endsWith(` ${config}`) && s !== label(1, config))) {
    const other = roundsOf(runs, system, connections);
    if (other.length === 0) continue;
    const m = mediansOf(other);
    const ratios = pairedRatios(other, one);
    const paired = ratios.length > 0 ? ` (paired ${median(ratios).toFixed(2)}×)` : '';
    lines.push(
      `**${config}, ${connections} conn**: ${system} vs ${label(1, config)}: req/s ${formatRate(m.rps)} vs ${formatRate(m1.rps)}${paired}, ` +
        `p99 ${m.p99Ms.toFixed(2)} vs ${m1.p99Ms.toFixed(2)} ms, gateway ${us(m.gatewayUs)} vs ${us(m1.gatewayUs)} µs/req; ` +
        `workers max/min ${fixed(m.maxMin, 3)} vs ${fixed(m1.maxMin, 3)}, CV ${fixed(m.cv, 3)} vs ${fixed(m1.cv, 3)}; rows/run ${fixed(m.rowsPerRun, 2)} vs ${fixed(m1.rowsPerRun, 2)}; ` +
        `share by process ${m.shares}`,
    );
  }
  return lines;
}

/** A run's cells in the per-run table. */
function cells(r: RunRecord): string[] {
  const s = r.sharing!;
  const workers = Object.entries(s.workers).map(([id, w]) => `${id} ${w.rows}`).join(' · ');
  const shares = processShares(s).map((p) => `${p.process} ${percent(p.share)}`).join(' · ');
  return [formatRate(r.summary.responsesPerS), r.summary.latency.p99Ms.toFixed(2), us(r.cpu?.usPerRequest.gateway ?? null), workers, fixed(s.rowsMaxMin, 3), fixed(s.rowsCv, 3), fixed(s.rowsPerRun, 2), shares];
}

/** Median rows per worker run by system: the batch size each process count reaches. */
function sharingBars(runs: readonly RunRecord[], loads: readonly number[], systems: readonly string[], subtitle: string): BarChartSpec {
  return {
    kind: 'bars',
    file: 'rows-per-run.svg',
    title: 'Rows per worker run (batch size)',
    subtitle,
    xLabel: 'load',
    yLabel: 'rows per run (median of rounds)',
    categories: loads.map((c) => `${c} conn`),
    series: systems.map((system) => ({
      name: system,
      values: loads.map((c) => {
        const rounds = roundsOf(runs, system, c);
        return rounds.length > 0 ? Number(median(rounds.map((r) => r.sharing!.rowsPerRun)).toFixed(2)) : null;
      }),
    })),
  };
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function us(value: number | null): string {
  if (value === null) return '—';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

export default scenario;
