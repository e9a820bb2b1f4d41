// The soak scenario end to end through the CLI, shrunk: a capacity search of
// two half-second probes from 20 req/s, then 6 s of open loop at 70% of what
// it found, the gateway sampled every 0.5 s (BENCH_SOAK_SAMPLE_INTERVAL_S)
// instead of every 5 s. Six seconds say nothing about growth; the test checks
// the samples, the verdict's shape, the highlights and the charts.

import t from 'tap';
import type { SoakRun } from '../../benchmarks/scenarios/soak.ts';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const SOAK: SmokeCase = {
  name: 'soak',
  args: ['--duration', '6', '--warmup', '0', '--start-rate', '20', '--max-probes', '2', '--probe-duration', '0.5', '--quiet'],
  expect: (t, r) => {
    t.equal(r.capacities.length, 1, 'capacity searched in the same run');
    const capacity = r.capacities[0]!.capacityPerS;
    t.equal(r.runs.length, 1, 'one soak run');
    const run = r.runs[0] as SoakRun;
    t.equal(run.load.mode, 'open');
    if (run.load.mode === 'open') {
      t.equal(run.load.ratePerS, capacity * 0.7, 'the load is 70% of the capacity found');
      t.equal(run.load.connections, 64);
    }
    t.same(r.config.gatewayConfig, { cache: { enabled: true }, models: { include: ['classifier'] } }, 'the default config: cache on at its default bound');
    const soak = run.soak!;
    t.equal(soak.sampleIntervalS, 0.5);
    t.equal(soak.cacheMaxBytes, 64 * 2 ** 20, 'cache.memoryMaxBytes from the config defaults');
    t.ok(soak.samples.length >= 10 && soak.samples.length <= 13, `a sample every 0.5 s (${soak.samples.length})`);
    t.ok(soak.samples[0]!.atS < 0.5, 'the first sample as the load starts');
    t.ok(soak.samples.every((s, i) => i === 0 || s.atS > soak.samples[i - 1]!.atS), 'samples in time order');
    t.ok(soak.samples.every((s) => s.rssBytes > 0), 'RSS from /proc');
    t.ok(soak.samples.some((s) => s.heapUsedBytes !== null && s.heapUsedBytes > 0), 'V8 heap used from /metrics');
    t.ok(soak.samples.some((s) => s.lagP99Ms !== null), 'event-loop lag from /metrics');
    t.equal(soak.verdict.limitBytes, 150 * 2 ** 20 + soak.cacheMaxBytes);
    t.ok(['pass', 'fail', 'inconclusive'].includes(soak.verdict.outcome));
    t.ok(run.memory && run.memory.rssPeakBytes >= run.memory.rssStartBytes, 'start / peak / end RSS');
    t.ok(r.highlights.some((h) => /^\*\*Verdict: (PASS|FAIL|INCONCLUSIVE)\*\*/.test(h)), 'the verdict in the highlights');
    t.ok(r.sections?.some((s) => s.includes('| s | RSS MiB |')), 'a table of samples');
    t.same(r.charts.map((c) => c.file), ['soak-memory.svg', 'soak-event-loop-lag.svg']);
  },
};

const dirs = smokeWorkspace(t);

t.test('scenario soak writes a valid report', (t) => {
  process.env.BENCH_SOAK_SAMPLE_INTERVAL_S = '0.5';
  t.teardown(() => delete process.env.BENCH_SOAK_SAMPLE_INTERVAL_S);
  return smokeScenario(t, SOAK, dirs);
});
