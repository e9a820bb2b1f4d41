// One rollout driven by hand: a clock advanced by the test, a fixed wall
// clock, a scripted (or seeded) random and a fake shadow runner whose
// promises the test settles. Covers the stages in order (preparing, shadow,
// canary, promote), the shadow copies' share and concurrency cap, the
// traffic split, rollback on a failed gate, pause and resume, and status().

import t from 'tap';
import { mulberry32 } from '../../../common/prng.ts';
import type { InferAnswer } from '../../../common/wire.ts';
import type { InferCall, InferTarget } from '../../../gateway/infer/infer-service.ts';
import { Rollout } from '../../../gateway/rollout/rollout.ts';
import { parseRolloutPlan, type RolloutPlan } from '../../../gateway/rollout/rollout-plan.ts';

const WALL_MS = Date.UTC(2025, 0, 1);
const at = (ms: number): string => new Date(WALL_MS + ms).toISOString();

/** shadow (≥ 1 s, 3 requests, agreement) ─▶ canary 20 % ─▶ canary 50 % (≥ 1 s, 3 requests, errors) ─▶ promote */
function smallPlan(): RolloutPlan {
  const canary = (percent: number) => ({ kind: 'canary', percent, minDurationMs: 1_000, minRequests: 3, gates: ['errors'] });
  return parseRolloutPlan(
    {
      version: '2',
      shadow: { percent: 50, maxConcurrent: 2 },
      windowMs: 60_000,
      stages: [{ kind: 'shadow', minDurationMs: 1_000, minRequests: 3, gates: ['agreement'] }, canary(20), canary(50), { kind: 'promote' }],
      gates: { errors: { maxIncrease: 0, minRequests: 2 }, agreement: { maxAbsDiff: 0, minComparisons: 2 } },
    },
    { maxCandidateReplicas: 2 },
  );
}

type Pending = { call: InferCall; version: string; resolve: (answer: InferAnswer) => void; reject: (err: Error) => void };

function harness(plan: RolloutPlan = smallPlan()) {
  const clock = { ms: 0 };
  // Scripted: every draw returns `draw` (0: always copied / split; 0.99: never) unless `random` is replaced.
  const rng = { draw: 0, random: undefined as (() => number) | undefined };
  const pending: Pending[] = [];
  const rollout = new Rollout('m', '1', plan, {
    runShadow: (call, version) => new Promise<InferAnswer>((resolve, reject) => pending.push({ call, version, resolve, reject })),
    now: () => clock.ms,
    wallClockMs: () => WALL_MS + clock.ms,
    random: () => (rng.random ? rng.random() : rng.draw),
  });
  return { rollout, clock, rng, pending };
}

/** Lets setImmediate callbacks and the promise jobs after them run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const call: InferCall = { target: {} as InferTarget, tensors: [], outputs: undefined, deadlineMs: 10_000, priority: 1, bypassCache: false, requestId: 'req-1', record: undefined };

/** One row of class scores, FP32 [1, n]: compared element-wise and by argmax. */
function answer(version: string, scores: number[]): InferAnswer {
  return { model: 'm', version, tensors: [{ name: 'y', datatype: 'FP32', shape: [1, scores.length], data: new Uint8Array(new Float32Array(scores).buffer) }] };
}
const STABLE = answer('1', [0.1, 0.9]);

/** Shadows `count` stable answers, lets them start, and answers each with `candidate` (or fails it). */
async function shadowed(h: ReturnType<typeof harness>, count: number, candidate: InferAnswer | Error): Promise<void> {
  for (let i = 0; i < count; i++) {
    h.rollout.shadow(call, STABLE);
    await turn();
    const p = h.pending.shift()!;
    if (candidate instanceof Error) p.reject(candidate);
    else p.resolve(candidate);
    await turn();
  }
}

/** Through the shadow stage into canary 20 % at 1 s. */
async function inCanary() {
  const h = harness();
  h.rollout.begin();
  await shadowed(h, 3, answer('2', [0.1, 0.9]));
  h.clock.ms = 1_000;
  if (h.rollout.tick() !== 'advance') throw new Error('the shadow stage should have ended');
  return h;
}

