// Scenario `rollout`: two rollouts of new classifier versions under an
// open-loop load, on one timeline: a bad candidate (other weights) that the
// gates must roll back, then a good one (the stable's weights) that must be
// promoted, with no client request failing on the way.
//
//   load:      ─────────────── constant --rate ───────────────────────────▶
//   rollouts:  10 % ▼ POST v3 ─ shadow ─▶ rolled back ▼ POST v2 ─ shadow ─ canary 10 % ─ 50 % ─▶ promoted
//   answers:   v1 ──────────────────────────────────────────── v1 + v2 ──────▶ v2
//
// A sampler reads GET /admin/models/{m}/rollouts/current every 250 ms; the
// rollouts' own histories (timestamps of every state change) become the
// timeline's events. Each 2xx answer's `model_version` says which version
// answered it.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../../scripts/demo-models/onnx-builder.ts';
import { CLASSIFIER_WIDTHS, mlpGraph, mlpWeights } from '../../scripts/demo-models/specs.ts';
import { sleepUntil, waitForReadyReplicas } from '../lib/chaos-driver.ts';
import { rolloutHighlights, rolloutTable, shortLabels, versionChart, type Candidate } from '../lib/report-rollout.ts';
import { bucketSeconds, outcomeOf } from '../lib/event-timeline.ts';
import type { Answer } from '../lib/open-loop.ts';
import { timelineChart, timelineHighlights } from '../lib/report-timeline.ts';
import type { OpenLoad, TimelineEvent, VersionSecond } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';

const SAMPLE_INTERVAL_MS = 250;
/** The bad candidate is POSTed at this share of --duration; the good one as soon as the bad one has ended. */
const POST_AT_SHARE = 0.1;
const STABLE = '1';
/** Version 1 of the demo classifier is seed 101: the good candidate has its weights, the bad one the demo's version 2 weights. */
const CANDIDATES: readonly Candidate[] = [
  { version: '3', seed: 102, kind: 'bad' },
  { version: '2', seed: 101, kind: 'good' },
];
const [BAD, GOOD] = CANDIDATES as [Candidate, Candidate];
const INPUT_POOL = 1_000;

/**
 * A quick plan: stages of seconds, gates (default thresholds) that judge after a few dozen requests — but the
 * latency gate after 200: the p99 of fewer is their maximum, and a fresh candidate's first requests are its
 * slowest (with 50, a loaded 2-core machine rolled the good candidate back on its cold start).
 */
const plan = (version: string) => ({
  version,
  candidateReplicas: 1,
  shadow: { percent: 50, maxConcurrent: 4 },
  windowMs: 10_000,
  stages: [
    { kind: 'shadow', minDurationMs: 2_000, minRequests: 50 },
    { kind: 'canary', percent: 10, minDurationMs: 3_000, minRequests: 50 },
    { kind: 'canary', percent: 50, minDurationMs: 3_000, minRequests: 50 },
    { kind: 'promote' },
  ],
  gates: { errors: { minRequests: 20 }, latency: { minRequests: 200 }, agreement: { minComparisons: 20 } },
});

type HistoryEntry = { at: string; state: string; detail: string };
type RolloutView = { candidate: string; state: string; stage: { index: number; percent: number } | null; reason: string | null; history: HistoryEntry[]; plan: { stages: Array<{ kind: string; percent?: number }> } };
type Sample = { atMs: number; candidate: string; state: string; percent: number };

