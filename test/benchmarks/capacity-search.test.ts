// Capacity search: the pure policy against tables of simulated systems, and
// the whole search (harness + open loop + policy) against a server in its
// own process that serves at most R req/s.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { createBodySource } from '../../benchmarks/lib/bodies.ts';
import { DEFAULT_SEARCH, nextStep, roundRate, type ProbeOutcome, type SearchSettings } from '../../benchmarks/lib/capacity-search.ts';
import { Harness } from '../../benchmarks/lib/harness.ts';
import { defaultOptions } from '../../benchmarks/lib/options.ts';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';
import { ProgressLine } from '../../benchmarks/lib/progress.ts';
import { startFixture } from './helpers.ts';

/** Runs the policy to its end against `passes`; returns the decision and the probed rates. */
function simulate(passes: (rate: number) => boolean, settings: SearchSettings): { capacity: number; rates: number[]; reason: string } {
  const probes: ProbeOutcome[] = [];
  for (;;) {
    const step = nextStep(probes, settings);
    if (step.kind === 'done') return { capacity: step.capacityPerS, rates: probes.map((p) => p.ratePerS), reason: step.reason };
    probes.push({ ratePerS: step.ratePerS, passed: passes(step.ratePerS) });
  }
}

t.test('the policy finds a sharp capacity within its precision and budget', async (t) => {
  const settings = { ...DEFAULT_SEARCH, startRatePerS: 100, precision: 0.05, maxProbes: 20 };
  const cases = [
    { capacity: 1000 },
    { capacity: 3170 },
    { capacity: 137 },
    { capacity: 100 },
    { capacity: 60 }, // below the start: shrinks first
    { capacity: 7 },
  ];
  for (const c of cases) {
    const found = simulate((rate) => rate <= c.capacity, settings);
    t.ok(found.capacity <= c.capacity && found.capacity >= c.capacity * 0.95, `capacity ${c.capacity}: found ${found.capacity} after ${found.rates.join(', ')}`);
    t.ok(found.rates.length <= 20, 'within the probe budget');
  }
});

t.test('the policy stops at its bounds', async (t) => {
  const single = { ...DEFAULT_SEARCH, confirmFailures: false };
  const table = [
    { name: 'everything passes', passes: () => true, settings: { ...single, startRatePerS: 100, maxRatePerS: 1000 }, capacity: 1000, rates: [100, 200, 400, 800, 1000], reason: /maximum rate/ },
    { name: 'nothing passes', passes: () => false, settings: { ...single, startRatePerS: 40, minRatePerS: 5 }, capacity: 0, rates: [40, 20, 10, 5], reason: /minimum rate/ },
    { name: 'nothing passes, failures confirmed', passes: () => false, settings: { ...DEFAULT_SEARCH, startRatePerS: 40, minRatePerS: 10 }, capacity: 0, rates: [40, 40, 20, 20, 10, 10], reason: /minimum rate/ },
    { name: 'budget spent while growing', passes: () => true, settings: { ...single, startRatePerS: 100, maxProbes: 3 }, capacity: 400, rates: [100, 200, 400], reason: /budget/ },
    { name: 'budget spent while bisecting', passes: (r: number) => r <= 300, settings: { ...single, startRatePerS: 100, maxProbes: 5 }, capacity: 300, rates: [100, 200, 400, 300, 350], reason: /budget/ },
    { name: 'budget spent on a confirmation', passes: (r: number) => r <= 300, settings: { ...DEFAULT_SEARCH, startRatePerS: 100, maxProbes: 4 }, capacity: 200, rates: [100, 200, 400, 400], reason: /budget/ },
  ];
  for (const c of table) {
    const found = simulate(c.passes, c.settings);
    t.equal(found.capacity, c.capacity, `${c.name}: capacity`);
    t.same(found.rates, c.rates, `${c.name}: probes`);
    t.match(found.reason, c.reason, `${c.name}: reason`);
  }
});

t.test('a single noisy failure is re-probed and does not bound the search', async (t) => {
  // True capacity 3000; the first probe at 1600 fails by accident (a neighbour's burst).
  let glitches = 1;
  const passes = (rate: number): boolean => {
    if (rate === 1600 && glitches-- > 0) return false;
    return rate <= 3000;
  };
  const found = simulate(passes, { ...DEFAULT_SEARCH, startRatePerS: 200 });
  t.same(found.rates.slice(0, 6), [200, 400, 800, 1600, 1600, 3200], 'the failed rate is probed again, then growth goes on');
  t.ok(found.capacity >= 2850 && found.capacity <= 3000, `capacity ${found.capacity}`);
  glitches = 1;
  const unconfirmed = simulate(passes, { ...DEFAULT_SEARCH, startRatePerS: 200, confirmFailures: false });
  t.ok(unconfirmed.capacity < 1600, `without confirmation the glitch caps it at ${unconfirmed.capacity}`);
});

t.test('a noisy failure below a pass bounds the bracket from above', async (t) => {
  // 400 passed, then 300 failed (noise): the answer stays below 300.
  const step = nextStep(
    [
      { ratePerS: 100, passed: true },
      { ratePerS: 200, passed: true },
      { ratePerS: 400, passed: true },
      { ratePerS: 800, passed: false },
      { ratePerS: 300, passed: false },
    ],
    { ...DEFAULT_SEARCH, confirmFailures: false },
  );
  t.same(step, { kind: 'probe', ratePerS: 250 });
  t.equal(roundRate(12.345), 12.3);
  t.equal(roundRate(1234.5), 1235);
});

t.test('the search finds a token-bucket server’s capacity within ±15%', async (t) => {
  const capacity = 200;
  // The bucket holds 0.3 s of capacity, so a stall of the (loaded) machine up to
  // 300 ms costs no request below capacity; over 3 s probes it lets rates up to
  // capacity + 60/3 = 220/s pass (+10%), within the ±15% asked for.
  const origin = await startFixture(t, 'token-bucket-server.ts', ['--rate', String(capacity), '--burst', String(capacity * 0.3)]);
  const options = {
    ...defaultOptions(fileURLToPath(new URL('../..', import.meta.url)), {}),
    startRatePerS: 150,
    probeDurationS: 3,
    precision: 0.1,
    maxProbes: 14,
    // 503s are this server's capacity signal; the latency SLO only has to tolerate a loaded machine.
    sloP99Ms: 1000,
    openConnections: 16,
  };
  const processes = new ProcessGroup();
  const harness = new Harness({ options, root: '', processes, progress: new ProgressLine({ quiet: true }), signal: new AbortController().signal });
  const bodies = createBodySource({ format: 'json', model: 'm', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], rows: 1, mode: 'unique', seed: 1 });
  const system = { name: 'hello' as const, origin, inferPath: '/', format: 'json' as const, replicas: 1, signature: null, roots: [], stop: async () => {} };

  const found = await harness.searchCapacity({ system, bodies, label: 'hello', model: 'm' });
  const trail = found.probes.map((p) => `${p.ratePerS}${p.passed ? '✓' : '✗'}`).join(' ');
  t.ok(found.capacityPerS >= capacity * 0.85 && found.capacityPerS <= capacity * 1.15, `capacity ${found.capacityPerS} req/s within ±15% of ${capacity} (${trail})`);
  t.ok(found.probes.length <= 14, 'within the probe budget');
  t.notOk(found.failure);
  t.equal(harness.capacities.length, 1, 'recorded by the harness');
  t.notOk(harness.failed);
});
