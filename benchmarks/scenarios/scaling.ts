// Scenario `scaling`: the autoscaler under an open-loop load that steps
// 1× → 4× → 1×, reported second by second with the model's replicas.
//
//   rate:      1× ▁▁▁▁▁ 4× █████████ 1× ▁▁▁▁▁▁▁▁      (first quarter, next 35 %, the rest)
//   replicas:  1  ─────── up in steps ───── down after downscaleDelayMs
//
// The model's config.yaml (in a copy of the repository) turns its autoscaler
// on; a sampler reads GET /admin/models/{m} every 250 ms for the desired and
// ready replica counts. The summary: time to scale up, over-provisioned
// replica-seconds, and failed requests (the target is 0).

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForReadyReplicas } from '../lib/chaos-driver.ts';
import { bucketSeconds } from '../lib/event-timeline.ts';
import type { Answer } from '../lib/open-loop.ts';
import { timelineChart, timelineHighlights } from '../lib/report-timeline.ts';
import type { EventTimeline, LineChartSpec, OpenLoad, ReplicaSecond, RunRecord, TimelineEvent } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';

const SAMPLE_INTERVAL_MS = 250;

/** The autoscaler's settings for the run: quick enough to act within a short benchmark, slow enough not to flap. */
const AUTOSCALING = { mode: 'on', targetOngoingRequests: 2, upscaleDelayMs: 2_000, downscaleDelayMs: 8_000, maxStepUp: 2, maxStepDown: 1, cooldownMs: 2_000 };
const MAX_REPLICAS = 4;

const scenario: Scenario = {
  name: 'scaling',
  title: 'Scaling: the autoscaler under a 1× → 4× → 1× open-loop load',
  summary: 'open-loop timeline of a 1× → 4× → 1× rate with the model autoscaled (replicas desired and ready per second)',
  description:
    'An open loop at --rate (1×, default 400 req/s) for the first quarter of --duration (default 60 s), 4× for the next 35 %, and 1× again to the end, ' +
    `against the gateway starting with one worker for the model (default heavy: one worker runs about 2,000 req/s of it), whose config.yaml turns the autoscaler on (${JSON.stringify(AUTOSCALING)}, ` +
    `minReplicas 1, maxReplicas ${MAX_REPLICAS}; observed every 500 ms). Every row counts the requests due in that second; p50/p99 are of the 2xx ` +
    'answers from the intended send time; desired and ready replicas are sampled every 250 ms (the last sample of the second). Time to scale up: ' +
    'from the step to 4× until the ready count first reaches its highest value of the 4× phase. Over-provisioned replica-seconds: over the final 1× ' +
    'phase, the ready replicas beyond the count the first 1× phase ran on, summed per second. Failed requests (neither 2xx nor shed) should be 0. ' +
    'On this 2-core machine the workers share the cores with the gateway and the load generator, so more replicas add less than a core each.',
  // The heavy model: one worker runs it at about 2,000 req/s, so 4× of 400/s needs more than one. No warm-up: its
  // load would scale the model up before the run starts.
  defaults: { systems: ['gateway'], model: 'heavy', replicas: 1, ratePerS: 400, durationS: 60, warmupS: 0 },

  async run(h) {
    const o = h.options;
    if (!o.systems.includes('gateway')) return h.note('scaling runs against the gateway only: add gateway to --systems');
    const rate = o.ratePerS ?? 400;
    const upS = o.durationS * 0.25;
    const downS = o.durationS * 0.6;
    const load: OpenLoad = {
      mode: 'open',
      ratePerS: rate,
      arrivals: o.arrivals,
      connections: o.openConnections,
      durationS: o.durationS,
      schedule: [
        { fromS: upS, ratePerS: 4 * rate },
        { fromS: downS, ratePerS: rate },
      ],
    };
    const modelsDir = autoscaledRepository(o.modelsDir, o.model);
    try {
      const settings = { label: 'gateway autoscaled', modelsDir, gatewayConfig: { scaling: { autoscaleIntervalMs: 500 }, models: { include: [o.model], defaultReplicas: 1 } } };
      await h.withSystem('gateway', settings, async (target) => {
        await waitForReadyReplicas(target.system.origin, 1, o.readyTimeoutMs, h.signal);
        const answers: Answer[] = [];
        const samples: Array<{ atMs: number; desired: number; ready: number }> = [];
        const run = await h.measure(target, load, {
          judged: false,
          observe: (a) => answers.push(a),
          alongside: (startMs) => sample(`${target.system.origin}/admin/models/${encodeURIComponent(o.model)}`, startMs, o.durationS, samples, h.signal),
        });
        // The mean offered rate over each second (a step may fall mid-second).
        const rateAt = (atS: number): number => (atS >= upS && atS < downS ? 4 * rate : rate);
        const offered = (second: number): number => Math.round((rateAt(second) + rateAt(second + 0.25) + rateAt(second + 0.5) + rateAt(second + 0.75)) / 4);
        const replicas = replicaSeconds(samples, o.durationS, offered);
        const events: TimelineEvent[] = [
          { atS: upS, kind: 'rate', label: `rate ×4 (${4 * rate}/s)` },
          { atS: downS, kind: 'rate', label: `rate back to ${rate}/s` },
          ...replicaChanges(samples),
        ];
        run.eventTimeline = { seconds: bucketSeconds(answers, o.durationS), events, replicas };
      });
    } finally {
      rmSync(modelsDir, { recursive: true, force: true });
    }
  },

  present(report) {
    const timed = report.runs.filter((r) => r.eventTimeline?.replicas);
    const subtitle = `${report.config.model}, open loop ${report.config.ratePerS}/s ×1 → ×4 → ×1, autoscaled; p99 of 2xx answers on the right (log scale)`;
    return {
      highlights: timed.flatMap((r) => [...timelineHighlights(r), ...scalingHighlights(r)]),
      charts: timed.flatMap((r, i) => [
        { ...timelineChart(r, i === 0 ? 'timeline.svg' : `timeline-${i + 1}.svg`, subtitle), title: `Scaling timeline: ${r.system}` },
        replicaChart(r, i === 0 ? 'replicas.svg' : `replicas-${i + 1}.svg`),
      ]),
      sections: timed.map((r) => `**Per second, ${r.system}** (requests by the second they were due; replicas as sampled at the end of the second):\n\n${scalingTable(r.eventTimeline!)}`),
    };
  },
};