t.test('preparing: no candidate traffic, no shadow copy and no stage before begin()', async (t) => {
  const { rollout, pending } = harness();
  t.same([rollout.model, rollout.stable, rollout.candidate], ['m', '1', '2']);
  t.equal(rollout.state, 'preparing');
  t.equal(rollout.running, true);
  t.equal(rollout.candidatePercent, 0);
  t.equal(rollout.toCandidate('user-1'), false);
  t.equal(rollout.toCandidate(undefined), false, 'random 0 would otherwise split to the candidate');
  rollout.shadow(call, STABLE);
  await turn();
  t.equal(pending.length, 0, 'nothing shadowed');
  t.equal(rollout.tick(), 'stay');
  const status = rollout.status();
  t.equal(status.stage, null);
  t.same(status.shadow, { sent: 0, skippedAtCap: 0, inFlight: 0 });
  t.same(status.history, [{ at: at(0), state: 'preparing', detail: 'candidate 2 against stable 1: starting 1 candidate worker' }]);
});

t.test('the shadow stage: no live candidate traffic; copies at most shadow.percent, after this turn, never beyond maxConcurrent', async (t) => {
  const h = harness();
  const { rollout, rng, pending, clock } = h;
  clock.ms = 50;
  rollout.begin();
  t.equal(rollout.state, 'shadow');
  t.equal(rollout.candidatePercent, 0);
  t.equal(rollout.toCandidate('user-1'), false);
  t.equal(rollout.toCandidate(undefined), false, 'the shadow stage sends no live request to the candidate');
  t.same(rollout.status().history.at(-1), {
    at: at(50),
    state: 'shadow',
    detail: 'stage 1 of 4: 50 % of stable answers copied; at least 1000 ms and 3 candidate requests; gates agreement',
  });

  // 50 %: a draw of 0.5 (50 ≥ 50) is not copied, 0.49 is.
  for (const draw of [0.99, 0.5]) {
    rng.draw = draw;
    rollout.shadow(call, STABLE);
  }
  t.same(rollout.status().shadow, { sent: 0, skippedAtCap: 0, inFlight: 0 }, 'draws 0.99 and 0.5: not copied');
  rng.draw = 0.49;
  rollout.shadow(call, STABLE);
  t.same(rollout.status().shadow, { sent: 1, skippedAtCap: 0, inFlight: 1 });
  t.equal(pending.length, 0, 'the copy does not run inside shadow()');
  await turn();
  t.equal(pending.length, 1, 'it runs on the next turn');
  t.equal(pending[0]!.call, call);
  t.equal(pending[0]!.version, '2');

  rollout.shadow(call, STABLE);
  rollout.shadow(call, STABLE); // the cap: 2 in flight
  rollout.shadow(call, STABLE);
  t.same(rollout.status().shadow, { sent: 2, skippedAtCap: 2, inFlight: 2 });
  await turn();
  t.equal(pending.length, 2);

  clock.ms = 80;
  pending.shift()!.resolve(answer('2', [0.1, 0.9]));
  await turn();
  let status = rollout.status();
  t.same(status.shadow, { sent: 2, skippedAtCap: 2, inFlight: 1 });
  t.equal(status.stage?.candidateRequests, 1, 'an answered copy counts toward minRequests');
  t.same(status.readings.candidate, { requests: 1, errors: 0, p99Ms: 30 }, 'started at 50 ms, answered at 80 ms');
  t.same(status.readings.agreement, { comparisons: 1, maxAbsDiff: 0, argmaxRows: 1, argmaxAgreeingRows: 1 });

  rollout.shadow(call, STABLE);
  t.same(rollout.status().shadow, { sent: 3, skippedAtCap: 2, inFlight: 2 }, 'a finished copy frees its place');
  await turn();
  pending.shift()!.reject(new Error('candidate crashed'));
  await turn();
  status = rollout.status();
  t.same(status.shadow, { sent: 3, skippedAtCap: 2, inFlight: 1 });
  t.equal(status.stage?.candidateRequests, 2, 'a failed copy counts too');
  t.same(status.readings.candidate, { requests: 2, errors: 1, p99Ms: 30 }, 'a failure is no latency sample');
  t.equal(status.readings.agreement.comparisons, 1, 'a failed copy is no comparison');
  pending.shift()!.resolve(answer('2', [0.1, 0.9]));
  await turn();
  t.same(rollout.status().shadow, { sent: 3, skippedAtCap: 2, inFlight: 0 });
});

t.test('settled(): stable legs feed the stable arm, candidate legs the candidate arm and the stage count', async (t) => {
  const { rollout, clock } = harness();
  rollout.begin();
  clock.ms = 10;
  rollout.settled(false, 5, false);
  rollout.settled(false, 9, true);
  rollout.settled(true, 7, false);
  rollout.settled(true, 3, true);
  const { readings, stage } = rollout.status();
  t.same(readings.stable, { requests: 2, errors: 1, p99Ms: 5 });
  t.same(readings.candidate, { requests: 2, errors: 1, p99Ms: 7 });
  t.equal(stage?.candidateRequests, 2, 'stable legs do not count');
});

