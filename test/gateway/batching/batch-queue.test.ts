import fc from 'fast-check';
import t from 'tap';
import { decideBatch, expiredItems, type BatchPolicyConfig, type QueuedItem } from '../../../gateway/batching/batch-policy.ts';
import { BatchQueue } from '../../../gateway/batching/batch-queue.ts';
import { referenceDecideBatch, referenceExpiredItems, referenceRowsAhead, referenceSheddingVictim } from './reference-batch-policy.ts';

function item(id: number, fields: Partial<Omit<QueuedItem, 'id'>> = {}): QueuedItem {
  return { id, rows: 1, groupKey: 'g', priority: 1, enqueuedAtMs: 0, deadlineMs: 1000, ...fields };
}

t.test('the head is the highest priority, then the oldest, then the first queued', async (t) => {
  const queue = BatchQueue.of([item(1, { priority: 2 }), item(2, { enqueuedAtMs: 5 }), item(3, { enqueuedAtMs: 3 }), item(4, { enqueuedAtMs: 3 })]);
  const heads: number[] = [];
  for (let head = queue.head(); head; head = queue.head()) heads.push(queue.remove(head.id)!.id);
  t.same(heads, [3, 4, 2, 1]);
  t.equal(queue.size, 0);
  t.equal(queue.remove(3), undefined, 'removing twice finds nothing');
});

t.test('load shedding reads rows per priority and the victim without a scan', async (t) => {
  const queue = BatchQueue.of([item(1, { rows: 4 }), item(2, { priority: 2, rows: 3, enqueuedAtMs: 1 }), item(3, { priority: 3, rows: 2, enqueuedAtMs: 2 }), item(4, { priority: 3, enqueuedAtMs: 2 })]);
  t.same([1, 2, 3].map((p) => queue.rowsAtOrAbove(p)), [4, 7, 10]);
  t.equal(queue.sheddingVictim(1)?.id, 4, 'the newest of the lowest priority; a tie goes to the later arrival');
  t.equal(queue.sheddingVictim(3), undefined, 'nothing below the lowest priority');
  t.ok(queue.holdsLowerThan(2));
  t.notOk(queue.holdsLowerThan(3));
  queue.remove(4);
  queue.remove(3);
  t.equal(queue.sheddingVictim(1)?.id, 2, 'an emptied level is gone');
  t.same(queue.clear().map((i) => i.id), [1, 2], 'clear hands back what is left, in queue order');
  t.equal(queue.rowsAtOrAbove(3), 0);
});

t.test('the deadline heap follows removals', async (t) => {
  const deadlines = [50, 10, 30, 20, 40, Infinity, 10];
  const queue = BatchQueue.of(deadlines.map((deadlineMs, i) => item(i, { deadlineMs })));
  t.equal(queue.earliestDeadlineMs(), 10);
  t.same(expiredItems(queue, 30), [1, 2, 3, 6], 'every due item, in queue order');
  queue.remove(1);
  queue.remove(6);
  t.equal(queue.earliestDeadlineMs(), 20);
  queue.remove(3);
  queue.remove(0);
  t.equal(queue.earliestDeadlineMs(), 30);
  t.same(expiredItems(queue, 45), [2, 4]);
});

t.test('an arrival stamped out of order takes its place by age', async (t) => {
  const queue = BatchQueue.of([item(1, { enqueuedAtMs: 5 }), item(2, { enqueuedAtMs: 7 }), item(3, { enqueuedAtMs: 6 }), item(4, { enqueuedAtMs: 5 })]);
  const decision = decideBatch(queue, 10, 1, { maxBatchSize: 8, maxQueueDelayMs: 1, preferredBatchSizes: [] }, 0);
  t.same(decision, { kind: 'dispatch', ids: [1, 4, 3, 2], reason: 'delay' });
});

// Property: over random sequences of arrivals (some stamped out of order),
// cancellations, expiries, clock steps and dispatches, the indexed queue and
// policy answer exactly what the array version answers.