/** A copy of the repository whose `model` config.yaml turns its autoscaler on. */
function autoscaledRepository(modelsDir: string, model: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'infergate-scaling-models-'));
  cpSync(modelsDir, copy, { recursive: true });
  const configFile = join(copy, model, 'config.yaml');
  const own = existsSync(configFile) ? readFileSync(configFile, 'utf8').split('\n').filter((line) => !/^(replicas|minReplicas|maxReplicas|autoscaling):/.test(line)) : [];
  writeFileSync(configFile, [...own, `minReplicas: 1`, `maxReplicas: ${MAX_REPLICAS}`, `autoscaling: ${JSON.stringify(AUTOSCALING)}`, ''].join('\n'));
  return copy;
}

/** Reads the model's desired and ready replicas every SAMPLE_INTERVAL_MS until the run's end (`startMs`: performance.now() at the load's start). */
async function sample(url: string, startMs: number, durationS: number, samples: Array<{ atMs: number; desired: number; ready: number }>, signal: AbortSignal): Promise<void> {
  const endMs = startMs + durationS * 1000;
  while (performance.now() < endMs && !signal.aborted) {
    try {
      const { scaling } = (await (await fetch(url, { signal: AbortSignal.timeout(2_000) })).json()) as { scaling: { desiredReplicas: number; replicas: Record<string, string[]> } };
      samples.push({ atMs: performance.now() - startMs, desired: scaling.desiredReplicas, ready: scaling.replicas.ready?.length ?? 0 });
    } catch {
      // A sample missed under load is a gap in the table, not a failed run.
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
  }
}

/** Per second: the offered rate, and the last sample taken in it (or carried over from before). */
function replicaSeconds(samples: ReadonlyArray<{ atMs: number; desired: number; ready: number }>, durationS: number, offeredPerS: (second: number) => number): ReplicaSecond[] {
  const seconds: ReplicaSecond[] = [];
  let last = { desired: 1, ready: 1 };
  for (let second = 0; second < Math.ceil(durationS - 1e-9); second++) {
    for (const s of samples) if (s.atMs < (second + 1) * 1000) last = s;
    seconds.push({ second, offeredPerS: offeredPerS(second), desired: last.desired, ready: last.ready });
  }
  return seconds;
}

/** An event at each change of the desired or the ready count. */
function replicaChanges(samples: ReadonlyArray<{ atMs: number; desired: number; ready: number }>): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  let desired = samples[0]?.desired;
  let ready = samples[0]?.ready;
  for (const s of samples) {
    if (s.desired !== desired) events.push({ atS: s.atMs / 1000, kind: 'desired', label: `desired ${desired} → ${s.desired}` });
    if (s.ready !== ready) events.push({ atS: s.atMs / 1000, kind: 'ready', label: `ready ${ready} → ${s.ready}` });
    desired = s.desired;
    ready = s.ready;
  }
  return events;
}

