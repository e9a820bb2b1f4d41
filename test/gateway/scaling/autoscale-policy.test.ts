// The autoscaling decision for one model: traces run through a simulated
// fleet (new replicas ready START_DELAY_MS after the decision, like the
// autoscaler acting on it), then table cases for each rule on fixed windows.

import t from 'tap';
import { decideReplicas, type AutoscaleDecision, type AutoscaleObservation, type AutoscaleSettings } from '../../../gateway/scaling/autoscale-policy.ts';
import { constant, observe, OBSERVE_EVERY_MS, ramp, sawtooth, spike, type Trace } from './traces.ts';

const settings: AutoscaleSettings = {
  targetOngoingRequests: 10,
  targetQueueDelayMs: undefined,
  minReplicas: 1,
  maxReplicas: 8,
  upscaleDelayMs: 3_000,
  downscaleDelayMs: 10_000,
  maxStepUp: 2,
  maxStepDown: 1,
  cooldownMs: 5_000,
};

/** A replica asked for is ready (routable) this long after the decision. */
const START_DELAY_MS = 2_000;

type Step = { atMs: number; observation: AutoscaleObservation; decision: AutoscaleDecision };

/** Observes and decides every tick, as the autoscaler does, and applies each action to the simulated fleet. */
function simulate(run: { settings: AutoscaleSettings; trace: Trace; untilMs: number; replicas: number; lostReplicas?: (tMs: number) => number }): Step[] {
  const readyAtMs: number[] = Array.from({ length: run.replicas }, () => 0);
  const windowMs = Math.max(run.settings.upscaleDelayMs, run.settings.downscaleDelayMs) + 2 * OBSERVE_EVERY_MS;
  let window: AutoscaleObservation[] = [];
  let lastActionAtMs: number | undefined;
  const steps: Step[] = [];
  for (let atMs = 0; atMs <= run.untilMs; atMs += OBSERVE_EVERY_MS) {
    const ready = readyAtMs.filter((r) => r <= atMs).length - (run.lostReplicas?.(atMs) ?? 0);
    const observation = { atMs, readyReplicas: Math.max(0, ready), ongoingRequests: run.trace(atMs), queueDelayMs: 0 };
    window = [...window.filter((o) => o.atMs >= atMs - windowMs), observation];
    const decision = decideReplicas(run.settings, { desiredReplicas: readyAtMs.length, lastActionAtMs }, window, atMs);
    steps.push({ atMs, observation, decision });
    if (decision.action === 'hold') continue;
    lastActionAtMs = atMs;
    while (readyAtMs.length < decision.desiredReplicas) readyAtMs.push(atMs + START_DELAY_MS);
    // The newest replica goes first: it is the one least likely to be ready.
    readyAtMs.length = decision.desiredReplicas;
  }
  return steps;
}

const actionsOf = (steps: Step[]): Step[] => steps.filter((s) => s.decision.action !== 'hold');

function directionChanges(steps: Step[]): number {
  const actions = actionsOf(steps).map((s) => s.decision.action);
  return actions.filter((a, i) => i > 0 && a !== actions[i - 1]).length;
}

t.test('ramp 1× → 4× a replica\'s target and back: steps up to the need and down after, within the bounds', async (t) => {
  // 10 → 40 ongoing (target 10 each) over 30 s from 5 s, 15 s at 40, back to 10 over 30 s.
  const trace = ramp(10, 40, 5_000, 30_000, 15_000, 30_000);
  const rows = [
    { maxReplicas: 8, counts: [2, 3, 4, 3, 2, 1] },
    { maxReplicas: 3, counts: [2, 3, 2, 1] },
  ];
  for (const row of rows) {
    const s = { ...settings, maxReplicas: row.maxReplicas };
    const counts = actionsOf(simulate({ settings: s, trace, untilMs: 150_000, replicas: 1 })).map((a) => a.decision.desiredReplicas);
    const previous = [1, ...counts];
    t.same(counts, row.counts, `maxReplicas ${row.maxReplicas}: desired counts in order`);
    t.ok(counts.every((c) => c >= s.minReplicas && c <= s.maxReplicas), 'never outside [min, max]');
    t.ok(counts.every((c, i) => c - previous[i]! <= s.maxStepUp && previous[i]! - c <= s.maxStepDown), 'steps within maxStepUp / maxStepDown');
  }
});

