// When open-loop requests are due under a rate that changes mid-run: counts
// per second follow the steps exactly, a single rate gives the plain i / rate
// spacing, and Poisson arrivals keep each step's mean.

import t from 'tap';
import { mulberry32 } from '../../benchmarks/lib/bodies.ts';
import { ArrivalSchedule, rateAt } from '../../benchmarks/lib/rate-schedule.ts';
import type { OpenLoad } from '../../benchmarks/lib/results.ts';

type Load = Pick<OpenLoad, 'ratePerS' | 'arrivals' | 'durationS' | 'schedule'>;

function dueTimes(load: Load, seed = 1): number[] {
  const schedule = new ArrivalSchedule(load, mulberry32(seed));
  const out: number[] = [];
  for (let due = schedule.next(); due !== Infinity; due = schedule.next()) out.push(due);
  return out;
}

function perSecond(times: number[], seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0);
  for (const ms of times) counts[Math.floor(ms / 1000)]!++;
  return counts;
}

t.test('a single constant rate is the plain i / rate schedule', async (t) => {
  const times = dueTimes({ ratePerS: 4, arrivals: 'constant', durationS: 1 });
  t.same(times, [0, 250, 500, 750]);
});

const cases: { name: string; load: Load; expected: number[] }[] = [
  { name: 'no steps', load: { ratePerS: 10, arrivals: 'constant', durationS: 3 }, expected: [10, 10, 10] },
  { name: 'a 2× burst from 1 s to 2 s', load: { ratePerS: 10, arrivals: 'constant', durationS: 3, schedule: [{ fromS: 1, ratePerS: 20 }, { fromS: 2, ratePerS: 10 }] }, expected: [10, 20, 10] },
  { name: 'steps given out of order', load: { ratePerS: 10, arrivals: 'constant', durationS: 3, schedule: [{ fromS: 2, ratePerS: 10 }, { fromS: 1, ratePerS: 20 }] }, expected: [10, 20, 10] },
  { name: 'a pause (rate 0)', load: { ratePerS: 10, arrivals: 'constant', durationS: 3, schedule: [{ fromS: 1, ratePerS: 0 }, { fromS: 2, ratePerS: 5 }] }, expected: [10, 0, 5] },
  { name: 'a step at 0 replaces the base rate', load: { ratePerS: 10, arrivals: 'constant', durationS: 2, schedule: [{ fromS: 0, ratePerS: 3 }] }, expected: [3, 3] },
  { name: 'a step after the end is ignored', load: { ratePerS: 10, arrivals: 'constant', durationS: 2, schedule: [{ fromS: 5, ratePerS: 100 }] }, expected: [10, 10] },
  { name: 'a trailing pause ends the run early', load: { ratePerS: 10, arrivals: 'constant', durationS: 3, schedule: [{ fromS: 1, ratePerS: 0 }] }, expected: [10, 0, 0] },
  // A gap at the old rate would straddle the step: the new rate starts exactly at it.
  { name: 'slow to fast mid-gap', load: { ratePerS: 1, arrivals: 'constant', durationS: 2, schedule: [{ fromS: 0.5, ratePerS: 4 }] }, expected: [1 + 2, 4] },
];

for (const c of cases) {
  t.test(`requests per second: ${c.name}`, async (t) => {
    t.same(perSecond(dueTimes(c.load), c.load.durationS), c.expected);
  });
}

t.test('due times never go backwards', async (t) => {
  const times = dueTimes({ ratePerS: 50, arrivals: 'poisson', durationS: 4, schedule: [{ fromS: 1, ratePerS: 200 }, { fromS: 2, ratePerS: 0 }, { fromS: 3, ratePerS: 50 }] }, 5);
  t.ok(times.every((x, i) => i === 0 || x >= times[i - 1]!), 'sorted');
  t.ok(times.every((x) => x < 1000 || x >= 3000 || (x >= 1000 && x < 2000)), 'nothing due during the pause');
});

t.test('poisson arrivals keep each step’s mean rate', async (t) => {
  const counts = perSecond(dueTimes({ ratePerS: 1000, arrivals: 'poisson', durationS: 4, schedule: [{ fromS: 2, ratePerS: 2000 }] }, 9), 4);
  for (const [i, n] of counts.entries()) {
    const want = i < 2 ? 1000 : 2000;
    t.ok(Math.abs(n - want) < want * 0.1, `second ${i}: ${n} ≈ ${want}`);
  }
});

t.test('rateAt names the rate in force', async (t) => {
  const load = { ratePerS: 10, schedule: [{ fromS: 2, ratePerS: 10 }, { fromS: 1, ratePerS: 20 }] };
  t.same([0, 0.99, 1, 1.5, 2, 9].map((s) => rateAt(load, s)), [10, 10, 20, 20, 10, 10]);
});

t.test('a negative rate is refused', async (t) => {
  t.throws(() => new ArrivalSchedule({ ratePerS: 10, arrivals: 'constant', durationS: 1, schedule: [{ fromS: 0.5, ratePerS: -1 }] }, Math.random), /bad step/);
});
