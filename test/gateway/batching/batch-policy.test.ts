import t, { type Test } from 'tap';
import { decideBatch, expectedWaitMs, expiredItems, type BatchDecision, type BatchPolicyConfig, type QueuedItem } from '../../../gateway/batching/batch-policy.ts';
import { BatchQueue } from '../../../gateway/batching/batch-queue.ts';
import { referenceDecideBatch } from './reference-batch-policy.ts';

const CONFIG: BatchPolicyConfig = { maxBatchSize: 8, maxQueueDelayMs: 5, preferredBatchSizes: [] };

/** A queued item with defaults: one row, group 'g', priority 1, enqueued at 0, deadline at 1000. */
function item(id: number, fields: Partial<Omit<QueuedItem, 'id'>> = {}): QueuedItem {
  return { id, rows: 1, groupKey: 'g', priority: 1, enqueuedAtMs: 0, deadlineMs: 1000, ...fields };
}

/** n one-row items with ids from `firstId`, all enqueued at `enqueuedAtMs`. */
function items(n: number, firstId = 1, enqueuedAtMs = 0): QueuedItem[] {
  return Array.from({ length: n }, (_, i) => item(firstId + i, { enqueuedAtMs }));
}

type Case = {
  name: string;
  queue: QueuedItem[];
  nowMs: number;
  freeSlots?: number;
  config?: Partial<BatchPolicyConfig>;
  expectedRunMs?: number;
  expected: BatchDecision;
};

const wait = (wakeInMs: number | null): BatchDecision => ({ kind: 'wait', wakeInMs });
const dispatch = (reason: Extract<BatchDecision, { kind: 'dispatch' }>['reason'], ...ids: number[]): BatchDecision => ({ kind: 'dispatch', ids, reason });

function check(t: Test, cases: readonly Case[]): void {
  for (const c of cases) {
    const config = { ...CONFIG, ...c.config };
    const decision = decideBatch(BatchQueue.of(c.queue), c.nowMs, c.freeSlots ?? 1, config, c.expectedRunMs ?? 0);
    t.same(decision, c.expected, c.name);
    // The array version the indexed one replaced agrees on every row of the table.
    t.same(referenceDecideBatch(c.queue, c.nowMs, c.freeSlots ?? 1, config, c.expectedRunMs ?? 0), c.expected, `${c.name} (reference)`);
  }
}

t.test('an empty queue waits for an arrival', async (t) => {
  check(t, [
    { name: 'free capacity', queue: [], nowMs: 7, expected: wait(null) },
    { name: 'no capacity', queue: [], nowMs: 7, freeSlots: 0, expected: wait(null) },
  ]);
});

t.test('without a free slot nothing is dispatched; it wakes for the earliest deadline', async (t) => {
  check(t, [
    { name: 'a full batch still waits', queue: items(8), nowMs: 10, freeSlots: 0, expected: wait(990) },
    { name: 'an overdue delay still waits', queue: [item(1, { deadlineMs: 100 }), item(2, { deadlineMs: 50 })], nowMs: 10, freeSlots: 0, expected: wait(40) },
    { name: 'an oversize request still waits', queue: [item(1, { rows: 20, deadlineMs: 30 })], nowMs: 10, freeSlots: 0, expected: wait(20) },
    { name: 'any group counts for the deadline', queue: [item(1), item(2, { groupKey: 'h', priority: 3, deadlineMs: 12.5 })], nowMs: 10, freeSlots: 0, expected: wait(2.5) },
    { name: 'a passed deadline: never negative', queue: [item(1, { deadlineMs: 5 })], nowMs: 10, freeSlots: 0, expected: wait(0) },
    { name: 'no finite deadline', queue: [item(1, { deadlineMs: Infinity })], nowMs: 10, freeSlots: 0, expected: wait(null) },
  ]);
});

t.test('a head request as large as a batch runs alone', async (t) => {
  check(t, [
    { name: 'larger than maxBatchSize', queue: [item(1, { rows: 12 }), item(2)], nowMs: 0, expected: dispatch('oversize', 1) },
    { name: 'exactly maxBatchSize', queue: [item(1, { rows: 8 }), item(2)], nowMs: 0, expected: dispatch('oversize', 1) },
    { name: 'behind the head it neither joins nor blocks', queue: [item(1), item(2, { rows: 9 }), item(3)], nowMs: 1, expected: wait(4) },
    { name: 'its turn comes when it is the head', queue: [item(2, { rows: 9 }), item(3, { enqueuedAtMs: 1 })], nowMs: 1, expected: dispatch('oversize', 2) },
  ]);
});

