// The batch policy as it was over a plain array (every decision scans, filters
// and sorts the queue): the reference that the indexed policy must agree with
// (batch-queue.test.ts) and the "old" side of benchmarks/micro/batch-queue.ts.
// Not a test file itself (tap runs *.test.ts only).

import type { BatchDecision, BatchPolicyConfig, DispatchReason, QueuedItem } from '../../../gateway/batching/batch-policy.ts';

function slotRows(item: QueuedItem): number {
  return Math.max(1, item.rows);
}

/** Priority first, then age; equal items keep their queue order (Array.prototype.sort is stable). */
function before(a: QueuedItem, b: QueuedItem): number {
  return a.priority - b.priority || a.enqueuedAtMs - b.enqueuedAtMs;
}

function untilEarliestDeadline(items: readonly QueuedItem[], nowMs: number): number | null {
  let earliest = Infinity;
  for (const item of items) earliest = Math.min(earliest, item.deadlineMs);
  return Number.isFinite(earliest) ? Math.max(0, earliest - nowMs) : null;
}

export function referenceDecideBatch(queue: readonly QueuedItem[], nowMs: number, freeSlots: number, config: BatchPolicyConfig, expectedRunMs: number): BatchDecision {
  if (queue.length === 0) return { kind: 'wait', wakeInMs: null };
  if (freeSlots <= 0) return { kind: 'wait', wakeInMs: untilEarliestDeadline(queue, nowMs) };

  let head = queue[0]!;
  for (const item of queue) if (before(item, head) < 0) head = item;
  if (slotRows(head) >= config.maxBatchSize) return dispatch([head], 'oversize');

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

export function referenceExpiredItems(queue: readonly QueuedItem[], nowMs: number): number[] {
  const ids: number[] = [];
  for (const item of queue) if (item.deadlineMs <= nowMs) ids.push(item.id);
  return ids;
}

/** The old batcher's shedding victim: the lowest priority below `priority`, newest (the later in queue order on a tie). */
export function referenceSheddingVictim(queue: readonly QueuedItem[], priority: number): QueuedItem | undefined {
  let victim: QueuedItem | undefined;
  for (const item of queue) {
    if (item.priority <= priority) continue;
    if (!victim || item.priority > victim.priority || (item.priority === victim.priority && item.enqueuedAtMs >= victim.enqueuedAtMs)) victim = item;
  }
  return victim;
}

/** The old batcher's rows ahead of a request of `priority`. */
export function referenceRowsAhead(queue: readonly QueuedItem[], priority: number): number {
  let rows = 0;
  for (const item of queue) if (item.priority <= priority) rows += item.rows;
  return rows;
}