t.test('the shadow stage ends only when minDurationMs, minRequests and every gate are met', async (t) => {
  const same = answer('2', [0.1, 0.9]);
  const rows: Array<{ name: string; copies: number; live: number; atMs: number; move: string; gate: string }> = [
    { name: 'all met', copies: 2, live: 1, atMs: 1_000, move: 'advance', gate: 'pass' },
    { name: '1 ms short', copies: 2, live: 1, atMs: 999, move: 'stay', gate: 'pass' },
    { name: '2 of 3 requests', copies: 2, live: 0, atMs: 5_000, move: 'stay', gate: 'pass' },
    { name: 'agreement waits for its 2 comparisons', copies: 1, live: 2, atMs: 5_000, move: 'stay', gate: 'waiting' },
    { name: 'no comparison at all', copies: 0, live: 3, atMs: 5_000, move: 'stay', gate: 'waiting' },
  ];
  for (const row of rows) {
    const h = harness();
    h.rollout.begin();
    await shadowed(h, row.copies, same);
    for (let i = 0; i < row.live; i++) h.rollout.settled(true, 4, false);
    h.clock.ms = row.atMs;
    t.equal(h.rollout.tick(), row.move, `${row.name}: ${row.move}`);
    t.equal(h.rollout.status().gates[0]?.status, row.gate, `${row.name}: agreement ${row.gate}`);
    t.equal(h.rollout.state, row.move === 'advance' ? 'canary' : 'shadow');
  }
});

t.test('advance into canary: its percent, a stage that starts afresh, and a sticky split by session key', async (t) => {
  const h = await inCanary();
  const { rollout, rng } = h;
  t.equal(rollout.state, 'canary');
  t.equal(rollout.candidatePercent, 20);
  const status = rollout.status();
  t.same(status.stage, { index: 1, kind: 'canary', percent: 20, startedAt: at(1_000), candidateRequests: 0 });
  t.same(status.gates, [{ gate: 'agreement', status: 'pass', detail: 'max abs diff 0 (max 0), top-1 agrees on 100.0 % of 3 rows (min 99 %), 3 comparisons' }], 'the readings that let the shadow stage end');
  t.same(status.history.at(-1), {
    at: at(1_000),
    state: 'canary',
    detail: 'stage 2 of 4: 20 % of requests naming no version; at least 1000 ms and 3 candidate requests; gates errors',
  });

  const keys = Array.from({ length: 2_000 }, (_, i) => `session-${i}`);
  rng.draw = 0.99; // a keyed split never draws
  const first = keys.map((k) => rollout.toCandidate(k));
  const again = keys.map((k) => rollout.toCandidate(k));
  t.same(again, first, 'the same key gets the same version on every call');
  const onCandidate = first.filter(Boolean).length;
  t.ok(onCandidate >= 360 && onCandidate <= 440, `${onCandidate} of 2000 keys on the candidate (20 % ± 2)`);

  // Without a key, each request draws: below 20 % goes to the candidate.
  rng.draw = 0.19;
  t.equal(rollout.toCandidate(undefined), true);
  rng.draw = 0.2;
  t.equal(rollout.toCandidate(undefined), false);
  rng.random = mulberry32(7);
  let drawn = 0;
  for (let i = 0; i < 2_000; i++) if (rollout.toCandidate(undefined)) drawn++;
  t.ok(drawn >= 360 && drawn <= 440, `${drawn} of 2000 unkeyed requests on the candidate (seeded)`);
  rng.random = undefined;

  // Canary 20 % → 50 %: the keys already on the candidate stay there.
  for (let i = 0; i < 3; i++) rollout.settled(true, 4, false);
  h.clock.ms = 2_000;
  t.equal(rollout.tick(), 'advance');
  t.equal(rollout.candidatePercent, 50);
  const later = keys.map((k) => rollout.toCandidate(k));
  t.ok(first.every((was, i) => !was || later[i]), 'no session moves back to stable as the share grows');
  t.ok(later.filter(Boolean).length > onCandidate);
});

