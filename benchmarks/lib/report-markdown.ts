// Presentation: a ScenarioReport → Markdown (the results folder's report.md,
// the terminal summary, and sections of docs/benchmarks.md). Numbers are
// rounded for reading; results.json keeps them whole.

import type { CapacityRecord, LoadSpec, RunRecord, ScenarioReport } from './results.ts';

export type MarkdownOptions = {
  /** Heading level of the report's title (docs/benchmarks.md nests reports). */
  headingLevel?: number;
  /** Prefix for chart image links (relative path from the Markdown file to the results folder). */
  chartPrefix?: string;
  /** Leave out chart images (terminal output). */
  charts?: boolean;
};

export function renderMarkdown(report: ScenarioReport, options: MarkdownOptions = {}): string {
  const h = '#'.repeat(options.headingLevel ?? 1);
  const m = report.machine;
  const commit = m.gitCommit ? `${m.gitCommit.slice(0, 10)}${m.gitDirty ? ' (with uncommitted changes)' : ''}` : 'unknown';
  const lines = [
    `${h} ${report.title}`,
    '',
    report.description,
    '',
    `Run ${report.startedAt.replace('T', ' ').slice(0, 19)} UTC · ${m.cores} × ${m.cpuModel} · ${m.memoryGiB} GiB · Node ${m.node} · load average ${m.loadAverage.join(' / ')} at start · commit ${commit}`,
    '',
    `Settings: ${configLine(report)}`,
    '',
  ];
  if (report.runs.length > 0) lines.push(runsTable(report.runs), '');
  if (report.runs.some((r) => r.cpu)) lines.push('CPU per answered request, by process role (share of one core in brackets):', '', cpuTable(report.runs), '');
  if (report.capacities.length > 0) lines.push(capacityTable(report.capacities), '');
  if (report.highlights.length > 0) lines.push(...report.highlights.map((l) => `- ${l}`), '');
  for (const section of report.sections ?? []) lines.push(section.trimEnd(), '');
  if (report.notes.length > 0) lines.push(...report.notes.map((n) => `> ${n}  `), '');
  if (options.charts !== false) {
    for (const chart of report.charts) lines.push(`![${chart.title}](${options.chartPrefix ?? ''}${chart.file})`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export function loadLabel(load: LoadSpec): string {
  return load.mode === 'closed'
    ? `closed, ${load.connections} conn${load.pipelining > 1 ? ` × ${load.pipelining} pipelined` : ''}`
    : `open, ${formatRate(load.ratePerS)}/s ${load.arrivals}, ${load.connections} conn`;
}

export function runsTable(runs: readonly RunRecord[]): string {
  const rows = [
    '| system | workers | load | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | non-2xx | MB/s read |',
    '|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of runs) {
    const s = r.summary;
    const l = s.latency;
    if (r.failure && s.responses + s.errors === 0) {
      rows.push(`| ${runName(r)} | ${r.replicas} | ${loadLabel(r.load)} | failed: ${oneLine(r.failure)} | | | | | | | | |`);
      continue;
    }
    const errors = s.errors === 0 ? '0' : `${s.errors} (${Object.entries(s.errorKinds).map(([k, v]) => `${k} ${v}`).join(', ')})`;
    const non2xx = s.non2xx === 0 ? '0' : `${s.non2xx} (${Object.entries(s.statusCodes).filter(([c]) => !c.startsWith('2')).map(([c, v]) => `${c}×${v}`).join(', ')})`;
    rows.push(
      `| ${runName(r)}${r.failure ? ' ⚠' : ''} | ${r.replicas} | ${loadLabel(r.load)} | ${formatRate(s.responsesPerS)} | ${ms(l.p50Ms)} | ${ms(l.p90Ms)} | ${ms(l.p99Ms)} | ${ms(l.p999Ms)} | ${ms(l.maxMs)} | ${errors} | ${non2xx} | ${(s.bytesPerS / 1e6).toFixed(2)} |`,
    );
  }
  return rows.join('\n');
}

const ROLE_ORDER = ['load generator', 'gateway', 'nginx', 'workers', 'hello'];

export function cpuTable(runs: readonly RunRecord[]): string {
  const withCpu = runs.filter((r) => r.cpu && r.summary.responses > 0);
  const seen = new Set(withCpu.flatMap((r) => Object.keys(r.cpu!.usPerRequest)));
  const roles = [...ROLE_ORDER.filter((r) => seen.has(r)), ...[...seen].filter((r) => !ROLE_ORDER.includes(r))];
  const others = withCpu.some((r) => r.cpu!.otherPercentOfCore !== undefined);
  const rows = [
    `| system | load | ${roles.map((r) => `${r} µs/req`).join(' | ')} |${others ? ' other processes |' : ''}`,
    `|---|---|${roles.map(() => '--:').join('|')}|${others ? '--:|' : ''}`,
  ];
  for (const r of withCpu) {
    const cells = roles.map((role) => {
      const us = r.cpu!.usPerRequest[role];
      return us === undefined ? '' : `${us >= 100 ? Math.round(us) : us.toFixed(1)} (${Math.round(r.cpu!.percentOfCore[role] ?? 0)}%)`;
    });
    if (others) cells.push(r.cpu!.otherPercentOfCore === undefined ? '' : `(${Math.round(r.cpu!.otherPercentOfCore)}%)`);
    rows.push(`| ${runName(r)} | ${loadLabel(r.load)} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

export function capacityTable(capacities: readonly CapacityRecord[]): string {
  const rows = ['| system | workers | capacity req/s | SLO | bracket (pass / fail) | probes | stopped because |', '|---|--:|--:|---|---|--:|---|'];
  for (const c of capacities) {
    const bracket = `${formatRate(c.bracket[0])} / ${c.bracket[1] === null ? '—' : formatRate(c.bracket[1])}`;
    const capacity = c.failure ? `failed: ${oneLine(c.failure)}` : formatRate(c.capacityPerS);
    rows.push(`| ${c.system} | ${c.replicas} | ${capacity} | p99 ≤ ${c.sloP99Ms} ms, errors ≤ ${c.maxErrorRate * 100}% | ${bracket} | ${c.probes.length} | ${oneLine(c.reason)} |`);
  }
  return rows.join('\n');
}

/** The line the issue asks for, one per system. */
export function capacityLine(c: CapacityRecord): string {
  return `${c.system} ×${c.replicas}: capacity ${formatRate(c.capacityPerS)} req/s at p99 ≤ ${c.sloP99Ms} ms`;
}

const COMMON_SETTINGS = ['model', 'rows', 'inputs', 'replicas', 'durationS', 'amount', 'warmupS', 'pipelining', 'timeoutMs', 'seed', 'gatewayConfig'];
const OPEN_LOOP_SETTINGS = ['arrivals', 'openConnections'];
const CAPACITY_SETTINGS = ['sloP99Ms', 'maxErrorRate', 'startRatePerS', 'maxRatePerS', 'precision', 'maxProbes', 'confirmFailures', 'probeDurationS'];

/** The settings that shaped this report's numbers (results.json has them all). */
function configLine(report: ScenarioReport): string {
  const keys = [...COMMON_SETTINGS];
  if (report.capacities.length > 0 || report.runs.some((r) => r.load.mode === 'open')) keys.push(...OPEN_LOOP_SETTINGS);
  if (report.capacities.length > 0) keys.push(...CAPACITY_SETTINGS);
  if (report.runs.some((r) => r.body.format === 'grpc-raw')) keys.push('grpcCallsPerChannel');
  return keys
    .filter((k) => report.config[k] !== undefined)
    .map((k) => `${k} ${typeof report.config[k] === 'object' ? `\`${JSON.stringify(report.config[k])}\`` : String(report.config[k])}`)
    .join(' · ');
}

export function formatRate(n: number): string {
  return n >= 100 ? String(Math.round(n)) : String(Number(n.toFixed(1)));
}

function ms(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\|/g, '\\|').slice(0, 160);
}

/** A run's name in tables: its system, and its round when the scenario repeats runs. */
function runName(run: RunRecord): string {
  return run.round === undefined ? run.system : `${run.system} · round ${run.round}`;
}
