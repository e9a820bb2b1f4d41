// Micro-benchmark of the batcher's per-request queue and policy cost (not run
// by tap), old (an array the policy scans, filters and sorts: the reference
// in test/gateway/batching/reference-batch-policy.ts) against new (BatchQueue
// and the indexed decideBatch):
//
//   node benchmarks/micro/batch-queue.ts [maxBatchSize ...]     (default: 8 64)
//
// One request's queue work at a steady queue length N: its arrival, one
// policy decision, and the departure of the oldest item (by id, as a dispatch
// or a cancellation removes it). "busy": no free slot (the usual answer under
// load: wait for the earliest deadline); "free": one free slot (head,
// candidate, preferred sizes, delay and deadline rules). Items: 2 priority
// levels, 2 groups, 1–4 rows, finite deadlines. Prints the median of several
// rounds, in µs per request.

import { decideBatch, type BatchPolicyConfig, type QueuedItem } from '../../gateway/batching/batch-policy.ts';
import { BatchQueue } from '../../gateway/batching/batch-queue.ts';
import { referenceDecideBatch } from '../../test/gateway/batching/reference-batch-policy.ts';

const SIZES = [16, 64, 256, 1024];
const ROUNDS = 5;
const ROUND_MS = 150;
const GROUPS = ['[[["input","FP32",[-1,512]]],null]', '[[["input","FP32",[-1,256]]],null]'];

/** A deterministic stream of arrivals, one per ms of fake time. */
function arrival(id: number): QueuedItem {
  const r = (id * 2654435761) >>> 0;
  return { id, rows: 1 + (r % 4), groupKey: GROUPS[(r >>> 4) % GROUPS.length]!, priority: 1 + ((r >>> 8) % 2), enqueuedAtMs: id, deadlineMs: id + 1000 + ((r >>> 12) % 30_000) };
}

type Impl = { push(item: QueuedItem): void; decide(nowMs: number, freeSlots: number): unknown; remove(id: number): void };

function oldImpl(config: BatchPolicyConfig): Impl {
  const queue: QueuedItem[] = [];
  return {
    push: (item) => queue.push(item),
    decide: (nowMs, freeSlots) => referenceDecideBatch(queue, nowMs, freeSlots, config, 1),
    remove: (id) => {
      const index = queue.findIndex((item) => item.id === id);
      if (index !== -1) queue.splice(index, 1);
    },
  };
}

function newImpl(config: BatchPolicyConfig): Impl {
  const queue = new BatchQueue();
  return {
    push: (item) => queue.push(item),
    decide: (nowMs, freeSlots) => decideBatch(queue, nowMs, freeSlots, config, 1),
    remove: (id) => queue.remove(id),
  };
}

let sink = 0;

/** µs per request (arrival + decision + departure), median of ROUNDS. */
function measure(make: (config: BatchPolicyConfig) => Impl, config: BatchPolicyConfig, size: number, freeSlots: number): number {
  const impl = make(config);
  let next = 0;
  for (; next < size; next++) impl.push(arrival(next));
  const cycle = () => {
    impl.push(arrival(next));
    const decision = impl.decide(next, freeSlots);
    if (decision !== null) sink++;
    impl.remove(next - size); // the oldest departs: the queue stays at `size`
    next++;
  };
  for (let i = 0; i < 2000; i++) cycle(); // warm-up
  const perRequest: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    let done = 0;
    while (Number(process.hrtime.bigint() - start) < ROUND_MS * 1e6) {
      for (let i = 0; i < 200; i++) cycle();
      done += 200;
    }
    perRequest.push(Number(process.hrtime.bigint() - start) / done / 1000);
  }
  return perRequest.sort((a, b) => a - b)[ROUNDS >> 1]!;
}

const batchSizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [8, 64];
// Warm every path up first, so the first cell measured is not the one that pays for compilation.
for (const make of [oldImpl, newImpl]) for (const freeSlots of [0, 1]) for (const size of SIZES) measureWarm(make, size, freeSlots);

function measureWarm(make: (config: BatchPolicyConfig) => Impl, size: number, freeSlots: number): void {
  const impl = make({ maxBatchSize: batchSizes[0]!, maxQueueDelayMs: 2, preferredBatchSizes: [] });
  for (let id = 0; id < size + 5000; id++) {
    impl.push(arrival(id));
    impl.decide(id, freeSlots);
    if (id >= size) impl.remove(id - size);
  }
}
for (const maxBatchSize of batchSizes) {
  const config: BatchPolicyConfig = { maxBatchSize, maxQueueDelayMs: 2, preferredBatchSizes: [] };
  console.log(`maxBatchSize ${maxBatchSize}: µs per request (arrival + decision + departure)`);
  console.log(`${'queue'.padStart(6)} ${'old busy'.padStart(9)} ${'new busy'.padStart(9)} ${'old free'.padStart(9)} ${'new free'.padStart(9)}`);
  for (const size of SIZES) {
    const cells = [measure(oldImpl, config, size, 0), measure(newImpl, config, size, 0), measure(oldImpl, config, size, 1), measure(newImpl, config, size, 1)];
    console.log(`${String(size).padStart(6)} ${cells.map((us) => us.toFixed(2).padStart(9)).join(' ')}`);
  }
}
if (sink < 0) console.log(sink);