t.test('the last canary stage ends in promote; promoting() and finished() take the rollout to promoted', async (t) => {
  const h = await inCanary();
  const { rollout, clock } = h;
  for (let i = 0; i < 3; i++) rollout.settled(true, 4, false);
  clock.ms = 2_000;
  t.equal(rollout.tick(), 'advance', 'canary 20 % → canary 50 %');
  rollout.settled(true, 4, false);
  rollout.settled(true, 4, false);
  clock.ms = 2_999;
  t.equal(rollout.tick(), 'stay', '999 ms and 2 requests into the last canary');
  rollout.settled(true, 4, false);
  clock.ms = 3_000;
  t.equal(rollout.tick(), 'promote');
  t.equal(rollout.state, 'canary', 'tick() only asks; the control promotes');
  t.equal(rollout.candidatePercent, 50);

  rollout.promoting();
  t.equal(rollout.state, 'promoting');
  t.equal(rollout.running, true);
  t.equal(rollout.candidatePercent, 0, 'requests naming no version stay on stable while replicas load the candidate');
  t.equal(rollout.toCandidate('session-1'), false);
  t.equal(rollout.tick(), 'stay', 'no gated stage left');
  t.same(rollout.status().stage, { index: 3, kind: 'promote', percent: 100, startedAt: at(2_000), candidateRequests: 3 });

  clock.ms = 3_500;
  rollout.finished('promoted', 'stable label moved to 2');
  t.equal(rollout.state, 'promoted');
  t.equal(rollout.running, false);
  t.equal(rollout.candidatePercent, 100);
  const { history, reason } = rollout.status();
  t.equal(reason, null);
  t.same(
    history.map((e) => [e.at, e.state]),
    [[at(0), 'preparing'], [at(0), 'shadow'], [at(1_000), 'canary'], [at(2_000), 'canary'], [at(3_000), 'promoting'], [at(3_500), 'promoted']],
    'history in order',
  );
  t.same(history.at(-2)?.detail, 'gates passed: every replica loads 2, then the stable label moves to it');
  t.same(history.at(-1)?.detail, 'stable label moved to 2');
});

t.test('answers that differ from stable fail the agreement gate at once: rollback naming it', async (t) => {
  const h = harness();
  const { rollout, clock, pending } = h;
  rollout.begin();
  await shadowed(h, 2, answer('2', [0.9, 0.1]));
  clock.ms = 10;
  const reason = 'gate agreement failed: max abs diff 0.8 (max 0), top-1 agrees on 0.0 % of 2 rows (min 99 %), 2 comparisons';
  t.equal(rollout.tick(), 'rollback', 'long before minDurationMs');
  t.equal(rollout.reason, reason);
  t.equal(rollout.status().gates[0]?.status, 'fail');
  t.equal(rollout.state, 'shadow', 'tick() only asks; the control rolls back');

  rollout.rollingBack('aborted by an admin');
  t.equal(rollout.state, 'rolling-back');
  t.equal(rollout.reason, reason, 'the first reason stands');
  t.same(rollout.status().history.at(-1), { at: at(10), state: 'rolling-back', detail: reason });
  t.equal(rollout.toCandidate('session-1'), false);
  rollout.shadow(call, STABLE);
  await turn();
  t.equal(pending.length, 0, 'no copy while rolling back');
  t.equal(rollout.tick(), 'stay');

  rollout.finished('rolled-back', 'candidate released');
  t.equal(rollout.state, 'rolled-back');
  t.equal(rollout.running, false);
  t.equal(rollout.candidatePercent, 0);
  const status = rollout.status();
  t.equal(status.reason, reason);
  t.same(status.history.map((e) => e.state), ['preparing', 'shadow', 'rolling-back', 'rolled-back']);
});

t.test('candidate errors fail the errors gate in a canary stage', async (t) => {
  const h = await inCanary();
  const { rollout, clock } = h;
  rollout.settled(false, 4, false);
  rollout.settled(true, 4, true);
  clock.ms = 1_100;
  // The window still holds the shadow stage's 3 answered copies: 1 error in 4 candidate requests.
  const reason = 'gate errors failed: candidate 25.0 % errors vs stable 0.0 % (max increase 0 points), 4 requests';
  t.equal(rollout.tick(), 'rollback', 'before minDurationMs and minRequests');
  t.equal(rollout.reason, reason);
  t.same(rollout.status().gates, [{ gate: 'errors', status: 'fail', detail: reason.slice('gate errors failed: '.length) }]);
  t.equal(rollout.status().reason, reason);
});

t.test('a rollback reason from rollingBack() when no gate failed', async (t) => {
  const { rollout } = harness();
  rollout.begin();
  rollout.rollingBack('aborted by an admin');
  t.equal(rollout.reason, 'aborted by an admin');
  t.equal(rollout.status().reason, 'aborted by an admin');
});

