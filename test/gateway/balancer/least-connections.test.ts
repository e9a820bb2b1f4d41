import t from 'tap';
import { pickLeastConnections } from '../../../gateway/balancer/least-connections.ts';
import { mulberry32 } from '../../../scripts/demo-models/prng.ts';

type R = { id: string; outstanding: number };
const replicas = (...loads: number[]): R[] => loads.map((outstanding, i) => ({ id: `r${i}`, outstanding }));

/** A deterministic "random" source that replays the given values in a loop. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const seeded = mulberry32;

t.test('picks the replica with the fewest outstanding requests', async (t) => {
  const cases: Array<{ loads: number[]; random: number[]; expected: string | undefined }> = [
    { loads: [], random: [0], expected: undefined },
    { loads: [5], random: [0], expected: 'r0' },
    { loads: [3, 1, 2], random: [0], expected: 'r1' },
    { loads: [0, 4, 4], random: [0.99], expected: 'r0' },
    { loads: [7, 7, 2, 9], random: [0.5], expected: 'r2' },
    // Ties: the k-th tie replaces the choice when random()*k < 1.
    { loads: [1, 1], random: [0.4], expected: 'r1' }, // 0.4*2 < 1 → take r1
    { loads: [1, 1], random: [0.6], expected: 'r0' }, // 0.6*2 ≥ 1 → keep r0
    { loads: [2, 2, 2], random: [0.9, 0.2], expected: 'r2' }, // keep r0, then 0.2*3 < 1 → r2
    { loads: [2, 2, 2], random: [0.1, 0.9], expected: 'r1' }, // r1, then 0.9*3 ≥ 1 keeps r1
  ];
  for (const c of cases) {
    t.equal(pickLeastConnections(replicas(...c.loads), sequence(...c.random))?.id, c.expected, `loads ${JSON.stringify(c.loads)} random ${c.random}`);
  }
});

t.test('the random source is only consulted on ties', async (t) => {
  let calls = 0;
  const random = () => {
    calls++;
    return 0;
  };
  pickLeastConnections(replicas(4, 3, 2, 1), random);
  t.equal(calls, 0);
  pickLeastConnections(replicas(1, 1, 1), random);
  t.equal(calls, 2);
});

t.test('tied replicas share picks evenly', async (t) => {
  for (const size of [2, 3, 5]) {
    const counts = new Map<string, number>();
    const random = seeded(42 + size);
    const picks = 30_000;
    for (let i = 0; i < picks; i++) {
      const id = pickLeastConnections(replicas(...Array(size).fill(0)), random)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, count] of counts) {
      t.ok(Math.abs(count / picks - 1 / size) < 0.02, `${size} replicas: ${id} got ${(count / picks).toFixed(3)}`);
    }
    t.equal(counts.size, size);
  }
});

t.test('a pick sequence with outstanding counts follows least connections', async (t) => {
  // Simulate requests arriving while none finishes: the picks fill replicas evenly.
  const fleet = replicas(0, 0, 0);
  const random = seeded(7);
  const order: string[] = [];
  for (let i = 0; i < 9; i++) {
    const r = pickLeastConnections(fleet, random)!;
    r.outstanding++;
    order.push(r.id);
  }
  t.same(fleet.map((r) => r.outstanding), [3, 3, 3]);
  // Every window of three consecutive picks covers all three replicas.
  for (let i = 0; i < 9; i += 3) t.same(new Set(order.slice(i, i + 3)).size, 3);
  // A replica that finishes its work is preferred next.
  fleet[1]!.outstanding = 0;
  t.equal(pickLeastConnections(fleet, random)!.id, 'r1');
});

t.test('slow start: a low-weight replica is picked only once the others carry proportionally more', async (t) => {
  type W = { id: string; outstanding: number; weight: number };
  const rows: Array<{ fleet: W[]; expected: string }> = [
    // load compared: (outstanding + 1) / weight
    { fleet: [{ id: 'new', outstanding: 0, weight: 0.1 }, { id: 'old', outstanding: 0, weight: 1 }], expected: 'old' }, // 10 vs 1
    { fleet: [{ id: 'new', outstanding: 0, weight: 0.1 }, { id: 'old', outstanding: 8, weight: 1 }], expected: 'old' }, // 10 vs 9
    { fleet: [{ id: 'new', outstanding: 0, weight: 0.1 }, { id: 'old', outstanding: 10, weight: 1 }], expected: 'new' }, // 10 vs 11
    { fleet: [{ id: 'new', outstanding: 1, weight: 0.5 }, { id: 'old', outstanding: 2, weight: 1 }], expected: 'old' }, // 4 vs 3
    { fleet: [{ id: 'a', outstanding: 3, weight: 1 }, { id: 'b', outstanding: 1, weight: 1 }], expected: 'b' }, // full weights: plain counts
  ];
  for (const row of rows) {
    t.equal(pickLeastConnections(row.fleet, () => 0.99, (r) => r.weight)?.id, row.expected, JSON.stringify(row.fleet));
  }
});

t.test('slow start: over many picks a replica at weight w takes about w of a full replica\'s share', async (t) => {
  const fleet = [
    { id: 'new', outstanding: 0, weight: 0.25 },
    { id: 'old', outstanding: 0, weight: 1 },
  ];
  const counts = { new: 0, old: 0 };
  const random = seeded(7);
  // Each pick holds its slot for a while: a closed system of 40 requests in flight.
  const inFlight: typeof fleet = [];
  for (let i = 0; i < 20_000; i++) {
    if (inFlight.length >= 40) inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!.outstanding--;
    const r = pickLeastConnections(fleet, random, (c) => c.weight)!;
    r.outstanding++;
    inFlight.push(r);
    counts[r.id as 'new' | 'old']++;
  }
  const ratio = counts.new / counts.old;
  t.ok(ratio > 0.2 && ratio < 0.35, `new/old = ${ratio.toFixed(3)}`);
});
