// The command line: flags override scenario defaults, bad values are
// refused with the flag named.

import t from 'tap';
import { defaultOptions, OptionsError, parseCommandLine, usage } from '../../benchmarks/lib/options.ts';

t.test('flags parse into typed options', async (t) => {
  const { scenario, flags, help } = parseCommandLine([
    'capacity', '--systems', 'gateway,nginx', '-c', '1,8', '-d', '2.5', '--rows', '4', '--inputs', 'pool:32',
    '--rate', '300', '--arrivals', 'poisson', '--slo-ms', '25', '--max-probes', '6', '--results', '/tmp/r', '-q',
  ]);
  t.equal(scenario, 'capacity');
  t.equal(help, false);
  t.same(flags, {
    systems: ['gateway', 'nginx'], connections: [1, 8], durationS: 2.5, rows: 4, inputs: 32, ratePerS: 300, arrivals: 'poisson',
    sloP99Ms: 25, maxProbes: 6, resultsDir: '/tmp/r', quiet: true,
  });
  t.equal(parseCommandLine(['-h']).help, true);
});

t.test('bad flags are refused, naming the flag', async (t) => {
  const table: [string[], RegExp][] = [
    [['overhead', '--connections', '0'], /--connections/],
    [['overhead', '--connections', 'x'], /--connections/],
    [['overhead', '--systems', 'haproxy'], /unknown system "haproxy"/],
    [['overhead', '--rows', '1.5'], /--rows must be a whole number/],
    [['overhead', '--arrivals', 'bursty'], /--arrivals/],
    [['overhead', '--inputs', 'pool'], /pool:N/],
    [['overhead', '--no-such-flag'], /no-such-flag/],
    [['overhead', 'concurrency'], /one scenario/],
  ];
  for (const [argv, message] of table) t.throws(() => parseCommandLine(argv), message instanceof RegExp ? { name: 'OptionsError', message } : message, argv.join(' '));
  t.type(new OptionsError('x'), Error);
});

t.test('defaults: results dir from the environment, usage lists scenarios', async (t) => {
  t.equal(defaultOptions('/repo', {}).resultsDir, '/repo/benchmarks/results');
  t.equal(defaultOptions('/repo', { BENCH_RESULTS_DIR: '/tmp/x' }).resultsDir, '/tmp/x');
  t.equal(defaultOptions('/repo', {}).maxErrorRate, 0.001);
  t.match(usage([{ name: 'overhead', summary: 'direct vs gateway' }]), /overhead\s+direct vs gateway/);
});