t.test('pause(why) stops candidate traffic and shadowing and holds the stage; pause(undefined) resumes', async (t) => {
  const h = await inCanary();
  const { rollout, clock, pending } = h;
  const key = Array.from({ length: 100 }, (_, i) => `session-${i}`).find((k) => rollout.toCandidate(k))!;
  clock.ms = 1_200;
  rollout.pause('no candidate replica is ready');
  rollout.pause('no candidate replica is ready'); // the same reason: recorded once
  t.equal(rollout.toCandidate(key), false);
  t.equal(rollout.toCandidate(undefined), false);
  t.equal(rollout.candidatePercent, 0);
  rollout.shadow(call, STABLE);
  await turn();
  t.equal(pending.length, 0, 'no copy while paused');
  let status = rollout.status();
  t.equal(status.paused, 'no candidate replica is ready');
  t.equal(status.shadow.sent, 3);
  t.same(status.history.at(-1), { at: at(1_200), state: 'canary', detail: 'paused: no candidate replica is ready' });
  t.equal(status.history.filter((e) => e.detail.startsWith('paused')).length, 1);

  for (let i = 0; i < 3; i++) rollout.settled(true, 4, false);
  clock.ms = 5_000;
  t.equal(rollout.tick(), 'stay', 'every condition met, but paused');
  t.equal(rollout.status().gates[0]?.status, 'pass', 'the gates are still read');

  clock.ms = 5_100;
  rollout.pause(undefined);
  status = rollout.status();
  t.equal(status.paused, null);
  t.same(status.history.at(-1), { at: at(5_100), state: 'canary', detail: 'resumed' });
  t.equal(rollout.toCandidate(key), true);
  t.equal(rollout.candidatePercent, 20);
  t.equal(rollout.tick(), 'advance');
});

t.test('a failed gate rolls back even while paused', async (t) => {
  const { rollout } = await inCanary();
  rollout.settled(true, 4, true);
  rollout.settled(true, 4, true);
  rollout.pause('no candidate replica is ready');
  t.equal(rollout.tick(), 'rollback');
  t.match(rollout.reason, /^gate errors failed: /);
});

t.test('a leg answered from the cache counts as a request but gives no latency sample', async (t) => {
  const { rollout } = await inCanary();
  rollout.settled(false, undefined, false);
  rollout.settled(false, 12, false);
  const { stable } = rollout.status().readings;
  t.same([stable.requests, stable.errors, stable.p99Ms], [2, 0, 12]);
});

t.test('a pause before begin() holds the first stage without a history entry', async (t) => {
  const { rollout } = harness();
  rollout.pause('candidate worker starting');
  t.equal(rollout.status().history.length, 1);
  rollout.begin();
  t.equal(rollout.state, 'shadow');
  t.equal(rollout.candidatePercent, 0);
  t.equal(rollout.status().paused, 'candidate worker starting');
});

t.test('status(): every field, and a history bounded to its last 50 events', async (t) => {
  const h = harness();
  const { rollout, clock } = h;
  const plan = rollout.plan;
  clock.ms = 100;
  rollout.begin();
  await shadowed(h, 1, answer('2', [0.1, 0.9]));
  rollout.settled(false, 6, false);
  clock.ms = 300;
  t.equal(rollout.tick(), 'stay');
  t.same(rollout.status(), {
    model: 'm',
    stable: '1',
    candidate: '2',
    state: 'shadow',
    stage: { index: 0, kind: 'shadow', percent: 0, startedAt: at(100), candidateRequests: 1 },
    paused: null,
    gates: [{ gate: 'agreement', status: 'waiting', detail: '1 of the 2 compared answers needed' }],
    readings: {
      stable: { requests: 1, errors: 0, p99Ms: 6 },
      candidate: { requests: 1, errors: 0, p99Ms: 0 },
      agreement: { comparisons: 1, maxAbsDiff: 0, argmaxRows: 1, argmaxAgreeingRows: 1 },
    },
    reason: null,
    shadow: { sent: 1, skippedAtCap: 0, inFlight: 0 },
    history: [
      { at: at(0), state: 'preparing', detail: 'candidate 2 against stable 1: starting 1 candidate worker' },
      { at: at(100), state: 'shadow', detail: 'stage 1 of 4: 50 % of stable answers copied; at least 1000 ms and 3 candidate requests; gates agreement' },
    ],
    plan,
  });

  for (let i = 0; i < 30; i++) {
    rollout.pause(`reason ${i}`);
    rollout.pause(undefined);
  }
  const { history } = rollout.status();
  t.equal(history.length, 50);
  t.same(history[0], { at: at(300), state: 'shadow', detail: 'paused: reason 5' }, 'the oldest 12 of 62 are dropped');
  t.same(history.at(-1), { at: at(300), state: 'shadow', detail: 'resumed' });
  history.length = 0;
  t.equal(rollout.status().history.length, 50, 'status() hands out a copy');
});
