// The batch queue's deadline index (batch-queue.ts): a binary min-heap on
// deadlineMs whose entries keep their own index, so removal by entry is
// O(log n) and the earliest deadline is O(1).

export type HeapEntry = { heapIndex: number; readonly item: { readonly deadlineMs: number } };

export class DeadlineHeap<E extends HeapEntry> {
  readonly #heap: E[] = [];

  /** The entry with the earliest deadline. */
  get top(): E | undefined {
    return this.#heap[0];
  }

  push(entry: E): void {
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.#siftUp(entry.heapIndex);
  }

  remove(entry: E): void {
    const index = entry.heapIndex;
    const last = this.#heap.pop()!;
    if (index === this.#heap.length) return;
    this.#heap[index] = last;
    last.heapIndex = index;
    this.#siftUp(index);
    this.#siftDown(last.heapIndex);
  }

  clear(): void {
    this.#heap.length = 0;
  }

  /** Every entry whose deadline is ≤ nowMs, in no order: O(k) for k due, pruning every subtree whose root is not due. */
  dueBy(nowMs: number): E[] {
    const due: E[] = [];
    const top = this.#heap[0];
    if (top === undefined || top.item.deadlineMs > nowMs) return due;
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const entry = this.#heap[i];
      if (!entry || entry.item.deadlineMs > nowMs) continue;
      due.push(entry);
      stack.push(2 * i + 1, 2 * i + 2);
    }
    return due;
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.item.deadlineMs <= entry.item.deadlineMs) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]!.item.deadlineMs < heap[child]!.item.deadlineMs) child++;
      if (heap[child]!.item.deadlineMs >= entry.item.deadlineMs) break;
      heap[index] = heap[child]!;
      heap[index]!.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}
