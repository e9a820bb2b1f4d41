// The benchmark's command line: flags → BenchOptions. Precedence is
// flag > environment (BENCH_RESULTS_DIR) > the scenario's defaults > the
// defaults below.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseInputsMode, type InputsMode } from './bodies.ts';
import { SYSTEM_NAMES, type SystemName } from './systems.ts';

export type BenchOptions = {
  scenario: string;
  systems: SystemName[];
  model: string;
  modelsDir: string;
  replicas: number;
  replicaCounts: number[];
  connections: number[];
  pipelining: number;
  durationS: number;
  amount: number | undefined;
  warmupS: number;
  /** Scenarios that repeat their measurements interleaved (cache): how many rounds; reports give medians. */
  rounds: number;
  rows: number;
  inputs: InputsMode;
  /** Open loop at this rate instead of closed loop (scenarios that support both). */
  ratePerS: number | undefined;
  arrivals: 'constant' | 'poisson';
  openConnections: number;
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
    connections: [16, 64],
    pipelining: 1,
    durationS: 10,
    amount: undefined,
    warmupS: 2,
    rounds: 1,
    rows: 1,
    inputs: 'unique',
    ratePerS: undefined,
    arrivals: 'constant',
    openConnections: 64,
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
  connections: { type: 'string', short: 'c' },
  pipelining: { type: 'string', short: 'p' },
  duration: { type: 'string', short: 'd' },
  amount: { type: 'string' },
  warmup: { type: 'string' },
  rounds: { type: 'string' },
  rows: { type: 'string' },
  inputs: { type: 'string' },
  rate: { type: 'string' },
  arrivals: { type: 'string' },
  'open-connections': { type: 'string' },
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
  set('connections', v.connections === undefined ? undefined : list(v.connections, 'connections').map((s) => int(s, 'connections', 1)!));
  set('pipelining', int(v.pipelining, 'pipelining', 1));
  set('durationS', num(v.duration, 'duration', 0.05));
  set('amount', int(v.amount, 'amount', 1));
  set('warmupS', num(v.warmup, 'warmup', 0));
  set('rounds', int(v.rounds, 'rounds', 1));
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

export function usage(scenarios: readonly { name: string; summary: string }[]): string {
  const pad = Math.max(...scenarios.map((s) => s.name.length), 8) + 2;
  return `usage: npm run bench -- <scenario> [options]
       node benchmarks/run.ts <scenario> [options]

Starts every system under test as its own processes, loads it, stops it, and
writes benchmarks/results/<date>-<scenario>/ (results.json, report.md, *.svg).
Exits 1 when a run failed: it could not start, or errors + non-2xx exceeded
--max-error-rate of its requests. Progress goes to stderr, the table to stdout.

scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(pad)}${s.summary}`).join('\n')}

systems (--systems, comma-separated; defaults depend on the scenario):
  direct       one worker, binary frames to its POST /infer (no gateway)
  direct-json  one worker, KServe v2 JSON to its public infer route
  gateway      infergate with --replicas local workers (cache off)
  nginx        NGINX least_conn over --replicas workers (skipped when not installed)
  hello        trivial HTTP server: the load generator's own ceiling

load:
  -c, --connections <list>   closed-loop connections             (16,64)
  -p, --pipelining <n>       requests in flight per connection    (1)
  -d, --duration <s>         seconds per run                      (10)
      --amount <n>           requests per run instead of a duration
      --warmup <s>           closed-loop warm-up per system start (2)
      --rounds <n>           cache: every run n times, interleaved; medians reported (5)
      --rate <r>             open loop at r req/s instead of closed loop
      --arrivals <a>         open-loop arrivals: constant | poisson (constant)
      --open-connections <n> keep-alive connections for open loop (64)
      --timeout-ms <n>       per-request timeout                  (10000)

bodies:
      --model <name>         model to call                        (classifier)
      --models <dir>         model repository (npm run models)    (models/)
      --rows <n>             rows per request                     (1)
      --inputs <mode>        unique | pool:N (N distinct inputs)  (unique)

systems and capacity:
      --replicas <n>         workers behind gateway and nginx     (2)
      --replica-counts <l>   replicas scenario                    (1,2,4)
      --slo-ms <ms>          capacity: p99 latency SLO            (50)
      --max-error-rate <f>   capacity criterion and failure allowance (0.001 = 0.1%)
      --start-rate <r>       capacity search: first probe         (200)
      --max-rate <r>         capacity search: highest probe       (100000)
      --max-probes <n>       capacity search: probe budget        (16)
      --precision <f>        capacity search: stop when (hi-lo)/lo ≤ f (0.05)
      --no-confirm-failures  capacity search: trust a single failed probe
                             (default: re-probe a failed rate once; it fails if it fails again)
      --probe-duration <s>   capacity search: seconds per probe   (5)

output:
      --results <dir>        results root ($BENCH_RESULTS_DIR, else benchmarks/results)
      --name <name>          folder name                          (<date>-<scenario>)
      --seed <n>             PRNG seed for bodies and arrivals    (1)
  -q, --quiet                no progress on stderr
  -h, --help                 this text

environment: BENCH_RESULTS_DIR (results root), NGINX_BIN (nginx binary).
`;
}
