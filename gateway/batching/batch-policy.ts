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
// Capacity awareness: with no free slot a dispatched batch would only queue in
// a worker's socket, where it can no longer grow or be expired. Holding it here
// instead lets it fill up while the replicas are busy (Triton does the same
// when every model instance is busy).

export type BatchPolicyConfig = {
  /** Most rows in one batch. */
  maxBatchSize: number;
  /** How long the oldest item may wait for company; may be fractional; 0 = dispatch as soon as there is capacity. */
  maxQueueDelayMs: number;
  /** Ascending row counts that are dispatched as soon as they are reached; may be empty. */
  preferredBatchSizes: readonly number[];
};

export type QueuedItem = {
  /** Opaque to the policy. */
  id: number;
  /** Rows along the batch axis (a 0-row request takes a slot like a 1-row one). */
  rows: number;
  /** Only items with equal keys may share a batch; an unbatchable request has a unique key. */
  groupKey: string;
  /** 1 = highest; larger = lower. */
  priority: number;
  enqueuedAtMs: number;
  deadlineMs: number;
};

export type DispatchReason = 'full' | 'preferred' | 'delay' | 'deadline' | 'oversize';

export type BatchDecision =
  | { kind: 'dispatch'; ids: number[]; reason: DispatchReason }
  /** null: nothing changes until a new arrival or free capacity. */
  | { kind: 'wait'; wakeInMs: number | null };

/** Rows an item occupies in a batch: a 0-row request still costs a slot. */
function slotRows(item: QueuedItem): number {
  return Math.max(1, item.rows);
}

/** Priority first, then age; equal items keep their queue order (Array.prototype.sort is stable). */
function before(a: QueuedItem, b: QueuedItem): number {
  return a.priority - b.priority || a.enqueuedAtMs - b.enqueuedAtMs;
}

/** The earliest deadline of `items` minus now, never negative; null when no deadline is finite. */
function untilEarliestDeadline(items: readonly QueuedItem[], nowMs: number): number | null {
  let earliest = Infinity;
  for (const item of items) earliest = Math.min(earliest, item.deadlineMs);
  return Number.isFinite(earliest) ? Math.max(0, earliest - nowMs) : null;
}

/**
 * Decides what to do with `queue` now. Remove `expiredItems` first: an item
 * already past its deadline makes every wait 0 (its expiry is due now).
 * `freeSlots` counts the batches ready replicas could start at once;
 * `expectedRunMs` is how long a batch is expected to take once dispatched.
 */
export function decideBatch(
  queue: readonly QueuedItem[],
  nowMs: number,
  freeSlots: number,
  config: BatchPolicyConfig,
  expectedRunMs: number,
): BatchDecision {
  if (queue.length === 0) return { kind: 'wait', wakeInMs: null };
  // Wake only to let the caller expire the first item whose deadline passes.
  if (freeSlots <= 0) return { kind: 'wait', wakeInMs: untilEarliestDeadline(queue, nowMs) };

  let head = queue[0]!;
  for (const item of queue) if (before(item, head) < 0) head = item;
  if (slotRows(head) >= config.maxBatchSize) return dispatch([head], 'oversize');

  // Greedy first fit over the head's group. The head sorts first, so it is always taken.
  const group = queue.filter((item) => item.groupKey === head.groupKey).sort(before);
  const candidate: QueuedItem[] = [];
  let rows = 0;
  for (const item of group) {
    if (rows + slotRows(item) > config.maxBatchSize) continue;
    candidate.push(item);
    rows += slotRows(item);
    if (rows === config.maxBatchSize) break;
  }
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
  const preferred = new Set(config.preferredBatchSizes);
  let preferredLength = 0;
  let prefixRows = 0;
  for (let i = 0; i < candidate.length; i++) {
    prefixRows += slotRows(candidate[i]!);
    if (preferred.has(prefixRows)) preferredLength = i + 1;
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

/** Ids whose deadline is at or before now, in queue order: the caller answers them with a timeout and drops them. */
export function expiredItems(queue: readonly QueuedItem[], nowMs: number): number[] {
  const ids: number[] = [];
  for (const item of queue) if (item.deadlineMs <= nowMs) ids.push(item.id);
  return ids;
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
