// The benchmark's command line: flags → BenchOptions. Precedence is
// flag > environment (BENCH_RESULTS_DIR) > the scenario's defaults > the
// defaults below. The help text is usage.ts.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseInputsMode, type InputsMode } from './bodies.ts';
import { DEFAULT_CALLS_PER_CHANNEL } from './grpc-channels.ts';
import { SYSTEM_NAMES, type SystemName } from './systems.ts';

export type BenchOptions = {
  scenario: string;
  systems: SystemName[];
  model: string;
  modelsDir: string;
  replicas: number;
  replicaCounts: number[];
  /** Gateway processes serving its port (server.processes), overhead and replicas: several measure the system gateway once per count, in interleaved rounds. */
  gatewayProcesses: number[];
  connections: number[];
  pipelining: number;
  durationS: number;
  amount: number | undefined;
  warmupS: number;
  /** Scenarios that repeat their measurements interleaved (cache; overhead and batching against a baseline; overhead and replicas over several gateway process counts): how many rounds; reports give medians. */
  rounds: number;
  /** Another checkout of this repository whose gateway runs as the system `baseline` (an A/B of the gateway). */
  baseline: string | undefined;
  rows: number;
  inputs: InputsMode;
  /** Open loop at this rate instead of closed loop (scenarios that support both). */
  ratePerS: number | undefined;
  arrivals: 'constant' | 'poisson';
  openConnections: number;
  /** gRPC loads: concurrent calls per channel (one HTTP/2 connection each), grpc-channels.ts. */
  grpcCallsPerChannel: number;
  sloP99Ms: number;
  /** Capacity criterion, and the allowance beyond which a run counts as failed. */
  maxErrorRate: number;
  startRatePerS: number;
  maxRatePerS: number;
  maxProbes: number;
  precision: number;
  confirmFailures: boolean;
  probeDurationS: number;
  timeoutMs: number;
  readyTimeoutMs: number;
  resultsDir: string;
  name: string | undefined;
  seed: number;
  quiet: boolean;
};

export class OptionsError extends Error {
  override name = 'OptionsError';
}

export function defaultOptions(root: string, env: NodeJS.ProcessEnv): BenchOptions {
  return {
    scenario: '',
    systems: ['direct', 'gateway', 'nginx', 'hello'],
    model: 'classifier',
    modelsDir: join(root, 'models'),
    replicas: 2,
    replicaCounts: [1, 2, 4],
    gatewayProcesses: [1],
    connections: [16, 64],
    pipelining: 1,
    durationS: 10,
    amount: undefined,
    warmupS: 2,
    rounds: 1,
    baseline: undefined,
    rows: 1,
    inputs: 'unique',
    ratePerS: undefined,
    arrivals: 'constant',
    openConnections: 64,
    grpcCallsPerChannel: DEFAULT_CALLS_PER_CHANNEL,
    sloP99Ms: 50,
    maxErrorRate: 0.001,
    startRatePerS: 200,
    maxRatePerS: 100_000,
    maxProbes: 16,
    precision: 0.05,
    confirmFailures: true,
    probeDurationS: 5,
    timeoutMs: 10_000,
    readyTimeoutMs: 120_000,
    resultsDir: env.BENCH_RESULTS_DIR || join(root, 'benchmarks', 'results'),
    name: undefined,
    seed: 1,
    quiet: false,
  };
}