const scenario: Scenario = {
  name: 'rollout',
  title: 'Rollout: a bad and a good candidate version under an open-loop load',
  summary: 'open-loop timeline of two rollouts of the classifier: a bad candidate rolled back by the gates, then a good one promoted (answers by version per second)',
  description:
    'An open loop at --rate (default 300 req/s) for --duration (default 40 s) against the gateway with --replicas workers (default 2) serving version 1 of the classifier alone ' +
    '(a copy of the repository whose config.yaml is `versionPolicy: {specific: [1]}`, with two candidates written into it: version 2 has the weights of version 1, seed 101, ' +
    `so its answers are identical; version 3 has those of seed 102, so they differ). At ${POST_AT_SHARE * 100} % of the duration the rollout of the bad candidate 3 is POSTed; once it has ended, ` +
    `that of the good candidate 2, with the same plan: ${JSON.stringify(plan('N'))} (gate thresholds not given are the defaults: errors +1 point, p99 ×2 and +5 ms, ` +
    'outputs within 1e-3 and top-1 agreeing on 99 % of rows). GET /admin/models/{m}/rollouts/current is sampled every 250 ms; the events are the state changes in the ' +
    "rollouts' own histories. Every row counts the requests due in that second; answers by version come from each 2xx answer's model_version; p50/p99 are of the 2xx answers " +
    `from the intended send time. Inputs (default --inputs pool:${INPUT_POOL}) are distinct random rows, so the candidates' top-1 classes are compared on varied inputs. ` +
    'Failed requests (neither 2xx nor shed) should be 0, and the bad candidate should answer no client: the gates are expected to stop it in the shadow stage, where its answers only feed them.',
  // A pool of distinct random inputs: "unique" bodies vary a single float of one template, so every answer would
  // have the same top-1 class and the agreement gate could only judge the outputs' values.
  defaults: { systems: ['gateway'], model: 'classifier', replicas: 2, ratePerS: 300, durationS: 40, warmupS: 0, inputs: INPUT_POOL },

  async run(h) {
    const o = h.options;
    if (!o.systems.includes('gateway')) return h.note('rollout runs against the gateway only: add gateway to --systems');
    if (o.model !== 'classifier') return h.note(`rollout writes classifier candidates: it runs with --model classifier, not ${o.model}`);
    const rate = o.ratePerS ?? 300;
    const load: OpenLoad = { mode: 'open', ratePerS: rate, arrivals: o.arrivals, connections: o.openConnections, durationS: o.durationS };
    const { dir: modelsDir, warning } = rolloutRepository(o.modelsDir, o.model);
    if (warning) h.note(warning);
    try {
      const settings = { label: 'gateway', modelsDir, gatewayConfig: { models: { include: [o.model], defaultReplicas: o.replicas } } };
      await h.withSystem('gateway', settings, async (target) => {
        const origin = target.system.origin;
        await waitForReadyReplicas(origin, o.replicas, o.readyTimeoutMs, h.signal);
        const answers: Answer[] = [];
        const events: TimelineEvent[] = [];
        const samples: Sample[] = [];
        const finals = new Map<string, RolloutView>();
        let wallStartMs = 0;
        const run = await h.measure(target, load, {
          judged: false,
          answerVersions: true,
          observe: (a) => answers.push(a),
          alongside: (startMs) => {
            wallStartMs = Date.now() - (performance.now() - startMs);
            return driveRollouts(`${origin}/admin/models/${encodeURIComponent(o.model)}/rollouts`, startMs, o.durationS, { events, samples, finals }, h.signal);
          },
        });
        for (const view of finals.values()) events.push(...historyEvents(view, wallStartMs));
        events.sort((a, b) => a.atS - b.atS);
        run.eventTimeline = { seconds: bucketSeconds(answers, o.durationS), events, versions: versionSeconds(answers, samples, o.durationS, rate) };
      });
    } finally {
      rmSync(modelsDir, { recursive: true, force: true });
    }
  },

  present(report) {
    const timed = report.runs.filter((r) => r.eventTimeline?.versions);
    const subtitle = `${report.config.model}, open loop ${report.config.ratePerS}/s; rollout of v${BAD.version} (bad), then v${GOOD.version} (good); p99 of 2xx answers on the right (log scale)`;
    return {
      // The recovery line and the chart name a rollback by its gate; rolloutHighlights gives the whole reason.
      highlights: timed.flatMap((r) => [...timelineHighlights(shortLabels(r)), ...rolloutHighlights(r, CANDIDATES)]),
      charts: timed.flatMap((r, i) => [
        { ...timelineChart(shortLabels(r), i === 0 ? 'timeline.svg' : `timeline-${i + 1}.svg`, subtitle), title: `Rollout timeline: ${r.system}` },
        versionChart(r, i === 0 ? 'versions.svg' : `versions-${i + 1}.svg`, STABLE),
      ]),
      sections: timed.map((r) => `**Per second, ${r.system}** (requests by the second they were due; the rollout as last sampled in the second):\n\n${rolloutTable(r.eventTimeline!, STABLE)}`),
    };
  },
};

/** A copy of the model's directory serving version 1 alone, with the candidates 2 and 3 written beside it. */
function rolloutRepository(modelsDir: string, model: string): { dir: string; warning?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-rollout-models-'));
  const own = join(dir, model);
  cpSync(join(modelsDir, model), own, { recursive: true });
  for (const entry of readdirSync(own)) if (entry !== STABLE && existsSync(join(own, entry, 'model.onnx'))) rmSync(join(own, entry), { recursive: true, force: true });
  for (const { version, seed } of CANDIDATES) {
    mkdirSync(join(own, version), { recursive: true });
    writeFileSync(join(own, version, 'model.onnx'), classifier(seed));
  }
  // The default policy (latest 1) would serve version 3 from the start.
  writeFileSync(join(own, 'config.yaml'), `versionPolicy:\n  specific: [${STABLE}]\n`);
  const stableFile = join(own, STABLE, 'model.onnx');
  const same = existsSync(stableFile) && Buffer.from(readFileSync(stableFile)).equals(Buffer.from(classifier(GOOD.seed)));
  return { dir, ...(!same && { warning: `version ${STABLE} of ${model} in ${modelsDir} is not the demo classifier (seed ${GOOD.seed}): candidate ${GOOD.version} will not answer as it does` }) };
}

