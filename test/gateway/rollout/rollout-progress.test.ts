// A rollout stage's next move on fixed progress and gate readings: stay
// (saying what it waits for), advance at the boundaries of time, requests and
// gates, and roll back on any failed gate, even before the stage could end.

import t from 'tap';
import type { GateReading } from '../../../gateway/rollout/rollout-gates.ts';
import { nextMove, type Move } from '../../../gateway/rollout/rollout-progress.ts';
import { DEFAULT_ROLLOUT_PLAN, type GatedStage, type GateName } from '../../../gateway/rollout/rollout-plan.ts';

const [SHADOW, CANARY_5] = DEFAULT_ROLLOUT_PLAN.stages as [GatedStage, GatedStage];
const STARTED_AT_MS = 50_000;

const pass = (gate: GateName): GateReading => ({ gate, status: 'pass', detail: `${gate} fine` });
const waiting = (gate: GateName): GateReading => ({ gate, status: 'waiting', detail: `${gate} needs more` });
const fail = (gate: GateName): GateReading => ({ gate, status: 'fail', detail: `${gate} broke` });
const ALL_PASS = [pass('errors'), pass('latency'), pass('agreement')];

t.test('stay, advance or rollback', async (t) => {
  const rows: Array<{ name: string; stage?: GatedStage; elapsedMs: number; requests: number; readings: GateReading[]; expect: Move }> = [
    {
      name: 'time, requests and every gate met: advance',
      elapsedMs: 10_000, requests: 100, readings: ALL_PASS,
      expect: { move: 'advance', reason: 'canary 5 % stage done: 10.0 s, 100 candidate requests, gates errors, latency, agreement pass' },
    },
    {
      name: '1 ms short of minDurationMs: stay',
      elapsedMs: 9_999, requests: 500, readings: ALL_PASS,
      expect: { move: 'stay', reason: 'canary 5 % stage waits for 0.1 s more (minDurationMs 10000)' },
    },
    {
      name: 'one request short: stay',
      elapsedMs: 60_000, requests: 99, readings: ALL_PASS,
      expect: { move: 'stay', reason: 'canary 5 % stage waits for 1 more candidate request (99 of minRequests 100)' },
    },
    {
      name: 'a gate still waiting: stay, naming it',
      elapsedMs: 60_000, requests: 500, readings: [pass('errors'), waiting('latency'), pass('agreement')],
      expect: { move: 'stay', reason: 'canary 5 % stage waits for gate latency: latency needs more' },
    },
    {
      name: 'waiting on everything: every wait named',
      stage: SHADOW, elapsedMs: 5_750, requests: 40, readings: [waiting('errors'), pass('latency'), waiting('agreement')],
      expect: { move: 'stay', reason: 'shadow stage waits for 4.3 s more (minDurationMs 10000); 60 more candidate requests (40 of minRequests 100); gate errors: errors needs more; gate agreement: agreement needs more' },
    },
    {
      name: 'a failed gate while still waiting on time and requests: rollback',
      elapsedMs: 1_000, requests: 3, readings: [pass('errors'), fail('latency'), waiting('agreement')],
      expect: { move: 'rollback', reason: 'gate latency failed: latency broke' },
    },
    {
      name: 'every failed gate in the reason',
      elapsedMs: 20_000, requests: 200, readings: [fail('errors'), pass('latency'), fail('agreement')],
      expect: { move: 'rollback', reason: 'gate errors failed: errors broke; gate agreement failed: agreement broke' },
    },
    {
      name: 'a stage of no minimum advances as soon as its gate passes',
      stage: { kind: 'canary', percent: 50, minDurationMs: 0, minRequests: 0, gates: ['errors'] }, elapsedMs: 0, requests: 0, readings: [pass('errors')],
      expect: { move: 'advance', reason: 'canary 50 % stage done: 0.0 s, 0 candidate requests, gates errors pass' },
    },
  ];
  for (const row of rows) {
    const progress = { stage: row.stage ?? CANARY_5, startedAtMs: STARTED_AT_MS, candidateRequests: row.requests };
    t.same(nextMove(progress, row.readings, STARTED_AT_MS + row.elapsedMs), row.expect, row.name);
  }
});

t.test('a rollout through the default stages: it waits, then advances stage by stage', async (t) => {
  const moves = DEFAULT_ROLLOUT_PLAN.stages
    .filter((s): s is GatedStage => s.kind !== 'promote')
    .flatMap((stage) => [0, 5_000, 10_000].map((elapsedMs) => nextMove({ stage, startedAtMs: 0, candidateRequests: elapsedMs / 50 }, ALL_PASS, elapsedMs).move));
  t.same(moves, ['stay', 'stay', 'advance', 'stay', 'stay', 'advance', 'stay', 'stay', 'advance', 'stay', 'stay', 'advance']);
});
