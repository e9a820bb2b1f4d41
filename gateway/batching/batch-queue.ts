// The batcher's queue, indexed so that neither the batcher nor the pure batch
// policy ever walks the whole of it. Every item sits in three places:
//
//   levels (ascending priority, ≤ priorityLevels, at most 16)
//     level p ── all: FIFO of every item of priority p        → head, shedding victim
//             └─ groups: groupKey ─▶ slot rows ─▶ FIFO bucket → greedy first fit
//   deadline heap (deadline-heap.ts, each entry knows its slot)  → earliest deadline, expiry
//   byId (SlotMap, see common/slot-map.ts)                      → O(1) removal by id
//
// Each FIFO is an intrusive doubly linked list ordered by (enqueuedAtMs,
// insertion order). Arrivals come in enqueue-time order (the batcher stamps
// them with a monotonic clock), so a push appends at the tail in O(1); an
// arrival stamped earlier than the tail walks back to its place (O(k) for k
// newer items: never in the batcher, but the table tests build such queues).
//
// Costs: push and remove O(log n) for the deadline heap, O(1) for the rest
// (plus O(levels) and O(distinct row counts) when a level or a row bucket
// appears or empties); head, earliest deadline and rows per priority
// O(levels); expired items O(k log k) for the k that are due.
//
// An item's priority, groupKey, rows, enqueuedAtMs and deadlineMs are indexed:
// they must not change while it is queued.

import { SlotMap } from '../../common/slot-map.ts';
import { DeadlineHeap } from './deadline-heap.ts';

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

/** Rows an item occupies in a batch: a 0-row request still costs a slot. */
export function slotRows(item: QueuedItem): number {
  return Math.max(1, item.rows);
}

/** A queued item as the policy walks it: the next one in its row bucket, oldest first. */
export type QueueEntry<T extends QueuedItem = QueuedItem> = {
  readonly item: T;
  /** Insertion order: breaks ties of enqueuedAtMs the way the queue order does. */
  readonly seq: number;
  readonly nextInBucket: QueueEntry<T> | null;
};

/** The items of one group, one priority and one slot-row count, oldest first. */
export type RowBucket<T extends QueuedItem = QueuedItem> = { readonly slotRows: number; readonly first: QueueEntry<T> | null };

/** What the policy may read (batch-policy.ts); only the batcher changes the queue. */
export type BatchQueueView<T extends QueuedItem = QueuedItem> = {
  readonly size: number;
  /** Highest priority, then oldest, then first queued. */
  head(): T | undefined;
  /** Infinity when the queue is empty or no deadline is finite. */
  earliestDeadlineMs(): number;
  /** The group's row buckets per priority level, highest priority first; in a level, ascending slotRows. */
  groupBuckets(groupKey: string): RowBucket<T>[][];
  /** Items whose deadline is ≤ nowMs, in queue order. */
  dueBy(nowMs: number): T[];
};

type Entry<T extends QueuedItem> = {
  item: T;
  seq: number;
  level: Level<T>;
  bucket: Bucket<T>;
  prevInLevel: Entry<T> | null;
  nextInLevel: Entry<T> | null;
  prevInBucket: Entry<T> | null;
  nextInBucket: Entry<T> | null;
  heapIndex: number;
};

type Bucket<T extends QueuedItem> = { slotRows: number; first: Entry<T> | null; last: Entry<T> | null };

/** One group at one level: its buckets by slot rows, and those row counts ascending. */
type GroupLevel<T extends QueuedItem> = { buckets: Map<number, Bucket<T>>; sorted: Bucket<T>[] };

type Level<T extends QueuedItem> = {
  priority: number;
  first: Entry<T> | null;
  last: Entry<T> | null;
  /** Sum of item.rows at this level (load shedding's rows ahead). */
  rows: number;
  groups: Map<string, GroupLevel<T>>;
};

/** Orders by (enqueuedAtMs, insertion order): the queue order within one priority. */
function later(a: { item: QueuedItem; seq: number }, b: { item: QueuedItem; seq: number }): boolean {
  return a.item.enqueuedAtMs > b.item.enqueuedAtMs || (a.item.enqueuedAtMs === b.item.enqueuedAtMs && a.seq > b.seq);
}

export class BatchQueue<T extends QueuedItem = QueuedItem> implements BatchQueueView<T> {
  readonly #byId = new SlotMap<number, Entry<T>>();
  /** Non-empty levels, ascending priority (descending importance). */
  readonly #levels: Level<T>[] = [];
  readonly #heap = new DeadlineHeap<Entry<T>>();
  #nextSeq = 0;

  /** Builds a queue holding `items` in array order (tests, benchmarks). */
  static of<T extends QueuedItem>(items: Iterable<T>): BatchQueue<T> {
    const queue = new BatchQueue<T>();
    for (const item of items) queue.push(item);
    return queue;
  }

  get size(): number {
    return this.#byId.size;
  }