function classifier(seed: number): Uint8Array {
  return encodeModel(mlpGraph('classifier', mlpWeights(seed, CLASSIFIER_WIDTHS), 'probabilities', true));
}

/**
 * POSTs the bad candidate's rollout at POST_AT_SHARE of the run, the good one's once the first has ended, and
 * samples the current rollout every SAMPLE_INTERVAL_MS; returns at the run's end whatever the rollouts do.
 */
async function driveRollouts(url: string, startMs: number, durationS: number, trace: { events: TimelineEvent[]; samples: Sample[]; finals: Map<string, RolloutView> }, signal: AbortSignal): Promise<void> {
  const endMs = startMs + durationS * 1000;
  const queue = [...CANDIDATES];
  let current: string | undefined;
  await sleepUntil(startMs + durationS * 1000 * POST_AT_SHARE, signal);
  while (performance.now() < endMs && !signal.aborted) {
    if (current === undefined && queue.length > 0) {
      const { version, kind } = queue.shift()!;
      const atS = (performance.now() - startMs) / 1000;
      const skipped = await post(url, plan(version), signal);
      trace.events.push({ atS, kind: 'post', label: `v${version} POST (${kind} candidate)`, ...(skipped && { skipped }) });
      if (!skipped) current = version;
    }
    if (trace.events.length > 0) {
      try {
        const view = (await (await fetch(`${url}/current`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) })).json()) as RolloutView;
        trace.samples.push({ atMs: performance.now() - startMs, candidate: view.candidate, state: view.state, percent: view.state === 'shadow' ? 0 : (view.stage?.percent ?? 0) });
        trace.finals.set(view.candidate, view);
        if (view.candidate === current && (view.state === 'promoted' || view.state === 'rolled-back')) current = undefined;
      } catch {
        // A sample missed under load is a gap, not a failed run.
      }
    }
    await sleepUntil(Math.min(endMs, performance.now() + SAMPLE_INTERVAL_MS), signal);
  }
}

/** Starts a rollout; undefined when accepted (202), else why not. */
async function post(url: string, body: unknown, signal: AbortSignal): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
    const text = await res.text();
    return res.status === 202 ? undefined : `${res.status}: ${text.slice(0, 200)}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The rollout's state changes as events, `atS` from its history's wall-clock times (the POST itself is an event already). */
function historyEvents(view: RolloutView, wallStartMs: number): TimelineEvent[] {
  const v = `v${view.candidate}`;
  return view.history.flatMap(({ at, state, detail }): TimelineEvent[] => {
    const atS = (Date.parse(at) - wallStartMs) / 1000;
    const stage = /^stage (\d+) of/.exec(detail);
    if (state === 'preparing') return [];
    if (state === 'shadow' || state === 'canary') {
      if (!stage) return [{ atS, kind: detail.startsWith('paused') ? 'paused' : 'resumed', label: `${v} ${detail}` }];
      return [{ atS, kind: state, label: state === 'shadow' ? `${v} shadow` : `${v} canary ${view.plan.stages[Number(stage[1]) - 1]?.percent ?? '?'} %` }];
    }
    if (state === 'rolling-back') return [{ atS, kind: state, label: `${v} rolling back: ${detail}` }];
    return [{ atS, kind: state, label: `${v} ${state.replace('-', ' ')}` }];
  });
}

/** Per second: 2xx answers by version, and the last rollout sample taken in it (or carried over). */
function versionSeconds(answers: readonly Answer[], samples: readonly Sample[], durationS: number, offeredPerS: number): VersionSecond[] {
  const seconds: VersionSecond[] = Array.from({ length: Math.max(1, Math.ceil(durationS - 1e-9)) }, (_, second) => ({ second, offeredPerS, answers: {}, rollout: null }));
  for (const a of answers) {
    if (a.version === undefined || outcomeOf(a).kind !== 'ok') continue;
    const s = seconds[Math.min(seconds.length - 1, Math.floor(a.dueMs / 1000))]!;
    s.answers[a.version] = (s.answers[a.version] ?? 0) + 1;
  }
  let last: Sample | undefined;
  for (const s of seconds) {
    for (const sample of samples) if (sample.atMs < (s.second + 1) * 1000) last = sample;
    if (last) s.rollout = { candidate: last.candidate, state: last.state, percent: last.percent };
  }
  return seconds;
}

export default scenario;