t.test('a batch that reaches maxBatchSize rows dispatches at once', async (t) => {
  check(t, [
    { name: 'eight one-row requests', queue: items(8), nowMs: 0, expected: dispatch('full', 1, 2, 3, 4, 5, 6, 7, 8) },
    { name: 'the ninth waits for the next batch', queue: items(9), nowMs: 0, expected: dispatch('full', 1, 2, 3, 4, 5, 6, 7, 8) },
    { name: 'multi-row requests add their rows', queue: [item(1, { rows: 3 }), item(2, { rows: 5 })], nowMs: 0, expected: dispatch('full', 1, 2) },
    { name: 'greedy first fit skips what does not fit', queue: [item(1, { rows: 3 }), item(2, { rows: 4 }), item(3, { rows: 2 }), item(4)], nowMs: 0, expected: dispatch('full', 1, 2, 4) },
    { name: 'a 0-row request takes a slot', queue: Array.from({ length: 8 }, (_, i) => item(i + 1, { rows: 0 })), nowMs: 0, expected: dispatch('full', 1, 2, 3, 4, 5, 6, 7, 8) },
    { name: 'maxBatchSize 1 behaves as no batching', queue: items(3), nowMs: 0, config: { maxBatchSize: 1 }, expected: dispatch('oversize', 1) },
  ]);
});

t.test('the largest prefix of a preferred size dispatches', async (t) => {
  check(t, [
    { name: 'exactly a preferred size', queue: items(4), nowMs: 0, config: { preferredBatchSizes: [4] }, expected: dispatch('preferred', 1, 2, 3, 4) },
    { name: 'more than one: the first four go', queue: items(5), nowMs: 0, config: { preferredBatchSizes: [4] }, expected: dispatch('preferred', 1, 2, 3, 4) },
    { name: 'the largest reachable size wins', queue: items(5), nowMs: 0, config: { preferredBatchSizes: [2, 4, 6] }, expected: dispatch('preferred', 1, 2, 3, 4) },
    { name: 'only an exact prefix counts', queue: [item(1, { rows: 3 }), item(2, { rows: 2 })], nowMs: 0, config: { preferredBatchSizes: [4] }, expected: wait(5) },
    { name: 'a skipped item is not in the prefix', queue: [item(1, { rows: 5 }), item(2, { rows: 4 }), item(3)], nowMs: 0, config: { preferredBatchSizes: [6] }, expected: dispatch('preferred', 1, 3) },
    { name: 'maxBatchSize beats a preferred size', queue: items(8), nowMs: 0, config: { preferredBatchSizes: [4, 8] }, expected: dispatch('full', 1, 2, 3, 4, 5, 6, 7, 8) },
    { name: 'a due delay sends a larger whole batch', queue: items(3), nowMs: 5, config: { preferredBatchSizes: [2] }, expected: dispatch('delay', 1, 2, 3) },
    { name: 'a due delay with an equal batch: preferred', queue: items(3), nowMs: 5, config: { preferredBatchSizes: [3] }, expected: dispatch('preferred', 1, 2, 3) },
    { name: 'a due deadline sends a larger whole batch', queue: [...items(2), item(3, { deadlineMs: 4 })], nowMs: 1, expectedRunMs: 3, config: { preferredBatchSizes: [2] }, expected: dispatch('deadline', 1, 2, 3) },
  ]);
});

t.test('the oldest request in the batch waits at most maxQueueDelayMs', async (t) => {
  check(t, [
    { name: 'not yet', queue: items(2), nowMs: 1, expected: wait(4) },
    { name: 'exactly the delay', queue: items(2), nowMs: 5, expected: dispatch('delay', 1, 2) },
    { name: 'past the delay', queue: items(2), nowMs: 50, expected: dispatch('delay', 1, 2) },
    { name: 'delay 0 dispatches at once', queue: items(1), nowMs: 0, config: { maxQueueDelayMs: 0 }, expected: dispatch('delay', 1) },
    { name: 'fractional delay, not yet', queue: items(1, 1, 10), nowMs: 10.25, config: { maxQueueDelayMs: 0.5 }, expected: wait(0.25) },
    { name: 'fractional delay, used up', queue: items(1, 1, 10), nowMs: 10.5, config: { maxQueueDelayMs: 0.5 }, expected: dispatch('delay', 1) },
    {
      name: 'the oldest member counts, not the head',
      queue: [item(1, { priority: 2, enqueuedAtMs: 0 }), item(2, { priority: 1, enqueuedAtMs: 4 })],
      nowMs: 5,
      expected: dispatch('delay', 2, 1),
    },
  ]);
});

