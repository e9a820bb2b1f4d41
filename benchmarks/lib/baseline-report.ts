// Gateway vs baseline (the gateway from an earlier checkout, --baseline), from
// runs repeated in interleaved rounds: per model and load, each one's median
// req/s and median CPU per answered request of the gateway process alone
// (cpu.ts role `gateway`; its workers are the role `workers`), and the
// gateway/baseline ratios paired within each round (rounds.ts) before their
// median. A change "costs no speed" when the CPU ratio is within +3 %.
//
//   runs ──▶ compareWithBaseline ──▶ BaselineComparison[] ──▶ comparisonTable / comparisonHighlight

import { formatRate, loadLabel } from './report-markdown.ts';
import type { LoadSpec, RunRecord } from './results.ts';
import { median, pairedRatiosOf } from './rounds.ts';

/** The gateway's CPU per request may exceed the baseline's by this share and still count as no loss. */
export const NO_LOSS_TOLERANCE = 0.03;

/** One side's completed runs at one model and load, in round order, with their medians. */
export type SideRounds = {
  system: string;
  runs: RunRecord[];
  medianPerS: number;
  /** Median gateway-process CPU µs per answered request; null when no run recorded CPU (no /proc). */
  medianGatewayUs: number | null;
};

export type BaselineComparison = {
  model: string | undefined;
  load: LoadSpec;
  candidate: SideRounds;
  baseline: SideRounds;
  /** candidate / baseline gateway CPU per request within each round both have it, and their median (null: none). */
  cpuRatios: number[];
  cpuRatio: number | null;
  /** candidate / baseline req/s within each round both completed, and their median. */
  rateRatios: number[];
  rateRatio: number | null;
};

/** The gateway process's own CPU per answered request in µs (undefined where /proc was not readable). */
export function gatewayUsPerRequest(run: RunRecord): number | undefined {
  return run.cpu?.usPerRequest.gateway;
}

/** One comparison per model and load that both systems completed at least once, in the order the runs were recorded. */
export function compareWithBaseline(runs: readonly RunRecord[], candidate: string, baseline: string): BaselineComparison[] {
  const keyOf = (r: RunRecord): string => JSON.stringify([r.model ?? null, r.load]);
  const groups = new Map<string, { model: string | undefined; load: LoadSpec }>();
  for (const r of runs) if (r.system === candidate || r.system === baseline) groups.set(keyOf(r), { model: r.model, load: r.load });
  const comparisons: BaselineComparison[] = [];
  for (const [key, { model, load }] of groups) {
    const side = (system: string): SideRounds => {
      const own = runs.filter((r) => r.system === system && !r.failure && keyOf(r) === key).sort((a, b) => (a.round ?? 0) - (b.round ?? 0));
      const cpu = own.map(gatewayUsPerRequest).filter((us): us is number => us !== undefined);
      return { system, runs: own, medianPerS: median(own.map((r) => r.summary.responsesPerS)), medianGatewayUs: cpu.length > 0 ? median(cpu) : null };
    };
    const a = side(candidate);
    const b = side(baseline);
    if (a.runs.length === 0 || b.runs.length === 0) continue;
    const cpuRatios = pairedRatiosOf(a.runs, b.runs, gatewayUsPerRequest);
    const rateRatios = pairedRatiosOf(a.runs, b.runs, (r) => r.summary.responsesPerS);
    comparisons.push({
      model,
      load,
      candidate: a,
      baseline: b,
      cpuRatios,
      cpuRatio: cpuRatios.length > 0 ? median(cpuRatios) : null,
      rateRatios,
      rateRatio: rateRatios.length > 0 ? median(rateRatios) : null,
    });
  }
  return comparisons;
}