  push(item: T): void {
    if (this.#byId.has(item.id)) throw new Error(`item ${item.id} is queued already`);
    const level = this.#level(item.priority);
    let group = level.groups.get(item.groupKey);
    if (!group) level.groups.set(item.groupKey, (group = { buckets: new Map(), sorted: [] }));
    const rows = slotRows(item);
    let bucket = group.buckets.get(rows);
    if (!bucket) {
      bucket = { slotRows: rows, first: null, last: null };
      group.buckets.set(rows, bucket);
      let i = group.sorted.length;
      while (i > 0 && group.sorted[i - 1]!.slotRows > rows) i--;
      group.sorted.splice(i, 0, bucket);
    }
    const entry: Entry<T> = { item, seq: this.#nextSeq++, level, bucket, prevInLevel: null, nextInLevel: null, prevInBucket: null, nextInBucket: null, heapIndex: -1 };
    // Append, or walk back past newer items when stamped out of order.
    let before = level.last;
    while (before && later(before, entry)) before = before.prevInLevel;
    entry.prevInLevel = before;
    entry.nextInLevel = before ? before.nextInLevel : level.first;
    if (entry.nextInLevel) entry.nextInLevel.prevInLevel = entry;
    else level.last = entry;
    if (before) before.nextInLevel = entry;
    else level.first = entry;
    let beforeInBucket = bucket.last;
    while (beforeInBucket && later(beforeInBucket, entry)) beforeInBucket = beforeInBucket.prevInBucket;
    entry.prevInBucket = beforeInBucket;
    entry.nextInBucket = beforeInBucket ? beforeInBucket.nextInBucket : bucket.first;
    if (entry.nextInBucket) entry.nextInBucket.prevInBucket = entry;
    else bucket.last = entry;
    if (beforeInBucket) beforeInBucket.nextInBucket = entry;
    else bucket.first = entry;
    level.rows += item.rows;
    this.#byId.set(item.id, entry);
    this.#heap.push(entry);
  }

  /** Removes the item with this id; undefined when it is not queued. */
  remove(id: number): T | undefined {
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    this.#byId.delete(id);
    const { level, bucket, item } = entry;
    if (entry.prevInLevel) entry.prevInLevel.nextInLevel = entry.nextInLevel;
    else level.first = entry.nextInLevel;
    if (entry.nextInLevel) entry.nextInLevel.prevInLevel = entry.prevInLevel;
    else level.last = entry.prevInLevel;
    if (entry.prevInBucket) entry.prevInBucket.nextInBucket = entry.nextInBucket;
    else bucket.first = entry.nextInBucket;
    if (entry.nextInBucket) entry.nextInBucket.prevInBucket = entry.prevInBucket;
    else bucket.last = entry.prevInBucket;
    level.rows -= item.rows;
    if (!bucket.first) {
      // Empty buckets, groups and levels go: unbatchable requests have unique keys.
      const group = level.groups.get(item.groupKey)!;
      group.buckets.delete(bucket.slotRows);
      group.sorted.splice(group.sorted.indexOf(bucket), 1);
      if (group.buckets.size === 0) level.groups.delete(item.groupKey);
      if (!level.first) this.#levels.splice(this.#levels.indexOf(level), 1);
    }
    this.#heap.remove(entry);
    // A removed entry must not keep its neighbours alive: they may be requests answered long ago.
    entry.prevInLevel = entry.nextInLevel = entry.prevInBucket = entry.nextInBucket = null;
    return item;
  }

  /** Empties the queue; the items in insertion order. */
  clear(): T[] {
    const items = this.#byId
      .values()
      .sort((a, b) => a.seq - b.seq)
      .map((entry) => entry.item);
    this.#byId.clear();
    this.#levels.length = 0;
    this.#heap.clear();
    return items;
  }

  head(): T | undefined {
    return this.#levels[0]?.first?.item;
  }

  earliestDeadlineMs(): number {
    return this.#heap.top?.item.deadlineMs ?? Infinity;
  }

  groupBuckets(groupKey: string): RowBucket<T>[][] {
    const result: RowBucket<T>[][] = [];
    for (const level of this.#levels) {
      const group = level.groups.get(groupKey);
      if (group) result.push(group.sorted);
    }
    return result;
  }

  dueBy(nowMs: number): T[] {
    // Nothing due (the common case, every pass of the batcher): one comparison, no allocation.
    const top = this.#heap.top;
    if (top === undefined || top.item.deadlineMs > nowMs) return [];
    return this.#heap
      .dueBy(nowMs)
      .sort((a, b) => a.seq - b.seq)
      .map((entry) => entry.item);
  }

  /** True when some item has a lower priority (a larger number) than `priority`. */
  holdsLowerThan(priority: number): boolean {
    const lowest = this.#levels[this.#levels.length - 1];
    return lowest !== undefined && lowest.priority > priority;
  }

  /** Rows queued at `priority` or higher (load shedding's rows ahead): O(levels). */
  rowsAtOrAbove(priority: number): number {
    let rows = 0;
    for (const level of this.#levels) {
      if (level.priority > priority) break;
      rows += level.rows;
    }
    return rows;
  }

  /** The item a full queue sheds for a request of `priority`: the newest of the lowest priority below it. */
  sheddingVictim(priority: number): T | undefined {
    const lowest = this.#levels[this.#levels.length - 1];
    return lowest !== undefined && lowest.priority > priority ? lowest.last!.item : undefined;
  }

  #level(priority: number): Level<T> {
    let i = 0;
    while (i < this.#levels.length && this.#levels[i]!.priority < priority) i++;
    const found = this.#levels[i];
    if (found?.priority === priority) return found;
    const level: Level<T> = { priority, first: null, last: null, rows: 0, groups: new Map() };
    this.#levels.splice(i, 0, level);
    return level;
  }
}
