import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, loadModelConfig } from '../../config/load.ts';
import { configSchema } from '../../config/schema.ts';

const dir = t.testdir({});
let files = 0;
function configFile(text: string): string {
  const file = join(dir, `gateway-${files++}.yaml`);
  writeFileSync(file, text);
  return file;
}

t.test('the default file gives every documented default', async (t) => {
  const { config } = loadConfig([], {});
  t.equal(config.server.host, '127.0.0.1');
  t.equal(config.server.port, 8000);
  t.equal(config.models.defaultReplicas, 2);
  t.match(config.models.repository, /models$/);
  t.equal(config.cache.redisUrl, '');
});

t.test('config/default.yaml spells out exactly the schema defaults (the two cannot drift apart)', async (t) => {
  const { config } = loadConfig([], {});
  const defaults = configSchema.parse({});
  t.same({ ...config, models: { ...config.models, repository: '' } }, { ...defaults, models: { ...defaults.models, repository: '' } });
});

t.test('an empty file is a valid config; relative paths resolve against the file', async (t) => {
  const file = configFile('models:\n  repository: ./repo\n');
  const { config } = loadConfig(['--config', file], {});
  t.equal(config.models.repository, join(dir, 'repo'));
  t.equal(loadConfig(['--config', configFile('')], {}).config.server.port, 8000);
});

