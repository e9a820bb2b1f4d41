import t from 'tap';
import { formatListenAddress, parseListenAddress } from '../../common/listen-address.ts';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  parseWorkerOptions,
  workerArgv,
  WorkerOptionsError,
  type WorkerOptions,
  type WorkerSpawnOptions,
} from '../../common/worker-options.ts';

const BASE = ['--listen', 'unix:/tmp/w.sock', '--models', './models'];

t.test('valid command lines → typed options', async (t) => {
  const defaults: WorkerOptions = {
    id: 'worker',
    listen: { kind: 'unix', path: '/tmp/w.sock' },
    modelsDir: './models',
    models: [],
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential' },
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    muxListen: { kind: 'unix', path: '/tmp/w.sock.mux' },
    injectFault: 'none',
    modelLog: 'stderr',
    logLevel: 'info',
    logFormat: 'auto',
    tokenFile: undefined,
    tls: undefined,
  };
  const cases: Array<[string, string[], Partial<WorkerOptions>]> = [
    ['defaults', BASE, {}],
    ['a token file and TLS', [...BASE, '--token-file', '/run/token', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], { tokenFile: '/run/token', tls: { certFile: 'c.pem', keyFile: 'k.pem' } }],
    ['an injected fault', [...BASE, '--inject-fault', 'infer-errors'], { injectFault: 'infer-errors' }],
    ['tcp listen', ['--listen', '0.0.0.0:9100', '--models', './models'], { listen: { kind: 'tcp', host: '0.0.0.0', port: 9100 }, muxListen: null }],
    [
      'tcp listen with a mux port',
      ['--listen', '0.0.0.0:9100', '--models', './models', '--mux-listen', '0.0.0.0:9101'],
      { listen: { kind: 'tcp', host: '0.0.0.0', port: 9100 }, muxListen: { kind: 'tcp', host: '0.0.0.0', port: 9101 } },
    ],
    ['unix listen, mux elsewhere', [...BASE, '--mux-listen', 'unix:/tmp/m.sock'], { muxListen: { kind: 'unix', path: '/tmp/m.sock' } }],
    ['ipv6 listen, --flag=value form', ['--listen=[::1]:0', '--models=./models'], { listen: { kind: 'tcp', host: '::1', port: 0 }, muxListen: null }],
    ['repeated --model, duplicates dropped', [...BASE, '--model', 'a', '--model', 'b', '--model', 'a'], { models: [{ name: 'a' }, { name: 'b' }] }],
    ['--model with versions', [...BASE, '--model', 'a:2,10', '--model', 'b'], { models: [{ name: 'a', versions: ['2', '10'] }, { name: 'b' }] }],
    ['versions of one model add up, duplicates dropped', [...BASE, '--model', 'a:1', '--model=a:3,1'], { models: [{ name: 'a', versions: ['1', '3'] }] }],
    ['a bare name takes every version, before or after a list', [...BASE, '--model', 'a:1', '--model', 'a', '--model', 'b', '--model', 'b:2'], { models: [{ name: 'a' }, { name: 'b' }] }],
    ['only canonical versions make a list; other colons are the name', [...BASE, '--model', 'a:01', '--model', 'b:1,', '--model', 'c:x'], { models: [{ name: 'a:01' }, { name: 'b:1,' }, { name: 'c:x' }] }],
    [
      'session options',
      [...BASE, '--intra-op-threads', '2', '--inter-op-threads', '3', '--graph-optimization-level', 'basic', '--execution-mode', 'parallel'],
      { session: { intraOpThreads: 2, interOpThreads: 3, graphOptimizationLevel: 'basic', executionMode: 'parallel' } },
    ],
    ['drain timeout and body limit', [...BASE, '--drain-timeout-ms', '2500', '--max-body-bytes', '1024'], { drainTimeoutMs: 2500, maxBodyBytes: 1024 }],
    ['replica id', [...BASE, '--id', 'worker-3'], { id: 'worker-3' }],
    ['an id with dots, colons and underscores', [...BASE, '--id=gw_1.node:worker-0'], { id: 'gw_1.node:worker-0' }],
    ['log level and format', [...BASE, '--log-level', 'debug', '--log-format', 'json'], { logLevel: 'debug', logFormat: 'json' }],
    ['silent, pretty', [...BASE, '--log-level=silent', '--log-format=pretty'], { logLevel: 'silent', logFormat: 'pretty' }],
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
    [[...BASE, '--tls-cert', 'c.pem'], '--tls-key', /is needed with --tls-cert/],
    [[...BASE, '--tls-key', 'k.pem'], '--tls-cert', /is needed with --tls-key/],
    [[...BASE, '--model'], '--model', /needs a value/],
    [[...BASE, '--model', '--models'], '--model', /needs a value/],
    [[...BASE, '--model', '../etc'], '--model', /not a model directory/],
    [[...BASE, '--model', ':1,2'], '--model', /not a model directory/],
    [[...BASE, '--model', '..:3'], '--model', /not a model directory/],
    [[...BASE, '--intra-op-threads', '0'], '--intra-op-threads', /positive integer/],
    [[...BASE, '--inter-op-threads', '1.5'], '--inter-op-threads', /positive integer/],
    [[...BASE, '--drain-timeout-ms', 'soon'], '--drain-timeout-ms', /positive integer/],
    [[...BASE, '--graph-optimization-level', 'max'], '--graph-optimization-level', /disabled, basic, extended, all/],
    [[...BASE, '--inject-fault', 'crash'], '--inject-fault', /none, infer-errors/],
    [[...BASE, '--execution-mode', 'async'], '--execution-mode', /sequential, parallel/],
    [[...BASE, '--port', '9'], '--port', /unknown option/],
    [[...BASE, '--id', ''], '--id', /not 1 to 64 letters/],
    [[...BASE, '--id', 'worker 0'], '--id', /not 1 to 64 letters/],
    [[...BASE, '--id', 'w"0'], '--id', /not 1 to 64 letters/],
    [[...BASE, '--id', 'x'.repeat(65)], '--id', /not 1 to 64 letters/],
    [[...BASE, '--id', 'a', '--id', 'b'], '--id', /more than once/],
    [[...BASE, '--log-level', 'verbose'], '--log-level', /fatal, error, warn, info, debug, trace, silent/],
    [[...BASE, '--log-format', 'text'], '--log-format', /auto, json, pretty/],
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

t.test('workerArgv writes what parseWorkerOptions reads back', async (t) => {
  const spawns: Array<[string, WorkerSpawnOptions]> = [
    ['only what is required', { listen: { kind: 'unix', path: '/tmp/w.sock' }, modelsDir: './models' }],
    [
      "the gateway supervisor's flags",
      {
        listen: { kind: 'unix', path: '/run/infergate/replica-0.sock' },
        modelsDir: '/srv/models',
        models: [{ name: 'classifier' }, { name: 'ranker', versions: ['1', '12'] }],
        session: { intraOpThreads: 1, interOpThreads: 2, graphOptimizationLevel: 'extended', executionMode: 'parallel' },
        drainTimeoutMs: 2500,
        modelLog: 'none',
        injectFault: 'infer-errors',
        id: 'worker-0',
        logLevel: 'warn',
        logFormat: 'json',
      },
    ],
    [
      'every other option',
      { listen: { kind: 'tcp', host: '::1', port: 9100 }, modelsDir: 'm', maxBodyBytes: 1024, muxListen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, injectFault: 'none', modelLog: 'stderr' },
    ],
    ['a model name with a colon', { listen: { kind: 'tcp', host: 'worker-0.svc', port: 80 }, modelsDir: 'm', models: [{ name: 'ns:model' }, { name: 'x:1', versions: ['2'] }] }],
  ];
  for (const [name, spawn] of spawns) {
    const parsed = parseWorkerOptions(workerArgv(spawn));
    const muxListen = spawn.muxListen ?? (spawn.listen.kind === 'unix' ? { kind: 'unix', path: `${spawn.listen.path}.mux` } : null);
    t.same(
      parsed,
      {
        id: spawn.id ?? 'worker',
        listen: spawn.listen,
        modelsDir: spawn.modelsDir,
        models: spawn.models ?? [],
        session: { graphOptimizationLevel: 'all', executionMode: 'sequential', ...spawn.session },
        drainTimeoutMs: spawn.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        maxBodyBytes: spawn.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        muxListen,
        injectFault: spawn.injectFault ?? 'none',
        modelLog: spawn.modelLog ?? 'stderr',
        logLevel: spawn.logLevel ?? 'info',
        logFormat: spawn.logFormat ?? 'auto',
      },
      name,
    );
  }
  t.same(
    workerArgv({ listen: { kind: 'unix', path: '/s' }, modelsDir: '/m', models: [{ name: 'a' }, { name: 'b' }], session: { intraOpThreads: 1 }, modelLog: 'none' }),
    ['--listen', 'unix:/s', '--models', '/m', '--model', 'a', '--model', 'b', '--intra-op-threads', '1', '--model-log', 'none'],
    'one --flag value pair per value, absent options left out',
  );
});

t.test('workerArgv refuses model selections the command line would misread', async (t) => {
  const listen = { kind: 'unix', path: '/s' } as const;
  for (const models of [[{ name: 'a:1' }], [{ name: 'a', versions: [] }], [{ name: 'a', versions: ['01'] }], [{ name: 'a', versions: ['1,2'] }]]) {
    t.throws(() => workerArgv({ listen, modelsDir: '/m', models }), RangeError, JSON.stringify(models));
  }
});