t.test('a spike shorter than upscaleDelayMs does not scale up', async (t) => {
  const steps = simulate({ settings, trace: spike(5, 80, 10_000, 1_000), untilMs: 40_000, replicas: 1 });
  t.same(actionsOf(steps), []);
  t.match(steps.find((s) => s.atMs === 10_500)?.decision.reason, /wants 8\b.*upscaleDelayMs 3000/, 'the hold says what it waits for');
});

t.test('a sawtooth with a period shorter than downscaleDelayMs does not flap', async (t) => {
  const steps = simulate({ settings, trace: sawtooth(10, 30, 8_000), untilMs: 120_000, replicas: 2 });
  const wants = steps.map((s) => Math.ceil(s.observation.ongoingRequests / 10));
  const naiveFlips = wants.filter((w, i) => i > 0 && w !== wants[i - 1]).length;
  t.ok(naiveFlips >= 20, `the load itself flips its wish ${naiveFlips} times`);
  t.ok(actionsOf(steps).length <= 2, `${actionsOf(steps).length} action(s)`);
  t.ok(directionChanges(steps) <= 2, 'at most two direction changes');
  t.notOk(actionsOf(steps).some((s) => s.decision.action === 'down'), 'never down: the low half never lasts downscaleDelayMs');
});

t.test('a dead replica is not read as low load: no scale-down while replicas are missing', async (t) => {
  // Load falls at 20 s; one of 4 replicas is dead from 15 s to 45 s.
  const lostReplicas = (tMs: number): number => (tMs >= 15_000 && tMs < 45_000 ? 1 : 0);
  const steps = simulate({ settings, trace: (tMs) => (tMs < 20_000 ? 40 : 5), untilMs: 90_000, replicas: 4, lostReplicas });
  const downs = actionsOf(steps).filter((s) => s.decision.action === 'down');
  t.ok(downs.length > 0, 'scales down once the fleet is whole again');
  t.ok(downs[0]!.atMs >= 45_000 + settings.downscaleDelayMs, `first scale-down at ${downs[0]!.atMs} ms, a whole downscaleDelayMs after the replica is back`);
  t.match(steps.find((s) => s.atMs === 40_000)?.decision.reason, /replicas missing: 3 of 4 ready/);
  t.notOk(actionsOf(steps).some((s) => s.decision.action === 'up'), 'the missing replica does not read as more load either');
});

