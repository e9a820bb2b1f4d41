// The dynamic batch policy: given the queue, the time and how many replicas
// could take a batch right now, answer "dispatch these ids" or "wait T ms".
// Pure, like Triton's dynamic batch scheduler's decision step
// (core/src/dynamic_batch_scheduler.cc): the batcher owns the queue, the
// timer and the I/O, and calls decideBatch again after every arrival, every
// completion and every wake-up.
//
// Rules, first match wins:
//
//   queue empty ─────────────────────────────────▶ wait (null: until an arrival)
//   no free slot ────────────────────────────────▶ wait until the earliest deadline
//   head.rows ≥ maxBatchSize ────────────────────▶ dispatch [head]        'oversize'
//   candidate rows = maxBatchSize ───────────────▶ dispatch candidate     'full'
//   a prefix sums to a preferred size ───────────▶ dispatch that prefix   'preferred'
//   oldest in candidate waited ≥ maxQueueDelayMs ▶ dispatch candidate     'delay'
//   earliest deadline − now ≤ expectedRunMs ─────▶ dispatch candidate     'deadline'
//   otherwise ───────────────────────────────────▶ wait until one of the last two holds
//
// The head is the highest-priority, then oldest, item. The candidate is built
// from the head's group (equal groupKey) in (priority, age) order by greedy
// first fit: each item is added if the rows still fit, otherwise skipped, so a
// smaller item further back may fill the gap.
//
// Cost: the policy reads the queue through BatchQueueView (batch-queue.ts),
// never scanning it: the head, the earliest deadline and the group's FIFOs
// per (priority, slot rows) are indexed. Greedy first fit over those FIFOs is
// a k-way merge in (priority, age) order of the buckets whose rows still fit:
// an item that does not fit now never will (the room only shrinks), so a whole
// bucket drops out at once instead of being skipped item by item. A decision
// costs O(levels + batch items × distinct row counts in the group), whatever
// the queue length; the decisions are exactly those of the array version.
//
// Capacity awareness: with no free slot a dispatched batch would only queue in
// a worker's socket, where it can no longer grow or be expired. Holding it here
// instead lets it fill up while the replicas are busy (Triton does the same
// when every model instance is busy).

import { slotRows, type BatchQueueView, type QueueEntry, type QueuedItem } from './batch-queue.ts';

export type BatchPolicyConfig = {
  /** Most rows in one batch. */
  maxBatchSize: number;
  /** How long the oldest item may wait for company; may be fractional; 0 = dispatch as soon as there is capacity. */
  maxQueueDelayMs: number;
  /** Ascending row counts that are dispatched as soon as they are reached; may be empty. */
  preferredBatchSizes: readonly number[];
};

export type { QueuedItem } from './batch-queue.ts';

export type DispatchReason = 'full' | 'preferred' | 'delay' | 'deadline' | 'oversize';

export type BatchDecision =
  | { kind: 'dispatch'; ids: number[]; reason: DispatchReason }
  /** null: nothing changes until a new arrival or free capacity. */
  | { kind: 'wait'; wakeInMs: number | null };

/** The earliest deadline in the queue minus now, never negative; null when no deadline is finite. */
function untilEarliestDeadline(queue: BatchQueueView, nowMs: number): number | null {
  const earliest = queue.earliestDeadlineMs();
  return Number.isFinite(earliest) ? Math.max(0, earliest - nowMs) : null;
}

/** Same priority: older first, then queue order. */
function earlier(a: QueueEntry, b: QueueEntry): boolean {
  return a.item.enqueuedAtMs < b.item.enqueuedAtMs || (a.item.enqueuedAtMs === b.item.enqueuedAtMs && a.seq < b.seq);
}

/**
 * Greedy first fit over the head's group in (priority, age) order, up to
 * maxBatchSize rows. Per level, one cursor per row bucket; the next member
 * is the oldest cursor among the buckets that still fit (buckets ascend in
 * rows, so the scan stops at the first that does not).
 */
function firstFit(queue: BatchQueueView, groupKey: string, maxBatchSize: number): { items: QueuedItem[]; rows: number } {
  const items: QueuedItem[] = [];
  let rows = 0;
  for (const buckets of queue.groupBuckets(groupKey)) {
    const cursors = buckets.map((bucket) => bucket.first);
    for (;;) {
      const room = maxBatchSize - rows;
      let next = -1;
      for (let i = 0; i < buckets.length && buckets[i]!.slotRows <= room; i++) {
        const cursor = cursors[i];
        if (cursor && (next === -1 || earlier(cursor, cursors[next]!))) next = i;
      }
      if (next === -1) break;
      const entry = cursors[next]!;
      items.push(entry.item);
      rows += buckets[next]!.slotRows;
      if (rows === maxBatchSize) return { items, rows };
      cursors[next] = entry.nextInBucket;
    }
  }
  return { items, rows };
}