t.test('a request that would miss its deadline by waiting dispatches now', async (t) => {
  check(t, [
    { name: 'deadline minus run time reached', queue: [item(1, { deadlineMs: 4 })], nowMs: 1, expectedRunMs: 3, expected: dispatch('deadline', 1) },
    { name: 'not yet: wake when it is', queue: [item(1, { deadlineMs: 4.5 })], nowMs: 1, expectedRunMs: 3, expected: wait(0.5) },
    { name: 'the earliest deadline in the batch', queue: [item(1), item(2, { deadlineMs: 3 })], nowMs: 1, expectedRunMs: 2, expected: dispatch('deadline', 1, 2) },
    { name: 'run time 0: wait until the deadline or the delay', queue: [item(1, { deadlineMs: 3 })], nowMs: 1, expected: wait(2) },
  ]);
});

t.test('waiting wakes at the first moment a rule could change the answer', async (t) => {
  check(t, [
    { name: 'the delay comes first', queue: [item(1, { enqueuedAtMs: 1 })], nowMs: 2, expectedRunMs: 10, expected: wait(4) },
    { name: 'the deadline comes first', queue: [item(1, { enqueuedAtMs: 1, deadlineMs: 15 })], nowMs: 2, expectedRunMs: 10, expected: wait(3) },
    { name: 'no delay limit and no deadline: only arrivals change it', queue: [item(1, { deadlineMs: Infinity })], nowMs: 2, config: { maxQueueDelayMs: Infinity }, expected: wait(null) },
    { name: 'another group expires first', queue: [item(1, { enqueuedAtMs: 1 }), item(2, { groupKey: 'h', priority: 2, deadlineMs: 3 })], nowMs: 2, expected: wait(1) },
  ]);
});

t.test('higher priority leads the batch and groups never mix', async (t) => {
  check(t, [
    { name: 'a high-priority later arrival leads', queue: [item(1, { priority: 2 }), item(2, { priority: 2, enqueuedAtMs: 1 }), item(3, { enqueuedAtMs: 3 })], nowMs: 3, config: { maxBatchSize: 2 }, expected: dispatch('full', 3, 1) },
    { name: 'the high-priority group goes first', queue: [item(1, { groupKey: 'a', priority: 2 }), item(2, { groupKey: 'b', enqueuedAtMs: 3 })], nowMs: 3, config: { maxQueueDelayMs: 0 }, expected: dispatch('delay', 2) },
    { name: 'low priority waits behind a waiting high-priority group', queue: [item(1, { groupKey: 'a', priority: 2 }), item(2, { groupKey: 'b', enqueuedAtMs: 3 })], nowMs: 3, expected: wait(5) },
    { name: 'another group never joins', queue: [item(1), item(2, { groupKey: 'h' }), item(3)], nowMs: 5, expected: dispatch('delay', 1, 3) },
    { name: 'another group is not counted toward full', queue: [...items(7), item(8, { groupKey: 'h' })], nowMs: 0, expected: wait(5) },
    { name: 'same priority and age keep queue order', queue: [item(5), item(3), item(4)], nowMs: 5, config: { maxBatchSize: 2 }, expected: dispatch('full', 5, 3) },
    { name: 'priority orders members inside the batch', queue: [item(1, { priority: 3 }), item(2, { priority: 2 }), item(3, { priority: 1, enqueuedAtMs: 2 })], nowMs: 5, expected: dispatch('delay', 3, 2, 1) },
  ]);
});

t.test('expiredItems lists every id whose deadline is at or before now', async (t) => {
  const queue = BatchQueue.of([item(1, { deadlineMs: 10 }), item(2, { deadlineMs: 10.5 }), item(3, { deadlineMs: 3 }), item(4, { deadlineMs: Infinity })]);
  const table: Array<[number, number[]]> = [[0, []], [3, [3]], [10, [1, 3]], [10.25, [1, 3]], [10.5, [1, 2, 3]], [1e12, [1, 2, 3]]];
  for (const [nowMs, ids] of table) t.same(expiredItems(queue, nowMs), ids, `at ${nowMs} ms`);
  t.same(expiredItems(new BatchQueue(), 5), []);
});

type Event = { atMs: number; batch?: number[]; reason?: string; expired?: number[] };

/**
 * A discrete-event driver standing in for the batcher: it admits arrivals,
 * expires, asks the policy, dispatches while the answer is "dispatch" (each
 * batch holds a slot for runMs) and then jumps to the next arrival, wake-up
 * or completion. Time moves only here; nothing sleeps.
 */
