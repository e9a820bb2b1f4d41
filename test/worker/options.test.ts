import t from 'tap';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  formatListenAddress,
  parseListenAddress,
  parseWorkerOptions,
  WorkerOptionsError,
  type WorkerOptions,
} from '../../worker/options.ts';

const BASE = ['--listen', 'unix:/tmp/w.sock', '--models', './models'];

t.test('valid command lines → typed options', async (t) => {
  const defaults: WorkerOptions = {
    listen: { kind: 'unix', path: '/tmp/w.sock' },
    modelsDir: './models',
    models: [],
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential' },
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    muxListen: { kind: 'unix', path: '/tmp/w.sock.mux' },
    injectFault: 'none',
    modelLog: 'stderr',
  };
  const cases: Array<[string, string[], Partial<WorkerOptions>]> = [
    ['defaults', BASE, {}],
    ['an injected fault', [...BASE, '--inject-fault', 'infer-errors'], { injectFault: 'infer-errors' }],
    ['tcp listen', ['--listen', '0.0.0.0:9100', '--models', './models'], { listen: { kind: 'tcp', host: '0.0.0.0', port: 9100 }, muxListen: null }],
    [
      'tcp listen with a mux port',
      ['--listen', '0.0.0.0:9100', '--models', './models', '--mux-listen', '0.0.0.0:9101'],
      { listen: { kind: 'tcp', host: '0.0.0.0', port: 9100 }, muxListen: { kind: 'tcp', host: '0.0.0.0', port: 9101 } },
    ],
    ['unix listen, mux elsewhere', [...BASE, '--mux-listen', 'unix:/tmp/m.sock'], { muxListen: { kind: 'unix', path: '/tmp/m.sock' } }],
    ['ipv6 listen, --flag=value form', ['--listen=[::1]:0', '--models=./models'], { listen: { kind: 'tcp', host: '::1', port: 0 }, muxListen: null }],
    ['repeated --model, duplicates dropped', [...BASE, '--model', 'a', '--model', 'b', '--model', 'a'], { models: ['a', 'b'] }],
    [
      'session options',
      [...BASE, '--intra-op-threads', '2', '--inter-op-threads', '3', '--graph-optimization-level', 'basic', '--execution-mode', 'parallel'],
      { session: { intraOpThreads: 2, interOpThreads: 3, graphOptimizationLevel: 'basic', executionMode: 'parallel' } },
    ],
    ['drain timeout and body limit', [...BASE, '--drain-timeout-ms', '2500', '--max-body-bytes', '1024'], { drainTimeoutMs: 2500, maxBodyBytes: 1024 }],
  ];
  for (const [name, argv, expected] of cases) {
    t.same(parseWorkerOptions(argv), { ...defaults, ...expected }, name);
  }
});

t.test('mistakes → WorkerOptionsError naming the flag', async (t) => {
  const cases: Array<[string[], string, RegExp]> = [
    [['--models', './m'], '--listen', /required/],
    [['--listen', 'unix:/x'], '--models', /required/],
    [['--listen', 'localhost', '--models', 'm'], '--listen', /neither/],
    [['--listen', 'unix:', '--models', 'm'], '--listen', /socket path/],
    [['--listen', 'h:70000', '--models', 'm'], '--listen', /out of range/],
    [['--listen', 'h:1', '--listen', 'h:2', '--models', 'm'], '--listen', /more than once/],
    [[...BASE, '--mux-listen', 'h:70000'], '--mux-listen', /out of range/],
    [[...BASE, '--model'], '--model', /needs a value/],
    [[...BASE, '--model', '--models'], '--model', /needs a value/],
    [[...BASE, '--model', '../etc'], '--model', /not a model directory/],
    [[...BASE, '--intra-op-threads', '0'], '--intra-op-threads', /positive integer/],
    [[...BASE, '--inter-op-threads', '1.5'], '--inter-op-threads', /positive integer/],
    [[...BASE, '--drain-timeout-ms', 'soon'], '--drain-timeout-ms', /positive integer/],
    [[...BASE, '--graph-optimization-level', 'max'], '--graph-optimization-level', /disabled, basic, extended, all/],
    [[...BASE, '--inject-fault', 'crash'], '--inject-fault', /none, infer-errors/],
    [[...BASE, '--execution-mode', 'async'], '--execution-mode', /sequential, parallel/],
    [[...BASE, '--port', '9'], '--port', /unknown option/],
    [[...BASE, 'stray'], '', /unexpected argument "stray"/],
  ];
  for (const [argv, flag, message] of cases) {
    const where = argv.join(' ');
    try {
      parseWorkerOptions(argv);
      t.fail(`${where} should throw`);
    } catch (err) {
      t.ok(err instanceof WorkerOptionsError, where);
      t.equal((err as WorkerOptionsError).flag, flag, `${where} names ${flag || 'no flag'}`);
      t.match((err as Error).message, message, where);
      if (flag) t.match((err as Error).message, flag, `${where}: message names the flag`);
    }
  }
});

t.test('listen addresses print as they parse', async (t) => {
  for (const text of ['unix:/run/w.sock', '127.0.0.1:9100', '[::1]:9100', 'worker-0.svc:80']) {
    t.equal(formatListenAddress(parseListenAddress(text)), text);
  }
});
