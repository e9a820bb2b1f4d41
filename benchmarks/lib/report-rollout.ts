// The report of the `rollout` scenario: its summary lines, the chart of
// answers by version per second, and the per-second table with the rollout's
// state as sampled.

import type { EventTimeline, LineChartSpec, RunRecord, VersionSecond } from './results.ts';

/** A candidate the scenario rolls out: the bad one first, then the good one. */
export type Candidate = { version: string; seed: number; kind: 'bad' | 'good' };

/** The summary lines: each candidate's outcome and how long it took, failed requests, answers after the promotion. */
export function rolloutHighlights(run: RunRecord, candidates: readonly Candidate[]): string[] {
  const [bad, good] = candidates as [Candidate, Candidate];
  const { seconds, events, versions = [] } = run.eventTimeline!;
  const of = (version: string, kind: string) => events.find((e) => e.kind === kind && e.label.startsWith(`v${version} `));
  const answered = (version: string, from = 0) => versions.filter((s) => s.second >= from).reduce((n, s) => n + (s.answers[version] ?? 0), 0);
  const lines: string[] = [];
  const unfinished: string[] = [];
  for (const { version, seed, kind } of candidates) {
    const name = `${kind} candidate ${version} (seed ${seed} weights)`;
    const posted = of(version, 'post');
    const ended = of(version, 'promoted') ?? of(version, 'rolled-back');
    if (!posted) unfinished.push(`${name} was never POSTed`);
    else if (posted.skipped) lines.push(`${name}: the POST was refused (${posted.skipped})`);
    else if (!ended) unfinished.push(`${name} was still running (${lastState(versions, version)}) ${(seconds.length - posted.atS).toFixed(1)} s after its POST`);
    else {
      const reason = of(version, 'rolling-back')?.label.replace(/^v\S+ rolling back: /, '');
      lines.push(`${name}: ${ended.kind.replace('-', ' ')} ${(ended.atS - posted.atS).toFixed(1)} s after its POST at ${posted.atS.toFixed(1)} s${reason ? ` — ${reason}` : ''}`);
    }
  }
  if (unfinished.length > 0) lines.push(`the run ended before both rollouts did: ${unfinished.join('; ')} (run longer: --duration)`);
  const failed = seconds.reduce((n, s) => n + s.failed, 0);
  lines.push(`failed client requests: ${failed} (target 0); answered by the bad candidate ${bad.version}: ${answered(bad.version)} (live canary answers before its rollback)`);
  const promoted = of(good.version, 'promoted');
  if (promoted) {
    const from = Math.ceil(promoted.atS);
    const total = versions.filter((s) => s.second >= from).reduce((n, s) => n + Object.values(s.answers).reduce((a, b) => a + b, 0), 0);
    const byGood = answered(good.version, from);
    lines.push(
      total === 0
        ? `after the promotion of ${good.version}: no whole second of answers left in the run`
        : `after the promotion (seconds ${from}–${versions.length - 1}): ${byGood} of ${total} 2xx answers (${((100 * byGood) / total).toFixed(1)} %) came from version ${good.version}`,
    );
  }
  return lines;
}

function lastState(versions: readonly VersionSecond[], candidate: string): string {
  const r = [...versions].reverse().find((s) => s.rollout?.candidate === candidate)?.rollout;
  return r ? stateText(r) : 'not yet sampled';
}

function stateText(r: NonNullable<VersionSecond['rollout']>): string {
  return r.state === 'canary' ? `canary ${r.percent} %` : r.state;
}

/** The run with a rollback's reason cut at its first colon ("v3 rolling back: gate agreement failed"). */
export function shortLabels(run: RunRecord): RunRecord {
  const timeline = run.eventTimeline!;
  const events = timeline.events.map((e) => ({ ...e, label: /^(v\S+ rolling back: [^:]+)/.exec(e.label)?.[1] ?? e.label }));
  return { ...run, eventTimeline: { ...timeline, events } };
}

/** 2xx answers per second by the version that gave them, and the offered rate. */
export function versionChart(run: RunRecord, file: string, stable: string): LineChartSpec {
  const versions = run.eventTimeline?.versions ?? [];
  const names = versionNames(versions, stable);
  const points = (y: (s: VersionSecond) => number) => versions.map((s) => ({ x: s.second, y: y(s) }));
  return {
    kind: 'line',
    file,
    title: `Answers by model version: ${run.system}`,
    subtitle: `2xx answers per second by their model_version (version ${stable} is the stable one until a promotion), and the offered rate`,
    xLabel: 'seconds since the load started',
    yLabel: 'answers / s',
    series: [
      ...names.map((v) => ({ name: `version ${v}`, style: 'solid' as const, points: points((s) => s.answers[v] ?? 0) })),
      { name: 'offered/s', style: 'dotted' as const, points: points((s) => s.offeredPerS) },
    ],
  };
}

function versionNames(versions: readonly VersionSecond[], stable: string): string[] {
  return [...new Set([stable, ...versions.flatMap((s) => Object.keys(s.answers))])].sort((a, b) => Number(a) - Number(b));
}

export function rolloutTable(timeline: EventTimeline, stable: string): string {
  const versions = timeline.versions ?? [];
  const names = versionNames(versions, stable);
  const rows = [
    `| s | offered/s | due | 2xx | ${names.map((v) => `v${v}`).join(' | ')} | candidate share | failed | p50 ms | p99 ms | rollout | events |`,
    `|--:|--:|--:|--:|${names.map(() => '--:|').join('')}--:|--:|--:|--:|---|---|`,
  ];
  for (const s of timeline.seconds) {
    const v = versions[s.second];
    const total = v ? Object.values(v.answers).reduce((a, b) => a + b, 0) : 0;
    const candidate = v?.rollout && total > 0 ? `${((100 * (v.answers[v.rollout.candidate] ?? 0)) / total).toFixed(0)} %` : '—';
    const events = timeline.events.filter((e) => Math.floor(e.atS) === s.second).map((e) => `${e.label}${e.skipped ? ` (skipped: ${e.skipped})` : ''} (${e.atS.toFixed(1)} s)`);
    const failed = s.failed === 0 ? '0' : `${s.failed} (${Object.entries(s.failures).map(([k, n]) => `${k} ×${n}`).join(', ')})`;
    rows.push(
      `| ${s.second} | ${v?.offeredPerS ?? '—'} | ${s.sent} | ${s.ok} | ${names.map((n) => v?.answers[n] ?? 0).join(' | ')} | ${candidate} | ${failed} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ` +
        `${v?.rollout ? `v${v.rollout.candidate} ${stateText(v.rollout)}` : '—'} | ${events.join('; ').replaceAll('|', '\\|')} |`,
    );
  }
  return rows.join('\n');
}

function ms(v: number | null): string {
  return v === null ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(0);
}