function simulate(arrivals: readonly QueuedItem[], config: BatchPolicyConfig, slots: number, runMs: number): Event[] {
  const pending = [...arrivals].sort((a, b) => a.enqueuedAtMs - b.enqueuedAtMs);
  const queue = new BatchQueue();
  let busyUntil: number[] = [];
  const events: Event[] = [];
  let nowMs = 0;
  for (let step = 0; step < 1000; step++) {
    while (pending[0] !== undefined && pending[0].enqueuedAtMs <= nowMs) queue.push(pending.shift()!);
    busyUntil = busyUntil.filter((end) => end > nowMs);
    const expired = expiredItems(queue, nowMs);
    if (expired.length > 0) {
      events.push({ atMs: nowMs, expired });
      for (const id of expired) queue.remove(id);
    }
    let decision = decideBatch(queue, nowMs, slots - busyUntil.length, config, runMs);
    while (decision.kind === 'dispatch') {
      const ids = decision.ids;
      events.push({ atMs: nowMs, batch: ids, reason: decision.reason });
      for (const id of ids) queue.remove(id);
      busyUntil.push(nowMs + runMs);
      decision = decideBatch(queue, nowMs, slots - busyUntil.length, config, runMs);
    }
    const next = Math.min(pending[0]?.enqueuedAtMs ?? Infinity, decision.wakeInMs === null ? Infinity : nowMs + decision.wakeInMs, ...busyUntil);
    if (next === Infinity) return events;
    nowMs = next;
  }
  throw new Error('the simulation did not settle');
}

t.test('simulation: batches grow while the only replica is busy', async (t) => {
  const config: BatchPolicyConfig = { maxBatchSize: 4, maxQueueDelayMs: 2, preferredBatchSizes: [] };
  const arrivals = [
    item(1, { enqueuedAtMs: 0 }),
    item(2, { enqueuedAtMs: 0.5 }),
    item(3, { enqueuedAtMs: 1 }),
    item(4, { enqueuedAtMs: 3 }),
    item(5, { enqueuedAtMs: 4, rows: 2 }),
    item(6, { enqueuedAtMs: 5 }),
    item(7, { enqueuedAtMs: 6 }),
    item(8, { enqueuedAtMs: 13, deadlineMs: 20 }),
  ];
  t.same(simulate(arrivals, config, 1, 10), [
    { atMs: 2, batch: [1, 2, 3], reason: 'delay' }, // the first request's delay runs out
    { atMs: 12, batch: [4, 5, 6], reason: 'full' }, // held while busy; 7 would make 5 rows
    { atMs: 20, expired: [8] }, // woken for 8's deadline while the replica is still busy
    { atMs: 22, batch: [7], reason: 'delay' },
  ]);
});

t.test('simulation: two replicas, priorities and preferred sizes', async (t) => {
  const config: BatchPolicyConfig = { maxBatchSize: 8, maxQueueDelayMs: 1, preferredBatchSizes: [2, 4] };
  const arrivals = [
    item(1, { enqueuedAtMs: 0, priority: 2 }),
    item(2, { enqueuedAtMs: 0.25, priority: 2 }),
    item(3, { enqueuedAtMs: 0.5, priority: 2 }),
    item(4, { enqueuedAtMs: 0.75, priority: 2, groupKey: 'seq32' }),
    item(5, { enqueuedAtMs: 1, priority: 1 }),
    item(6, { enqueuedAtMs: 1.25, priority: 2 }),
    item(7, { enqueuedAtMs: 1.5, priority: 1, groupKey: 'seq32', rows: 3 }),
  ];
  t.same(simulate(arrivals, config, 2, 4), [
    { atMs: 0.25, batch: [1, 2], reason: 'preferred' }, // 2 rows: a preferred size at once
    { atMs: 1, batch: [5, 3], reason: 'preferred' }, // the priority-1 arrival leads and takes 3 along
    // Both replicas busy: 6 and the seq32 group wait (a different groupKey never joins).
    { atMs: 4.25, batch: [7, 4], reason: 'preferred' }, // priority 1 leads; 3 + 1 rows = 4
    { atMs: 5, batch: [6], reason: 'delay' }, // the second replica frees; 6 is long overdue
  ]);
});

t.test('load shedding: expected wait of a request behind a queue', async (t) => {
  const rows: Array<[number, number, number, number, number | null, number | null]> = [
    // rowsAhead, maxBatchSize, replicaSlots, expectedRunMs, drain rows/ms, expected wait (null: goes in the next batch, never shed)
    [0, 64, 2, 5, null, null],
    [127, 64, 2, 5, null, null],
    [128, 64, 2, 5, null, 5], // one full round ahead, at the recent run time
    [640, 64, 2, 5, null, 25],
    [640, 64, 0, 5, null, null], // no replica ready: waiting for one is bounded elsewhere
    [1000, 8, 1, 2, null, 250],
    [640, 64, 2, 5, 16, 40], // a measured drain rate wins: 640 rows at 16 rows/ms
    [100, 64, 2, 5, 16, null], // …but never for a request that goes in the next round
    [640, 64, 2, 5, 0, 25], // a rate of 0 says nothing
  ];
  for (const [ahead, max, slots, run, rate, expected] of rows) t.equal(expectedWaitMs(ahead, max, slots, run, rate), expected, `${ahead} rows ahead, rate ${rate}`);
});