const FLAGS = {
  systems: { type: 'string' },
  model: { type: 'string' },
  models: { type: 'string' },
  replicas: { type: 'string' },
  'replica-counts': { type: 'string' },
  'gateway-processes': { type: 'string' },
  connections: { type: 'string', short: 'c' },
  pipelining: { type: 'string', short: 'p' },
  duration: { type: 'string', short: 'd' },
  amount: { type: 'string' },
  warmup: { type: 'string' },
  rounds: { type: 'string' },
  baseline: { type: 'string' },
  rows: { type: 'string' },
  inputs: { type: 'string' },
  rate: { type: 'string' },
  arrivals: { type: 'string' },
  'open-connections': { type: 'string' },
  'grpc-calls-per-channel': { type: 'string' },
  'slo-ms': { type: 'string' },
  'max-error-rate': { type: 'string' },
  'start-rate': { type: 'string' },
  'max-rate': { type: 'string' },
  'max-probes': { type: 'string' },
  precision: { type: 'string' },
  'confirm-failures': { type: 'boolean' },
  'probe-duration': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'ready-timeout-ms': { type: 'string' },
  results: { type: 'string' },
  name: { type: 'string' },
  seed: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ParsedCommandLine = { help: boolean; scenario: string | undefined; flags: Partial<BenchOptions> };

/** Parses argv into the flags that were given (no defaults applied). Throws OptionsError. */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, allowNegative: true, strict: true });
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 1) throw new OptionsError(`one scenario at a time, not ${parsed.positionals.join(' ')}`);
  const flags: Partial<BenchOptions> = {};
  const set = <K extends keyof BenchOptions>(key: K, value: BenchOptions[K] | undefined): void => {
    if (value !== undefined) flags[key] = value;
  };
  set('systems', v.systems === undefined ? undefined : list(v.systems, 'systems').map(systemName));
  set('model', v.model);
  set('modelsDir', v.models);
  set('replicas', int(v.replicas, 'replicas', 1));
  set('replicaCounts', v['replica-counts'] === undefined ? undefined : list(v['replica-counts'], 'replica-counts').map((s) => int(s, 'replica-counts', 1)!));
  set('gatewayProcesses', v['gateway-processes'] === undefined ? undefined : [...new Set(list(v['gateway-processes'], 'gateway-processes').map((s) => int(s, 'gateway-processes', 1)!))]);
  set('connections', v.connections === undefined ? undefined : list(v.connections, 'connections').map((s) => int(s, 'connections', 1)!));
  set('pipelining', int(v.pipelining, 'pipelining', 1));
  set('durationS', num(v.duration, 'duration', 0.05));
  set('amount', int(v.amount, 'amount', 1));
  set('warmupS', num(v.warmup, 'warmup', 0));
  set('rounds', int(v.rounds, 'rounds', 1));
  set('baseline', v.baseline);
  applyBaseline(flags);
  // Several process counts are an A/B of the gateway too: paired rounds, as with --baseline.
  if ((flags.gatewayProcesses?.length ?? 0) > 1) flags.rounds ??= PAIRED_ROUNDS;
  set('rows', int(v.rows, 'rows', 1));
  if (v.inputs !== undefined) {
    try {
      flags.inputs = parseInputsMode(v.inputs);
    } catch (err) {
      throw new OptionsError((err as Error).message);
    }
  }
  set('ratePerS', num(v.rate, 'rate', 0.1));
  if (v.arrivals !== undefined && v.arrivals !== 'constant' && v.arrivals !== 'poisson') throw new OptionsError(`--arrivals must be constant or poisson, not "${v.arrivals}"`);
  set('arrivals', v.arrivals as BenchOptions['arrivals'] | undefined);
  set('openConnections', int(v['open-connections'], 'open-connections', 1));
  set('grpcCallsPerChannel', int(v['grpc-calls-per-channel'], 'grpc-calls-per-channel', 1));
  set('sloP99Ms', num(v['slo-ms'], 'slo-ms', 0.001));
  set('maxErrorRate', num(v['max-error-rate'], 'max-error-rate', 0));
  set('startRatePerS', num(v['start-rate'], 'start-rate', 0.1));
  set('maxRatePerS', num(v['max-rate'], 'max-rate', 0.1));
  set('maxProbes', int(v['max-probes'], 'max-probes', 1));
  set('precision', num(v.precision, 'precision', 0.001));
  set('confirmFailures', v['confirm-failures']);
  set('probeDurationS', num(v['probe-duration'], 'probe-duration', 0.05));
  set('timeoutMs', int(v['timeout-ms'], 'timeout-ms', 1));
  set('readyTimeoutMs', int(v['ready-timeout-ms'], 'ready-timeout-ms', 1));
  set('resultsDir', v.results);
  set('name', v.name);
  set('seed', int(v.seed, 'seed', 0));
  set('quiet', v.quiet);
  return { help: v.help === true, scenario: parsed.positionals[0], flags };
}

/** Rounds when a baseline or several gateway process counts are given and --rounds is not: a median of 5 paired rounds shrugs off one disturbed round. */
const PAIRED_ROUNDS = 5;

/**
 * --baseline adds the system `baseline` (without --systems: gateway and
 * baseline, the A/B) and interleaved rounds (--rounds, default 5); the
 * system `baseline` without a checkout to start it from is refused.
 */
function applyBaseline(flags: Partial<BenchOptions>): void {
  if (flags.baseline === undefined) {
    if (flags.systems?.includes('baseline')) throw new OptionsError('the system baseline needs --baseline <dir> (another checkout of this repository)');
    return;
  }
  if (flags.baseline.trim() === '') throw new OptionsError('--baseline needs a directory');
  flags.systems = flags.systems === undefined ? ['gateway', 'baseline'] : [...new Set([...flags.systems, 'baseline' as const])];
  flags.rounds ??= PAIRED_ROUNDS;
}

function list(text: string, flag: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new OptionsError(`--${flag} needs at least one value`);
  return items;
}

function num(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new OptionsError(`--${flag} must be a number ≥ ${min}, not "${text}"`);
  return n;
}

function int(text: string | undefined, flag: string, min: number): number | undefined {
  const n = num(text, flag, min);
  if (n !== undefined && !Number.isSafeInteger(n)) throw new OptionsError(`--${flag} must be a whole number, not "${text}"`);
  return n;
}

function systemName(text: string): SystemName {
  if (!(SYSTEM_NAMES as readonly string[]).includes(text)) throw new OptionsError(`unknown system "${text}" (known: ${SYSTEM_NAMES.join(', ')})`);
  return text as SystemName;
}