/**
 * Decides what to do with `queue` now. Remove `expiredItems` first: an item
 * already past its deadline makes every wait 0 (its expiry is due now).
 * `freeSlots` counts the batches ready replicas could start at once;
 * `expectedRunMs` is how long a batch is expected to take once dispatched.
 */
export function decideBatch(queue: BatchQueueView, nowMs: number, freeSlots: number, config: BatchPolicyConfig, expectedRunMs: number): BatchDecision {
  const head = queue.head();
  if (head === undefined) return { kind: 'wait', wakeInMs: null };
  // Wake only to let the caller expire the first item whose deadline passes.
  if (freeSlots <= 0) return { kind: 'wait', wakeInMs: untilEarliestDeadline(queue, nowMs) };

  if (slotRows(head) >= config.maxBatchSize) return dispatch([head], 'oversize');

  // The head sorts first in its group and fits, so it is always taken.
  const { items: candidate, rows } = firstFit(queue, head.groupKey, config.maxBatchSize);
  if (rows === config.maxBatchSize) return dispatch(candidate, 'full');

  let oldestEnqueuedAtMs = Infinity;
  let earliestDeadlineMs = Infinity;
  for (const item of candidate) {
    oldestEnqueuedAtMs = Math.min(oldestEnqueuedAtMs, item.enqueuedAtMs);
    earliestDeadlineMs = Math.min(earliestDeadlineMs, item.deadlineMs);
  }
  const delayDue = nowMs - oldestEnqueuedAtMs >= config.maxQueueDelayMs;
  const deadlineDue = earliestDeadlineMs - nowMs <= expectedRunMs;

  // Preferred sizes: the largest prefix (in candidate order, so the head and
  // the most urgent items go first) whose rows are exactly a preferred size.
  // When the delay or a deadline sends the whole candidate anyway and it is
  // larger, that larger batch wins; a tie goes to 'preferred'.
  const preferred = config.preferredBatchSizes;
  let preferredLength = 0;
  let prefixRows = 0;
  for (let i = 0; i < candidate.length; i++) {
    prefixRows += slotRows(candidate[i]!);
    if (preferred.includes(prefixRows)) preferredLength = i + 1;
  }
  const wholeDue = delayDue || deadlineDue;
  if (preferredLength > 0 && !(wholeDue && preferredLength < candidate.length)) {
    return dispatch(candidate.slice(0, preferredLength), 'preferred');
  }
  if (delayDue) return dispatch(candidate, 'delay');
  if (deadlineDue) return dispatch(candidate, 'deadline');

  // Wait until the delay runs out or waiting longer would miss a deadline,
  // and also until the queue's earliest deadline, so that an item of another
  // group (or one that did not fit) is expired on time rather than at the
  // next unrelated wake-up.
  const wakeInMs = Math.min(
    oldestEnqueuedAtMs + config.maxQueueDelayMs - nowMs,
    earliestDeadlineMs - expectedRunMs - nowMs,
    untilEarliestDeadline(queue, nowMs) ?? Infinity,
  );
  return { kind: 'wait', wakeInMs: Number.isFinite(wakeInMs) ? Math.max(0, wakeInMs) : null };
}

function dispatch(items: readonly QueuedItem[], reason: DispatchReason): BatchDecision {
  return { kind: 'dispatch', ids: items.map((item) => item.id), reason };
}

/** Ids whose deadline is at or before now, in queue order: the caller answers them with a timeout and drops them. O(k log k) for k due (a heap walk). */
export function expiredItems(queue: BatchQueueView, nowMs: number): number[] {
  return queue.dueBy(nowMs).map((item) => item.id);
}

/**
 * Load shedding at admission: how long a request that finds `rowsAhead` rows
 * queued before it would wait before its own batch leaves. Null when it goes
 * in the next round (fewer rows ahead than one batch per replica slot): a
 * request that needs no full round of waiting is never shed on an estimate.
 * With a measured drain rate (rows per ms while the queue had a backlog) the
 * wait is rowsAhead / rate; before there is one, rounds × expectedRunMs.
 */
export function expectedWaitMs(
  rowsAhead: number,
  maxBatchSize: number,
  replicaSlots: number,
  expectedRunMs: number,
  drainRowsPerMs: number | null,
): number | null {
  if (replicaSlots <= 0) return null;
  const rounds = Math.floor(rowsAhead / (maxBatchSize * replicaSlots));
  if (rounds === 0) return null;
  return drainRowsPerMs !== null && drainRowsPerMs > 0 ? rowsAhead / drainRowsPerMs : rounds * expectedRunMs;
}
