// Scenario `chaos`: the chaos tests' events applied to a gateway under a
// steady open-loop load, reported second by second with the events marked.
//
//   run 1  gateway, 3 healthy workers  kill -9 ×3 (rotating) · SIGSTOP … SIGCONT · 2× burst · SIGTERM (drain)
//   run 2  gateway, its last worker answers every inference 500 from its spawn (no warm-up: its first seconds are the point)
//
// lib/chaos-plan.ts lays out the events, lib/chaos-driver.ts applies them,
// lib/event-timeline.ts buckets the outcomes, lib/report-timeline.ts reports.

import { waitForReadyReplicas, runChaos } from '../lib/chaos-driver.ts';
import { chaosPlan } from '../lib/chaos-plan.ts';
import { bucketSeconds, drainCounts } from '../lib/event-timeline.ts';
import type { Harness, SystemSettings, Target } from '../lib/harness.ts';
import type { Answer } from '../lib/open-loop.ts';
import { timelineChart, timelineHighlights, timelineTable } from '../lib/report-timeline.ts';
import type { OpenLoad, TimelineEvent } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';

/**
 * Tuned for a latency-sensitive service: with the defaults (10 s attempt
 * timeout, checks every 2 s) every request routed to a hung worker would wait
 * 10 s before its retry, and the timeline would show the timeout setting
 * rather than the gateway's reaction.
 */
const CHAOS_CONFIG = {
  upstream: { attemptTimeoutMs: 250 },
  health: { checkIntervalMs: 1_000, checkTimeoutMs: 500 },
};

const scenario: Scenario = {
  name: 'chaos',
  title: 'Chaos: worker crashes, a hung worker, a 5xx worker, a 2× burst and a drain under open-loop load',
  summary: 'open-loop timeline with kill -9, SIGSTOP/SIGCONT, a 5xx worker, a 2× burst and a SIGTERM drain (3 workers)',
  description:
    'An open loop at --rate (default 1000 req/s, a moderate fraction of capacity) against the gateway over --replicas workers (default 3), while the ' +
    'chaos tests’ events happen: a worker killed with SIGKILL every 3 s, rotating over the workers (three kills); a worker hung ' +
    'with SIGSTOP and resumed with SIGCONT 5 s later; the rate doubled for 4 s; and a SIGTERM to the gateway near the end while ' +
    'the load goes on (a graceful drain: requests in flight should be answered, later ones refused). Times are for the default ' +
    '--duration 30 and scale with it. A worker answering every request with a 5xx can only be started that way, so it gets a second, ' +
    'shorter run (a third of --duration, no warm-up) with the last worker faulty from its spawn (`workers.injectFaults`; the Settings ' +
    'line shows this last run’s gateway config): its timeline shows how long failures reach clients before the breaker, outlier ' +
    'ejection and retries hide them. Every row counts the requests *due* in that second ' +
    '(intended send time), whenever they ended; p50/p99 are of the 2xx answers, from the intended send time. Shed = 429, or 503 ' +
    'with Retry-After (GW_ERR_OVERLOADED, GW_ERR_QUEUE_FULL); failed = every other non-2xx and every request without an answer. ' +
    `The gateway runs with attempt timeout 250 ms and health checks every 1 s (timeout 500 ms); cache off, bodies unique. ` +
    'Runs are not judged against --max-error-rate: failures are what is measured.',
  defaults: { systems: ['gateway'], replicas: 3, ratePerS: 1000, durationS: 30 },

  async run(h) {
    const o = h.options;
    if (!o.systems.includes('gateway')) return h.note('chaos runs against the gateway only: add gateway to --systems');
    const rate = o.ratePerS ?? 1000;
    const load = (durationS: number): OpenLoad => ({ mode: 'open', ratePerS: rate, arrivals: o.arrivals, connections: o.openConnections, durationS });
    const plan = chaosPlan({ durationS: o.durationS, ratePerS: rate, replicas: o.replicas });

    await timelineRun(h, { label: 'gateway chaos', gatewayConfig: CHAOS_CONFIG }, { ...load(o.durationS), schedule: plan.schedule }, (target, startMs, record) =>
      runChaos({ events: plan.events, startMs, origin: target.system.origin, gatewayPid: gatewayPid(target), signal: h.signal, record }),
    );

    const worker = `worker-${o.replicas - 1}`;
    const faulty = { label: `gateway, ${worker} answers 5xx`, gatewayConfig: { ...CHAOS_CONFIG, workers: { injectFaults: { [worker]: 'infer-errors' } } }, warmupS: 0 };
    await timelineRun(h, faulty, load(Math.max(1, o.durationS / 3)), async (_target, _startMs, record) => {
      record({ atS: 0, kind: 'fault', label: `${worker} answers 500 (since spawn)` });
    });
  },

  present(report) {
    const timed = report.runs.filter((r) => r.eventTimeline);
    const subtitle = `${report.config.model}, open loop at ${report.config.ratePerS}/s, ${report.config.replicas} workers; p99 of 2xx answers on the right (log scale)`;
    return {
      highlights: timed.flatMap(timelineHighlights),
      charts: timed.map((r, i) => timelineChart(r, i === 0 ? 'timeline.svg' : `timeline-${i + 1}.svg`, subtitle)),
      sections: timed.map((r) => `**Per second, ${r.system}** (requests by the second they were due):\n\n${timelineTable(r.eventTimeline!)}`),
    };
  },
};

type Chaos = (target: Target, startMs: number, record: (e: TimelineEvent) => void) => Promise<void>;

/** One gateway start, all workers ready, an unjudged open-loop run with `chaos` alongside; the outcomes become the run's event timeline. */
async function timelineRun(h: Harness, settings: SystemSettings, load: OpenLoad, chaos: Chaos): Promise<void> {
  await h.withSystem('gateway', settings, async (target) => {
    await waitForReadyReplicas(target.system.origin, target.system.replicas, h.options.readyTimeoutMs, h.signal);
    const answers: Answer[] = [];
    const events: TimelineEvent[] = [];
    const run = await h.measure(target, load, {
      judged: false,
      observe: (a) => answers.push(a),
      alongside: (startMs) => chaos(target, startMs, (e) => events.push(e)),
    });
    const sigterm = events.find((e) => e.kind === 'sigterm' && !e.skipped);
    run.eventTimeline = { seconds: bucketSeconds(answers, load.durationS), events, ...(sigterm && { drain: drainCounts(answers, sigterm.atS) }) };
  });
}

function gatewayPid(target: Target): number {
  return target.system.roots.find((r) => r.role === 'gateway')?.pid ?? -1;
}

export default scenario;
