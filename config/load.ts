// Loads the gateway config: defaults < YAML file < environment < CLI flags.
// Every problem is reported as a ConfigError that names the field (and the
// flag or variable it came from), so a bad deployment fails at start, loudly.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { modelConfigSchema, type ModelConfig } from './model-schema.ts';
import { configSchema, type GatewayConfig } from './schema.ts';

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('./default.yaml', import.meta.url));

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A common setting that can be overridden from the environment or the command line (a secret: the environment
 * only, never argv, which `ps` shows). A switch is a flag without a value that turns a boolean on; its variable
 * says true or false (or 1 or 0).
 */
type Override = { flag?: string; env: string; path: readonly string[]; numeric: boolean; repeatable?: true; switch?: true };

/** Every setting an environment variable (or a flag) overrides; exported for the deploy manifests' test. */
export const OVERRIDES: readonly Override[] = [
  { flag: '--host', env: 'INFERGATE_HOST', path: ['server', 'host'], numeric: false },
  { flag: '--port', env: 'INFERGATE_PORT', path: ['server', 'port'], numeric: true },
  { flag: '--processes', env: 'INFERGATE_PROCESSES', path: ['server', 'processes'], numeric: true },
  { flag: '--grpc-port', env: 'INFERGATE_GRPC_PORT', path: ['server', 'grpcPort'], numeric: true },
  { flag: '--models', env: 'INFERGATE_MODELS', path: ['models', 'repository'], numeric: false },
  { flag: '--replicas', env: 'INFERGATE_REPLICAS', path: ['models', 'defaultReplicas'], numeric: true },
  { flag: '--model-control-mode', env: 'INFERGATE_MODEL_CONTROL_MODE', path: ['models', 'controlMode'], numeric: false },
  // Repeatable on the command line; comma-separated in the environment.
  { flag: '--load-model', env: 'INFERGATE_LOAD_MODELS', path: ['models', 'load'], numeric: false, repeatable: true },
  { flag: '--redis-url', env: 'REDIS_URL', path: ['cache', 'redisUrl'], numeric: false },
  { flag: '--log-level', env: 'INFERGATE_LOG_LEVEL', path: ['logging', 'level'], numeric: false },
  { flag: '--log-format', env: 'INFERGATE_LOG_FORMAT', path: ['logging', 'format'], numeric: false },
  { flag: '--access-log', env: 'INFERGATE_ACCESS_LOG', path: ['logging', 'accessLog', 'enabled'], numeric: false, switch: true },
  { env: 'INFERGATE_ADMIN_TOKEN', path: ['server', 'adminToken'], numeric: false },
  { env: 'INFERGATE_WORKER_TOKEN', path: ['workers', 'remote', 'token'], numeric: false },
];

export const CONFIG_USAGE = [
  '--config <file>      YAML config (default: config/default.yaml; env INFERGATE_CONFIG)',
  ...OVERRIDES.filter((o) => o.flag !== undefined).map((o) =>
    o.switch ? `${o.flag!.padEnd(20)} sets ${o.path.join('.')} (env ${o.env}=true)` : `${`${o.flag} <value>`.padEnd(20)} overrides ${o.path.join('.')} (env ${o.env})`,
  ),
  ...OVERRIDES.filter((o) => o.flag === undefined).map((o) => `env ${o.env}`.padEnd(20) + ` sets ${o.path.join('.')}`),
].join('\n');

export type LoadedConfig = { config: GatewayConfig; file: string };

/** Parses flags and environment, reads the file, validates the result. Throws ConfigError. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): LoadedConfig {
  const flags = parseFlags(argv);
  const file = resolve(flags.get('--config')?.at(-1) ?? env.INFERGATE_CONFIG ?? DEFAULT_CONFIG_FILE);
  const raw = readYamlObject(file);

  // Remember which source set each overridden field, to name it in errors.
  const sourceOfPath = new Map<string, string>();
  for (const override of OVERRIDES) {
    const fromFlags = override.flag === undefined ? undefined : flags.get(override.flag);
    const fromEnv = env[override.env];
    const values = fromFlags ?? (fromEnv === '' || fromEnv === undefined ? undefined : override.repeatable ? fromEnv.split(',') : [fromEnv]);
    if (values === undefined) continue;
    const source = fromFlags !== undefined && override.flag !== undefined ? override.flag : override.env;
    const value = values.at(-1)!;
    setPath(raw, override.path, override.repeatable ? values : override.switch ? switchValue(value) : override.numeric && /^-?\d+$/.test(value) ? Number(value) : value);
    sourceOfPath.set(override.path.join('.'), source);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      const source = sourceOfPath.get(field);
      return `${field}${source ? ` (from ${source})` : ''}: ${issue.message}`;
    });
    throw new ConfigError(`invalid config ${file}:\n  ${problems.join('\n  ')}`);
  }

  // Paths written in the file are relative to the file; paths given on the
  // command line or in the environment are relative to the working directory.
  const config = result.data;
  const repositorySource = sourceOfPath.get('models.repository');
  const base = repositorySource ? process.cwd() : dirname(file);
  if (!isAbsolute(config.models.repository)) config.models.repository = resolve(base, config.models.repository);
  const tls = config.server.tls;
  if (tls) for (const key of ['certFile', 'keyFile'] as const) if (!isAbsolute(tls[key])) tls[key] = resolve(dirname(file), tls[key]);
  if (config.workers.socketDir && !isAbsolute(config.workers.socketDir)) {
    config.workers.socketDir = resolve(dirname(file), config.workers.socketDir);
  }
  if (config.auth.keysFile !== undefined && !isAbsolute(config.auth.keysFile)) config.auth.keysFile = resolve(dirname(file), config.auth.keysFile);
  return { config, file };
}

/** Reads a model's optional config.yaml; absent file → {}. */
export function loadModelConfig(file: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const result = modelConfigSchema.safeParse(parseYamlText(text, file) ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid model config ${file}:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

/**
 * The flags given, by name with its dashes, each with its values in order (a
 * flag given more than once: the last wins, or all of them for a repeatable
 * one),
 * in either form: "--flag value" or "--flag=value". Not strict parseArgs: a
 * value may begin with a dash, as it always could ("--port -1" is then
 * refused by the schema, naming the flag). Throws ConfigError.
 */
function parseFlags(argv: readonly string[]): Map<string, string[]> {
  const names = ['--config', ...OVERRIDES.flatMap((o) => (o.flag !== undefined && !o.switch ? o.flag : []))];
  const switches = OVERRIDES.flatMap((o) => (o.flag !== undefined && o.switch ? o.flag : []));
  const options = Object.fromEntries([
    ...names.map((name) => [name.slice(2), { type: 'string' as const }]),
    ...switches.map((name) => [name.slice(2), { type: 'boolean' as const }]),
  ]);
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string[]>();
  for (const token of tokens) {
    const name = token.kind === 'option' ? token.rawName : token.kind === 'positional' ? token.value : '--';
    if (token.kind !== 'option' || !Object.hasOwn(options, token.name)) throw new ConfigError(`unknown option ${name}\n${CONFIG_USAGE}`);
    // A switch alone means true; `--access-log=false` turns it off.
    const value = token.value ?? (switches.includes(name) ? 'true' : undefined);
    if (value === undefined) throw new ConfigError(`option ${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

/** A switch's value: true/1 or false/0; anything else is left as text, for the schema to refuse naming its source. */
function switchValue(text: string): boolean | string {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return text;
}

function readYamlObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const value = parseYamlText(text, file) ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`invalid config ${file}: (root): expected a mapping of sections`);
  }
  return value as Record<string, unknown>;
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    if (child === null || typeof child !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