/** Desired and ready replicas, and the offered rate in units of the first second's, by second. */
function replicaChart(run: RunRecord, file: string): LineChartSpec {
  const replicas = run.eventTimeline?.replicas ?? [];
  const base = replicas[0]?.offeredPerS || 1;
  const series = (name: string, y: (r: ReplicaSecond) => number, style: 'solid' | 'dashed' | 'dotted') => ({ name, style, points: replicas.map((r) => ({ x: r.second, y: y(r) })) });
  return {
    kind: 'line',
    file,
    title: `Replicas under the load: ${run.system}`,
    subtitle: 'desired (the autoscaler) and ready replicas, sampled every 250 ms, and the offered rate as a multiple of 1×',
    xLabel: 'seconds since the load started',
    yLabel: 'replicas / rate multiple',
    series: [series('desired', (r) => r.desired, 'dashed'), series('ready', (r) => r.ready, 'solid'), series('offered rate (×)', (r) => r.offeredPerS / base, 'dotted')],
  };
}

function scalingHighlights(run: RunRecord): string[] {
  const replicas = run.eventTimeline?.replicas ?? [];
  const baseRate = replicas[0]?.offeredPerS;
  const upIndex = replicas.findIndex((r) => r.offeredPerS !== baseRate);
  if (upIndex < 0) return [];
  const downIndex = replicas.findIndex((r, i) => i > upIndex && r.offeredPerS === baseRate);
  const high = replicas.slice(upIndex, downIndex < 0 ? undefined : downIndex);
  const peak = Math.max(...high.map((r) => r.ready));
  const reached = high.find((r) => r.ready === peak);
  const before = replicas[upIndex - 1]?.ready ?? 1;
  const tail = downIndex < 0 ? [] : replicas.slice(downIndex);
  const overProvisioned = tail.reduce((sum, r) => sum + Math.max(0, r.ready - before), 0);
  const failed = run.eventTimeline!.seconds.reduce((n, s) => n + s.failed, 0);
  return [
    peak > before && reached
      ? `time to scale up: ${reached.second - upIndex} s from the step to 4× until ${peak} replicas were ready (from ${before})`
      : `no scale-up during the 4× phase (${before} replicas ready throughout)`,
    `over-provisioned: ${overProvisioned} replica-seconds in the final 1× phase beyond the ${before} replica${before === 1 ? '' : 's'} the first 1× phase ran on` +
      `${tail.length > 0 ? `; ${tail.at(-1)!.ready} ready at the end` : ''}`,
    `failed requests: ${failed}`,
  ];
}

function scalingTable(timeline: EventTimeline): string {
  const rows = ['| s | offered/s | due | 2xx | failed | shed | p50 ms | p99 ms | desired | ready |', '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  for (const s of timeline.seconds) {
    const r = timeline.replicas?.[s.second];
    rows.push(`| ${s.second} | ${r?.offeredPerS ?? '—'} | ${s.sent} | ${s.ok} | ${s.failed} | ${s.shed} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${r?.desired ?? '—'} | ${r?.ready ?? '—'} |`);
  }
  return rows.join('\n');
}

function ms(v: number | null): string {
  return v === null ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(0);
}

export default scenario;