t.test('rules on fixed windows', async (t) => {
  const want = (load: number, fromMs: number, toMs: number, ready: number): AutoscaleObservation[] => observe(constant(load), fromMs, toMs, ready);
  const slowUp = { ...settings, upscaleDelayMs: 6_000 };
  const delay = { ...settings, targetOngoingRequests: undefined, targetQueueDelayMs: 50 };
  const queued = (delayMs: number, ready = 3): AutoscaleObservation[] => observe(constant(4), 0, 12_000, ready, constant(delayMs));
  const rows: Array<{ name: string; s?: AutoscaleSettings; desired: number; lastActionAtMs?: number; window: AutoscaleObservation[]; nowMs: number; expect: [AutoscaleDecision['action'], number]; reason?: RegExp }> = [
    { name: 'empty window holds', desired: 2, window: [], nowMs: 5_000, expect: ['hold', 2], reason: /no observation/ },
    { name: 'too short a span holds', desired: 1, window: want(40, 3_000, 5_000, 1), nowMs: 5_000, expect: ['hold', 1], reason: /wants 4\b.*upscaleDelayMs 3000/ },
    { name: 'one dissenting observation in the span holds', desired: 1, window: [...want(40, 0, 3_000, 1), ...want(5, 3_500, 3_500, 1), ...want(40, 4_000, 6_000, 1)], nowMs: 6_000, expect: ['hold', 1] },
    { name: 'up after upscaleDelayMs, to the least the span wants', desired: 1, window: [...want(20, 0, 1_000, 1), ...want(40, 1_500, 3_000, 1)], nowMs: 3_000, expect: ['up', 2], reason: /ongoing 40 over 1 ready.*upscaleDelayMs 3000: 1 → 2/ },
    { name: 'up by maxStepUp at most', desired: 2, window: want(100, 0, 3_000, 2), nowMs: 3_000, expect: ['up', 4] },
    { name: 'up never above maxReplicas', desired: 7, window: want(500, 0, 3_000, 7), nowMs: 3_000, expect: ['up', 8] },
    { name: 'down after downscaleDelayMs, by maxStepDown at most', desired: 6, window: want(15, 0, 10_000, 6), nowMs: 10_000, expect: ['down', 5] },
    { name: 'down to the most the span wants', desired: 4, s: { ...settings, maxStepDown: 3 }, window: [...want(25, 0, 500, 4), ...want(5, 1_000, 10_000, 4)], nowMs: 10_000, expect: ['down', 3] },
    { name: 'no load wants minReplicas', desired: 3, s: { ...settings, minReplicas: 2, maxStepDown: 3 }, window: want(0, 0, 10_000, 3), nowMs: 10_000, expect: ['down', 2] },
    { name: 'down waits for downscaleDelayMs', desired: 6, window: want(15, 1_000, 10_000, 6), nowMs: 10_000, expect: ['hold', 6], reason: /wants 2\b.*downscaleDelayMs 10000/ },
    { name: 'a replica missing in the down span holds', desired: 4, window: want(5, 0, 10_000, 4).map((o) => (o.atMs === 2_000 ? { ...o, readyReplicas: 3 } : o)), nowMs: 10_000, expect: ['hold', 4], reason: /replicas missing: 3 of 4 ready/ },
    { name: 'cooldown holds', desired: 1, lastActionAtMs: 1_000, window: want(40, 0, 5_000, 1), nowMs: 5_000, expect: ['hold', 1], reason: /^cooldown.*cooldownMs 5000/ },
    { name: 'after the cooldown it acts', desired: 1, lastActionAtMs: 0, window: want(40, 0, 5_000, 1), nowMs: 5_000, expect: ['up', 3] },
    { name: 'without an action, the whole window counts', s: slowUp, desired: 1, window: want(40, 0, 13_000, 1), nowMs: 13_000, expect: ['up', 3] },
    { name: 'observations before the last action are ignored', s: slowUp, desired: 1, lastActionAtMs: 8_000, window: want(40, 0, 13_000, 1), nowMs: 13_000, expect: ['hold', 1], reason: /upscaleDelayMs 6000/ },
    { name: 'below minReplicas: up at once, in cooldown and without observations', desired: 0, lastActionAtMs: 4_000, window: [], nowMs: 5_000, expect: ['up', 1], reason: /^bounds/ },
    { name: 'above maxReplicas: down at once, past any step limit', desired: 12, window: want(500, 4_000, 5_000, 12), nowMs: 5_000, expect: ['down', 8], reason: /^bounds/ },
    { name: 'queue delay over target: one more', s: delay, desired: 3, window: queued(80), nowMs: 12_000, expect: ['up', 4], reason: /queue delay 80(\.0)? ms.*50/ },
    { name: 'queue delay under half the target: one fewer', s: delay, desired: 3, window: queued(10), nowMs: 12_000, expect: ['down', 2] },
    { name: 'queue delay between half and the target: hold', s: delay, desired: 3, window: queued(30), nowMs: 12_000, expect: ['hold', 3] },
    { name: 'queue delay over target at maxReplicas: hold', s: { ...delay, maxReplicas: 3 }, desired: 3, window: queued(80), nowMs: 12_000, expect: ['hold', 3] },
  ];
  for (const row of rows) {
    const decision = decideReplicas(row.s ?? settings, { desiredReplicas: row.desired, lastActionAtMs: row.lastActionAtMs }, row.window, row.nowMs);
    t.same([decision.action, decision.desiredReplicas], row.expect, row.name);
    if (row.reason) t.match(decision.reason, row.reason, `${row.name}: reason`);
  }
});