/** "no loss (≤ +3 %)" or "loss: +4.1 % (> +3 %)" for a candidate/baseline CPU-per-request ratio. */
export function verdict(cpuRatio: number | null, tolerance = NO_LOSS_TOLERANCE): string {
  if (cpuRatio === null) return 'no CPU figures (needs /proc)';
  const bound = `+${percent(tolerance)}`;
  return cpuRatio <= 1 + tolerance ? `no loss (≤ ${bound})` : `loss: ${signedPercent(cpuRatio - 1)} (> ${bound})`;
}

/** A highlight line: the two CPU figures, their paired ratio and the verdict, then throughput. `what` names a variant (e.g. "batching on"). */
export function comparisonHighlight(c: BaselineComparison, what?: string): string {
  const title = [c.model, what, loadLabel(c.load)].filter(Boolean).join(', ');
  const parts = [
    `gateway-process CPU per request ${us(c.candidate.medianGatewayUs)} µs (${c.candidate.system}) vs ${us(c.baseline.medianGatewayUs)} µs (${c.baseline.system})`,
    c.cpuRatio === null
      ? verdict(null)
      : `paired ratio ${ratio(c.cpuRatio)} (${signedPercent(c.cpuRatio - 1)}; median of ${c.cpuRatios.length} rounds: ${c.cpuRatios.map(ratio).join(', ')}): ${verdict(c.cpuRatio)}`,
    `req/s ${formatRate(c.candidate.medianPerS)} vs ${formatRate(c.baseline.medianPerS)}${c.rateRatio === null ? '' : ` (paired ${ratio(c.rateRatio)})`}`,
  ];
  return `**${title}**: ${parts.join('; ')}`;
}

/** A Markdown table: per model and load, a row per side and one of their paired ratios. */
export function comparisonTable(comparisons: readonly BaselineComparison[]): string {
  const rows = [
    '| model | load | system | median req/s | median gateway CPU µs/req | req/s by round | gateway CPU µs/req by round |',
    '|---|---|---|--:|--:|---|---|',
  ];
  for (const c of comparisons) {
    const lead = `| ${c.model ?? ''} | ${loadLabel(c.load)} |`;
    for (const s of [c.candidate, c.baseline]) {
      const byRound = s.runs.map((r) => us(gatewayUsPerRequest(r) ?? null)).join(', ');
      rows.push(`${lead} ${s.system} | ${formatRate(s.medianPerS)} | ${us(s.medianGatewayUs)} | ${s.runs.map((r) => formatRate(r.summary.responsesPerS)).join(', ')} | ${byRound} |`);
    }
    const paired = (value: number | null, values: number[]): string[] => [value === null ? '—' : ratio(value), values.map(ratio).join(', ')];
    const [rate, ratesByRound] = paired(c.rateRatio, c.rateRatios);
    const [cpu, cpuByRound] = paired(c.cpuRatio, c.cpuRatios);
    rows.push(`${lead} ${c.candidate.system} / ${c.baseline.system}, paired by round | ${rate} | ${cpu} | ${ratesByRound} | ${cpuByRound} |`);
  }
  return rows.join('\n');
}

/** The report section: a heading line, the table, and how to read it. */
export function comparisonSection(comparisons: readonly BaselineComparison[]): string {
  const rounds = Math.max(...comparisons.map((c) => Math.max(c.candidate.runs.length, c.baseline.runs.length)));
  return [
    `**Gateway vs baseline** (medians of ${rounds} interleaved round${rounds === 1 ? '' : 's'}; gateway CPU is the gateway process alone, not its workers)`,
    '',
    comparisonTable(comparisons),
    '',
    `A ratio row divides the two sides within each round before taking the median; CPU per request within +${percent(NO_LOSS_TOLERANCE)} of the baseline counts as no loss.`,
  ].join('\n');
}

function us(value: number | null): string {
  if (value === null) return '—';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

function ratio(value: number): string {
  return `${value.toFixed(3)}×`;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(2))} %`;
}

function signedPercent(share: number): string {
  return `${share >= 0 ? '+' : '−'}${percent(Math.abs(share))}`;
}