type Op =
  | { op: 'arrive'; priority: number; group: number; rows: number; deadlineInMs: number | null; stampedBackMs: number }
  | { op: 'cancel'; pick: number }
  | { op: 'tick'; ms: number }
  | { op: 'expire' }
  | { op: 'decide'; freeSlots: number; expectedRunMs: number; apply: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('arrive' as const),
      priority: fc.integer({ min: 1, max: 3 }),
      group: fc.integer({ min: 0, max: 3 }), // 3: a unique key (an unbatchable request)
      rows: fc.integer({ min: 0, max: 7 }),
      deadlineInMs: fc.option(fc.integer({ min: 0, max: 30 }), { freq: 4 }),
      stampedBackMs: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.constant(0.5)) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'expire' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('decide' as const), freeSlots: fc.integer({ min: 0, max: 2 }), expectedRunMs: fc.integer({ min: 0, max: 6 }), apply: fc.boolean() }) },
);

const configArb: fc.Arbitrary<BatchPolicyConfig> = fc.record({
  maxBatchSize: fc.integer({ min: 1, max: 12 }),
  maxQueueDelayMs: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(Infinity)),
  preferredBatchSizes: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 3 }).map((sizes) => sizes.sort((a, b) => a - b)),
});

t.test('the indexed policy decides exactly as the array version', async (t) => {
  let checks = 0;
  fc.assert(
    fc.property(configArb, fc.array(opArb, { minLength: 10, maxLength: 150, size: 'max' }), (config, ops) => {
      const queue = new BatchQueue();
      let array: QueuedItem[] = [];
      let nowMs = 0;
      let nextId = 0;
      const drop = (ids: readonly number[]) => {
        for (const id of ids) if (!queue.remove(id)) throw new Error(`id ${id} was not queued`);
        array = array.filter((q) => !ids.includes(q.id));
      };
      for (const op of ops) {
        if (op.op === 'arrive') {
          const id = nextId++;
          const groupKey = op.group === 3 ? `unique:${id}` : `g${op.group}`;
          const it = item(id, { priority: op.priority, groupKey, rows: op.rows, enqueuedAtMs: nowMs - op.stampedBackMs, deadlineMs: op.deadlineInMs === null ? Infinity : nowMs + op.deadlineInMs });
          queue.push(it);
          array.push(it);
        } else if (op.op === 'cancel') {
          if (array.length > 0) drop([array[op.pick % array.length]!.id]);
        } else if (op.op === 'tick') {
          nowMs += op.ms;
        } else if (op.op === 'expire') {
          const ids = expiredItems(queue, nowMs);
          if (JSON.stringify(ids) !== JSON.stringify(referenceExpiredItems(array, nowMs))) throw new Error(`expired ${JSON.stringify(ids)}, the reference ${JSON.stringify(referenceExpiredItems(array, nowMs))}`);
          drop(ids);
        } else {
          const decision = decideBatch(queue, nowMs, op.freeSlots, config, op.expectedRunMs);
          const expected = referenceDecideBatch(array, nowMs, op.freeSlots, config, op.expectedRunMs);
          if (JSON.stringify(decision) !== JSON.stringify(expected)) throw new Error(`decided ${JSON.stringify(decision)}, the reference ${JSON.stringify(expected)}`);
          checks++;
          if (op.apply && decision.kind === 'dispatch') drop(decision.ids);
        }
        if (queue.size !== array.length) throw new Error(`size ${queue.size}, the reference ${array.length}`);
        for (let p = 0; p <= 3; p++) {
          if (queue.rowsAtOrAbove(p) !== referenceRowsAhead(array, p)) throw new Error(`rows at or above ${p} differ`);
          if (queue.sheddingVictim(p)?.id !== referenceSheddingVictim(array, p)?.id) throw new Error(`shedding victim for ${p} differs`);
          if (queue.holdsLowerThan(p) !== array.some((q) => q.priority > p)) throw new Error(`holdsLowerThan ${p} differs`);
        }
      }
    }),
    { numRuns: 1500 },
  );
  t.ok(checks > 10_000, `${checks} decisions compared`);
});
