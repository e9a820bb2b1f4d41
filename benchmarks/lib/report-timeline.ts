// Presentation of event timelines (chaos runs): a run's per-second table,
// its highlights (totals, worst second, time to recover after each event,
// the drain) and its chart spec — all from the recorded RunRecord alone.

import { baselineP99, p99Threshold, recoveries, type Recovery } from './recovery.ts';
import { formatRate } from './report-markdown.ts';
import type { EventTimeline, RunRecord, TimelineChartSpec, TimelineEvent, TimelineSecond } from './results.ts';

/** Events after which the system is expected to come back (a SIGTERMed gateway is not). */
const NOT_RECOVERABLE = new Set(['sigterm']);

export function timelineTable(timeline: EventTimeline): string {
  const rows = ['| s | due | 2xx | failed | shed | p50 ms | p99 ms | events |', '|--:|--:|--:|---|--:|--:|--:|---|'];
  for (const s of timeline.seconds) {
    const events = timeline.events.filter((e) => Math.floor(e.atS) === s.second).map((e) => `${eventText(e)} (${e.atS.toFixed(1)} s)`);
    rows.push(`| ${s.second} | ${s.sent} | ${s.ok} | ${failures(s)} | ${s.shed} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${events.join('; ')} |`);
  }
  return rows.join('\n');
}

export function timelineHighlights(run: RunRecord): string[] {
  const timeline = run.eventTimeline;
  if (!timeline) return [];
  const { seconds, events, drain } = timeline;
  const sum = (f: (s: TimelineSecond) => number): number => seconds.reduce((n, s) => n + f(s), 0);
  const failed = sum((s) => s.failed);
  const afterDrain = drain ? drain.after.refused + drain.after.failed : 0;
  const lines = [
    `**${run.system}**: ${sum((s) => s.sent)} requests due, ${sum((s) => s.ok)} answered 2xx, ` +
      `${failed} failed without being shed${drain && failed > 0 ? ` (${afterDrain} of them due after the SIGTERM)` : ''}, ${sum((s) => s.shed)} shed (429, or 503 with Retry-After)`,
  ];
  const worst = seconds.reduce<TimelineSecond | null>((w, s) => (s.p99Ms !== null && (w === null || s.p99Ms > w.p99Ms!) ? s : w), null);
  const baseline = baselineP99(seconds, events);
  const threshold = p99Threshold(baseline);
  if (worst) lines.push(`worst second: p99 ${ms(worst.p99Ms)} ms at ${worst.second} s (baseline p99 ${ms(baseline)} ms, the median second before the first event)`);
  const recovered = recoveries(seconds, events, threshold).filter((r) => !NOT_RECOVERABLE.has(r.event.kind));
  if (recovered.length > 0) {
    lines.push(
      `time to recover (first second with no failed or shed request and p99 ≤ ${ms(threshold)} ms, confirmed by the next): ` +
        recovered.map(recoveryText).join('; '),
    );
  }
  if (drain) {
    lines.push(
      `SIGTERM to the gateway at ${drain.atS.toFixed(1)} s (graceful drain): of ${drain.inFlight.answered + drain.inFlight.failed} requests due before it and still unanswered, ` +
        `${drain.inFlight.answered} answered and ${drain.inFlight.failed} failed; of ${drain.after.answered + drain.after.refused + drain.after.shed + drain.after.failed} due later, ` +
        `${drain.after.refused} refused (503 GW_ERR_SHUTTING_DOWN or connection refused), ${drain.after.answered} answered, ${drain.after.shed} shed, ${drain.after.failed} failed otherwise`,
    );
  }
  return lines;
}

export function timelineChart(run: RunRecord, file: string, subtitle: string): TimelineChartSpec {
  return {
    kind: 'timeline',
    file,
    title: `Chaos timeline: ${run.system}`,
    subtitle,
    xLabel: 'seconds since the load started',
    seconds: run.eventTimeline?.seconds ?? [],
    events: run.eventTimeline?.events ?? [],
  };
}

function recoveryText(r: Recovery): string {
  const at = `${eventText(r.event)} at ${r.event.atS.toFixed(1)} s`;
  if (r.secondsToRecover === 0) return `${at}: no visible effect`;
  const impact = `${r.failed} failed, ${r.shed} shed, worst p99 ${ms(r.worstP99Ms)} ms`;
  return r.secondsToRecover === null ? `${at}: not recovered before the next event (${impact})` : `${at}: ${r.secondsToRecover.toFixed(1)} s (${impact})`;
}

function eventText(e: TimelineEvent): string {
  return e.skipped ? `${e.label} (skipped: ${e.skipped})` : e.label;
}

function failures(s: TimelineSecond): string {
  if (s.failed === 0) return '0';
  return `${s.failed} (${Object.entries(s.failures).sort(([, a], [, b]) => b - a).map(([k, v]) => `${k} ×${v}`).join(', ')})`;
}

function ms(v: number | null): string {
  return v === null ? '—' : v === Infinity ? '∞' : formatRate(v);
}
