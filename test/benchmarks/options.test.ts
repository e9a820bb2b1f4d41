// The command line: flags override scenario defaults, bad values are
// refused with the flag named.

import t from 'tap';
import { defaultOptions, OptionsError, parseCommandLine } from '../../benchmarks/lib/options.ts';
import { usage } from '../../benchmarks/lib/usage.ts';

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

t.test('--baseline adds the system baseline and interleaved rounds; baseline alone is refused', async (t) => {
  const table: [string[], Partial<{ systems: string[]; rounds: number; baseline: string }>][] = [
    [['overhead', '--baseline', '/tmp/base'], { baseline: '/tmp/base', systems: ['gateway', 'baseline'], rounds: 5 }],
    [['overhead', '--baseline', '/tmp/base', '--rounds', '3'], { baseline: '/tmp/base', systems: ['gateway', 'baseline'], rounds: 3 }],
    [['overhead', '--baseline', '/tmp/base', '--systems', 'gateway,hello'], { baseline: '/tmp/base', systems: ['gateway', 'hello', 'baseline'], rounds: 5 }],
    [['overhead', '--baseline', '/tmp/base', '--systems', 'baseline,gateway'], { baseline: '/tmp/base', systems: ['baseline', 'gateway'], rounds: 5 }],
    [['overhead', '--rounds', '3'], { rounds: 3 }],
  ];
  for (const [argv, flags] of table) t.same(parseCommandLine(argv).flags, flags, argv.join(' '));
  t.throws(() => parseCommandLine(['overhead', '--systems', 'gateway,baseline']), { name: 'OptionsError', message: /baseline needs --baseline <dir>/ });
  t.throws(() => parseCommandLine(['overhead', '--baseline', '']), { name: 'OptionsError', message: /--baseline needs a directory/ });
  t.equal(defaultOptions('/repo', {}).baseline, undefined, 'no baseline by default');
  t.match(usage([]), /--baseline <dir>[\s\S]*git clone/, 'the help gives a recipe for the checkout');
});

t.test('--gateway-processes takes a list of counts; several mean paired rounds', async (t) => {
  const table: [string[], Partial<{ gatewayProcesses: number[]; rounds: number }>][] = [
    [['overhead', '--gateway-processes', '2'], { gatewayProcesses: [2] }],
    [['overhead', '--gateway-processes', '1,2'], { gatewayProcesses: [1, 2], rounds: 5 }],
    [['replicas', '--gateway-processes', '1, 2,2', '--rounds', '1'], { gatewayProcesses: [1, 2], rounds: 1 }],
  ];
  for (const [argv, flags] of table) t.same(parseCommandLine(argv).flags, flags, argv.join(' '));
  for (const bad of ['0', '1.5', 'two', ',']) t.throws(() => parseCommandLine(['overhead', '--gateway-processes', bad]), { name: 'OptionsError', message: /--gateway-processes/ }, bad);
  t.same(defaultOptions('/repo', {}).gatewayProcesses, [1], 'one process by default');
  t.match(usage([]), /--gateway-processes <l>[\s\S]*gateway-2p/, 'the help names the option and its label');
});

t.test('--grpc-calls-per-channel takes a whole number ≥ 1 (default 8)', async (t) => {
  t.same(parseCommandLine(['protocols', '--grpc-calls-per-channel', '16']).flags, { grpcCallsPerChannel: 16 });
  for (const bad of ['0', '1.5', 'many']) t.throws(() => parseCommandLine(['protocols', '--grpc-calls-per-channel', bad]), { name: 'OptionsError', message: /--grpc-calls-per-channel/ }, bad);
  t.equal(defaultOptions('/repo', {}).grpcCallsPerChannel, 8);
  t.match(usage([]), /--grpc-calls-per-channel <n>[\s\S]*HTTP\/2 connection/, 'the help says what a channel is');
});

t.test('defaults: results dir from the environment, usage lists scenarios', async (t) => {
  t.equal(defaultOptions('/repo', {}).resultsDir, '/repo/benchmarks/results');
  t.equal(defaultOptions('/repo', { BENCH_RESULTS_DIR: '/tmp/x' }).resultsDir, '/tmp/x');
  t.equal(defaultOptions('/repo', {}).maxErrorRate, 0.001);
  t.match(usage([{ name: 'overhead', summary: 'direct vs gateway' }]), /overhead\s+direct vs gateway/);
});