t.test('precedence: flags over environment over file', async (t) => {
  const file = configFile('server:\n  port: 9000\n');
  t.equal(loadConfig(['--config', file], {}).config.server.port, 9000);
  t.equal(loadConfig(['--config', file], { INFERGATE_PORT: '9100' }).config.server.port, 9100);
  t.equal(loadConfig(['--config', file, '--port', '9200'], { INFERGATE_PORT: '9100' }).config.server.port, 9200);
  t.equal(loadConfig(['--config', file, '--port=9300'], {}).config.server.port, 9300);
  t.equal(loadConfig([], { INFERGATE_CONFIG: file }).config.server.port, 9000);
  t.equal(loadConfig([], { REDIS_URL: 'redis://127.0.0.1:6379' }).config.cache.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(loadConfig(['--replicas', '3'], {}).config.models.defaultReplicas, 3);
  t.equal(loadConfig(['--models', 'x'], {}).config.models.repository, join(process.cwd(), 'x'));
});

t.test('model control: the mode, and the models loaded at start in explicit mode', async (t) => {
  const explicit = loadConfig(['--model-control-mode', 'explicit', '--load-model', 'a', '--load-model=b'], {}).config.models;
  t.same([explicit.controlMode, explicit.load], ['explicit', ['a', 'b']], 'a repeatable flag keeps every value');
  const fromEnv = loadConfig([], { INFERGATE_MODEL_CONTROL_MODE: 'explicit', INFERGATE_LOAD_MODELS: 'a,b' }).config.models;
  t.same([fromEnv.controlMode, fromEnv.load], ['explicit', ['a', 'b']], 'comma-separated in the environment');
  t.equal(loadConfig(['--model-control-mode', 'poll'], {}).config.models.pollIntervalSeconds, 15);
  t.throws(() => loadConfig(['--load-model', 'a'], {}), /models\.load \(from --load-model\): models are named to load at start only with controlMode explicit/);
  t.throws(() => loadConfig(['--model-control-mode', 'sometimes'], {}), /models\.controlMode \(from --model-control-mode\)/);
});

t.test('server.processes: a count or auto, from the file, --processes or INFERGATE_PROCESSES', async (t) => {
  t.equal(loadConfig([], {}).config.server.processes, 1, 'one process by default');
  t.equal(loadConfig(['--processes', '4'], {}).config.server.processes, 4);
  t.equal(loadConfig([], { INFERGATE_PROCESSES: 'auto' }).config.server.processes, 'auto');
  t.equal(loadConfig(['--config', configFile('server:\n  processes: 2\n')], {}).config.server.processes, 2);
  t.throws(() => loadConfig(['--processes', '0'], {}), /server\.processes \(from --processes\): /);
  t.throws(() => loadConfig(['--processes', 'many'], {}), /server\.processes \(from --processes\): /);
});

t.test('logging: level and format flags, and the access log switch', async (t) => {
  const table: Array<{ argv?: string[]; env?: Record<string, string>; yaml?: string; logging: object }> = [
    { logging: { level: 'info', format: 'auto', accessLog: { enabled: false, sampleRate: 1 } } },
    { argv: ['--log-level', 'debug', '--log-format=json'], logging: { level: 'debug', format: 'json' } },
    { env: { INFERGATE_LOG_LEVEL: 'warn', INFERGATE_LOG_FORMAT: 'pretty' }, logging: { level: 'warn', format: 'pretty' } },
    { env: { INFERGATE_LOG_LEVEL: 'warn' }, argv: ['--log-level', 'trace'], logging: { level: 'trace' } },
    { argv: ['--access-log'], logging: { accessLog: { enabled: true, sampleRate: 1 } } },
    { argv: ['--access-log', '--port', '0'], logging: { accessLog: { enabled: true } } },
    { argv: ['--access-log=false'], env: { INFERGATE_ACCESS_LOG: 'true' }, logging: { accessLog: { enabled: false } } },
    { env: { INFERGATE_ACCESS_LOG: '1' }, logging: { accessLog: { enabled: true } } },
    { env: { INFERGATE_ACCESS_LOG: '0' }, yaml: 'logging:\n  accessLog:\n    enabled: true\n', logging: { accessLog: { enabled: false } } },
    { yaml: 'logging:\n  accessLog:\n    sampleRate: 0.1\n', argv: ['--access-log'], logging: { accessLog: { enabled: true, sampleRate: 0.1 } } },
  ];
  for (const row of table) {
    const argv = row.yaml === undefined ? (row.argv ?? []) : ['--config', configFile(row.yaml), ...(row.argv ?? [])];
    t.match(loadConfig(argv, row.env ?? {}).config.logging, row.logging, JSON.stringify(row));
  }
});

t.test('invalid configs fail fast with a message naming the field', async (t) => {
  const table: Array<{ yaml?: string; argv?: string[]; env?: Record<string, string>; message: RegExp }> = [
    { yaml: 'server:\n  port: "eighty"\n', message: /server\.port: .*expected number/ },
    { yaml: 'server:\n  port: 70000\n', message: /server\.port: .*65535/ },
    { yaml: 'server:\n  prot: 80\n', message: /server: .*prot/ },
    { yaml: 'models:\n  defaultReplicas: -1\n', message: /models\.defaultReplicas: / },
    { yaml: 'workers:\n  sessionOptions:\n    graphOptimizationLevel: max\n', message: /workers\.sessionOptions\.graphOptimizationLevel: .*"all"/ },
    { yaml: 'caches: {}\n', message: /\(root\): .*caches/ },
    { yaml: '- a\n- b\n', message: /\(root\): expected a mapping/ },
    { yaml: 'server: [\n', message: /not valid YAML/ },
    { argv: ['--port', 'abc'], message: /server\.port \(from --port\): / },
    { env: { REDIS_URL: 'localhost:6379' }, message: /cache\.redisUrl \(from REDIS_URL\): .*redis:\/\// },
    { yaml: 'cache:\n  redisMode: cluster\n', message: /cache\.redisNodes: .*cluster/ },
    { yaml: 'cache:\n  redisMode: sentinel\n  redisNodes: ["s1:26379"]\n', message: /cache\.redisSentinelName: / },
    { yaml: 'cache:\n  redisNodes: ["s1"]\n', message: /cache\.redisNodes\.0: .*host:port/ },
    { yaml: 'cache:\n  redisTimeoutMs: 0\n', message: /cache\.redisTimeoutMs: / },
    { yaml: 'cache:\n  redisBreaker:\n    resetTimeoutMs: -1\n', message: /cache\.redisBreaker\.resetTimeoutMs: / },
    { env: { INFERGATE_REPLICAS: '-1' }, message: /models\.defaultReplicas \(from INFERGATE_REPLICAS\): / },
    { yaml: 'limits:\n  maxRowsPerRequest: 0\n', message: /limits\.maxRowsPerRequest: / },
    { yaml: 'limits:\n  maxResponseBytes: lots\n', message: /limits\.maxResponseBytes: .*expected number/ },
    { yaml: 'server:\n  strictReadiness: maybe\n', message: /server\.strictReadiness: .*expected boolean/ },
    { argv: ['--prot', '1'], message: /unknown option --prot/ },
    { argv: ['--port'], message: /--port needs a value/ },
    { argv: ['--port', '-1'], message: /server\.port \(from --port\): / },
    { argv: ['stray'], message: /unknown option stray/ },
    { argv: ['-p', '1'], message: /unknown option -p/ },
    { argv: ['--config', '/nonexistent/gateway.yaml'], message: /cannot read config file/ },
    { argv: ['--log-level', 'loud'], message: /logging\.level \(from --log-level\): / },
    { argv: ['--log-format', 'xml'], message: /logging\.format \(from --log-format\): / },
    { env: { INFERGATE_LOG_FORMAT: 'xml' }, message: /logging\.format \(from INFERGATE_LOG_FORMAT\): / },
    { argv: ['--access-log=yes'], message: /logging\.accessLog\.enabled \(from --access-log\): .*expected boolean/ },
    { env: { INFERGATE_ACCESS_LOG: 'on' }, message: /logging\.accessLog\.enabled \(from INFERGATE_ACCESS_LOG\): .*expected boolean/ },
    { argv: ['--access-log', 'true'], message: /unknown option true/ },
    { yaml: 'logging:\n  accessLog:\n    sampleRate: 2\n', message: /logging\.accessLog\.sampleRate: / },
  ];
  for (const row of table) {
    const argv = row.yaml === undefined ? (row.argv ?? []) : ['--config', configFile(row.yaml), ...(row.argv ?? [])];
    t.throws(() => loadConfig(argv, row.env ?? {}), row.message, JSON.stringify(row.yaml ?? row.argv ?? row.env));
    t.throws(() => loadConfig(argv, row.env ?? {}), ConfigError);
  }
});

t.test('server.tls: absent by default; its defaults; files relative to the config file; never with h2c', async (t) => {
  t.equal(loadConfig(['--config', configFile('')], {}).config.server.tls, undefined, 'absent: cleartext');
  const { config } = loadConfig(['--config', configFile('server:\n  tls:\n    certFile: certs/gateway.pem\n    keyFile: /etc/infergate/gateway.key\n')], {});
  t.same(config.server.tls, { certFile: join(dir, 'certs/gateway.pem'), keyFile: '/etc/infergate/gateway.key', minVersion: 'TLSv1.2', http2: false, reloadCheckMs: 1000 }, 'defaults; a relative path resolves against the file, an absolute one stays');
  const table: Array<{ yaml: string; message: RegExp }> = [
    { yaml: 'server:\n  h2c: true\n  tls:\n    certFile: a.pem\n    keyFile: a.key\n', message: /server\.h2c: h2c is cleartext HTTP\/2 and cannot be on with tls/ },
    { yaml: 'server:\n  tls:\n    keyFile: a.key\n', message: /server\.tls\.certFile: / },
    { yaml: 'server:\n  tls:\n    certFile: a.pem\n    keyFile: a.key\n    minVersion: TLSv1.1\n', message: /server\.tls\.minVersion: / },
    { yaml: 'server:\n  tls:\n    certFile: a.pem\n    keyFile: a.key\n    reloadCheckMs: 0\n', message: /server\.tls\.reloadCheckMs: / },
    { yaml: 'server:\n  tls:\n    certFile: a.pem\n    keyFile: a.key\n    ca: b.pem\n', message: /server\.tls: .*ca/ },
  ];
  for (const row of table) t.throws(() => loadConfig(['--config', configFile(row.yaml)], {}), row.message, row.yaml);
});

t.test('model config files', async (t) => {
  t.same(loadModelConfig('/nonexistent/config.yaml'), {});
  t.same(loadModelConfig(configFile('replicas: 3\n')), { replicas: 3 });
  t.throws(() => loadModelConfig(configFile('replicas: two\n')), /replicas: /);
  t.throws(() => loadModelConfig(configFile('replica: 2\n')), /unrecognized|replica/i);
});

t.test('warm-up samples in a model config', async (t) => {
  const config = loadModelConfig(configFile('warmup:\n  - name: short\n    inputs:\n      x: { shape: [1, 16], fill: random }\n  - request: warmup/one.json\n    count: 3\n'));
  t.same(config.warmup, [
    { name: 'short', count: 1, inputs: { x: { shape: [1, 16], fill: 'random' } } },
    { request: 'warmup/one.json', count: 3 },
  ]);
  t.same(loadModelConfig(configFile('warmup:\n  - inputs: { x: { shape: [2] } }\n')).warmup, [{ count: 1, inputs: { x: { shape: [2], fill: 'zeros' } } }], 'zeros by default');
  t.same(loadModelConfig(configFile('warmup:\n  - inputs: { x: { shape: [2], fill: -0.5 } }\n')).warmup?.[0]?.inputs?.x?.fill, -0.5, 'a constant');
  const bad: Array<[string, RegExp]> = [
    ['warmup:\n  - count: 2\n', /warmup\.0: give either inputs or request/],
    ['warmup:\n  - request: a.json\n    inputs: { x: { shape: [1] } }\n', /warmup\.0: give either inputs or request/],
    ['warmup:\n  - inputs: { x: { shape: [-1] } }\n', /warmup\.0\.inputs\.x\.shape\.0: /],
    ['warmup:\n  - inputs: { x: { shape: [1], fill: ones } }\n', /warmup\.0\.inputs\.x\.fill: /],
    ['warmup: []\n', /warmup: /],
  ];
  for (const [yaml, message] of bad) t.throws(() => loadModelConfig(configFile(yaml)), message, yaml);
});
