// The command line of one worker process, defined once: the flag table below
// is what parseWorkerOptions reads (node:util parseArgs, strict), what
// workerArgv writes for whoever spawns a worker (the gateway's supervisor,
// benchmarks, tests) and what the usage text lists. parseWorkerOptions is
// pure (argv in, typed options or a WorkerOptionsError naming the flag out),
// so the whole table is unit-tested without spawning anything.

import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { ModelSelection } from './model-repository.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.ts';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.ts';
import { formatModelSelection, mergeModelSelections, parseModelSelection } from './model-selection.ts';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type ExecutionMode = 'sequential' | 'parallel';
export type ModelLog = 'stderr' | 'none';
export type InjectedFault = 'none' | 'infer-errors';

const GRAPH_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
const EXECUTION_MODES: readonly ExecutionMode[] = ['sequential', 'parallel'];
const MODEL_LOGS: readonly ModelLog[] = ['stderr', 'none'];
const FAULTS: readonly InjectedFault[] = ['none', 'infer-errors'];

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_WORKER_ID = 'worker';
/** A worker id is a metric label and a log field: short, and nothing a log line or an exposition must escape. */
const WORKER_ID = /^[\w.:-]{1,64}$/;
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

/** onnxruntime session options; an absent thread count keeps onnxruntime's default (one per physical core). */
export type WorkerSessionOptions = {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: ExecutionMode;
};

export type WorkerOptions = {
  /** The replica id (e.g. worker-0): the `worker` field of every log line and the `replica` label of every metric. */
  id: string;
  listen: ListenAddress;
  /** Model repository root: <modelsDir>/<name>/<version>/model.onnx. */
  modelsDir: string;
  /** Models to load, each with every version or only those named; empty means every model in modelsDir. */
  models: ModelSelection[];
  session: WorkerSessionOptions;
  /** How long SIGTERM/SIGINT lets in-flight requests finish before the process exits anyway. */
  drainTimeoutMs: number;
  /** POST /infer bodies above this are refused with GW_ERR_BODY_TOO_LARGE. */
  maxBodyBytes: number;
  /**
   * The multiplexed infer channel (worker/mux-server.ts): --mux-listen when
   * given, else <path>.mux next to a unix --listen socket, else none.
   */
  muxListen: ListenAddress | null;
  /** Chaos testing: 'infer-errors' answers every inference with a 500 (the process stays up and healthy-looking). */
  injectFault: InjectedFault;
  /**
   * Whether unavailable versions and warm-up warnings are logged (warn lines) besides GET /models: 'stderr' (the
   * name predates the structured log, which goes to stdout), or 'none' for a worker whose gateway reads GET /models
   * and logs each problem once for all its replicas.
   */
  modelLog: ModelLog;
  logLevel: LogLevel;
  /** 'auto': readable lines on a terminal, JSON lines otherwise (common/logger.ts). */
  logFormat: LogFormat;
  /** A file holding the shared worker token callers must present (common/worker-token.ts); else env INFERGATE_WORKER_TOKEN, else none. */
  tokenFile: string | undefined;
  /** TLS on both listeners: certificate and key files (PEM), given together. */
  tls: { certFile: string; keyFile: string } | undefined;
};

/** What a spawner sets (workerArgv): the address and the repository, and any other option it wants (absent: the worker's default). */
export type WorkerSpawnOptions = {
  id?: string;
  listen: ListenAddress;
  modelsDir: string;
  models?: readonly ModelSelection[];
  session?: Partial<WorkerSessionOptions>;
  drainTimeoutMs?: number;
  maxBodyBytes?: number;
  /** Absent: <path>.mux next to a unix listen socket, none for TCP. */
  muxListen?: ListenAddress;
  injectFault?: InjectedFault;
  modelLog?: ModelLog;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  tokenFile?: string;
  tls?: { certFile: string; keyFile: string };
};

type FlagSpec = {
  /** The value's placeholder in the usage text. */
  value: string;
  /** The usage text, a line each. */
  help: readonly string[];
  /** May be given more than once, each adding a value. */
  repeatable?: boolean;
  /** The flag's value (or values) for a spawn; undefined leaves the flag out. */
  write: (options: WorkerSpawnOptions) => string | number | readonly string[] | undefined;
};

const FLAGS = {
  id: { value: '<name>', help: [`the replica id in log lines and metric labels (default: ${DEFAULT_WORKER_ID})`], write: (o) => o.id },
  listen: { value: '<addr>', help: ['unix:/path/to.sock, host:port or [ipv6]:port (required)'], write: (o) => formatListenAddress(o.listen) },
  models: { value: '<dir>', help: ['model repository: <dir>/<name>/<version>/model.onnx (required)'], write: (o) => o.modelsDir },
  model: {
    value: '<name>[:<v>,…]',
    help: ['load only this model (repeatable; default: every model in <dir>),', 'and with :<v>,… only those versions of it (e.g. classifier:1,3)'],
    repeatable: true,
    write: (o) => o.models?.map(formatModelSelection),
  },
  'intra-op-threads': { value: '<n>', help: ["onnxruntime threads inside one operator (default: onnxruntime's)"], write: (o) => o.session?.intraOpThreads },
  'inter-op-threads': { value: '<n>', help: ['onnxruntime threads across operators, parallel mode only'], write: (o) => o.session?.interOpThreads },
  'graph-optimization-level': { value: '<level>', help: [`${GRAPH_LEVELS.join(' | ')} (default: all)`], write: (o) => o.session?.graphOptimizationLevel },
  'execution-mode': { value: '<mode>', help: [`${EXECUTION_MODES.join(' | ')} (default: sequential)`], write: (o) => o.session?.executionMode },
  'drain-timeout-ms': { value: '<n>', help: [`on SIGTERM, wait this long for in-flight requests (default: ${DEFAULT_DRAIN_TIMEOUT_MS})`], write: (o) => o.drainTimeoutMs },
  'max-body-bytes': { value: '<n>', help: [`largest accepted request frame (default: ${DEFAULT_MAX_BODY_BYTES})`], write: (o) => o.maxBodyBytes },
  'mux-listen': { value: '<addr>', help: ['multiplexed infer channel (default: <path>.mux for unix --listen, none for TCP)'], write: (o) => o.muxListen && formatListenAddress(o.muxListen) },
  'inject-fault': { value: '<fault>', help: [`chaos testing: ${FAULTS.join(' | ')} (every inference answers 500) (default: none)`], write: (o) => o.injectFault },
  'model-log': {
    value: '<where>',
    help: [`${MODEL_LOGS.join(' | ')}: whether unavailable versions and warm-up warnings are logged`, '(warn lines; GET /models reports them either way) (default: stderr)'],
    write: (o) => o.modelLog,
  },
  'token-file': { value: '<file>', help: ['the shared worker token callers must present (default: env INFERGATE_WORKER_TOKEN, else none)'], write: (o) => o.tokenFile },
  'tls-cert': { value: '<file>', help: ['serve TLS on both listeners with this certificate (PEM; with --tls-key)'], write: (o) => o.tls?.certFile },
  'tls-key': { value: '<file>', help: ['the private key of --tls-cert (PEM)'], write: (o) => o.tls?.keyFile },
  'log-level': { value: '<level>', help: [`${LOG_LEVELS.join(' | ')} (default: info)`], write: (o) => o.logLevel },
  'log-format': { value: '<fmt>', help: [`${LOG_FORMATS.join(' | ')}: auto is pretty on a terminal, else JSON lines (default: auto)`], write: (o) => o.logFormat },
} satisfies Record<string, FlagSpec>;
type FlagName = keyof typeof FLAGS;
const FLAG_ENTRIES = Object.entries(FLAGS) as Array<[FlagName, FlagSpec]>;

const PARSE_ARGS_OPTIONS: ParseArgsOptionsConfig = Object.fromEntries(
  FLAG_ENTRIES.map(([name, spec]) => [name, { type: 'string', multiple: spec.repeatable ?? false }]),
);

const HELP_COLUMN = 39;
export const WORKER_USAGE = `usage: infergate worker --listen <unix:/path/to.sock | host:port> --models <dir> [options]

${FLAG_ENTRIES.flatMap(([name, spec]) => spec.help.map((line, i) => `${(i === 0 ? `  --${name} ${spec.value}` : '').padEnd(HELP_COLUMN)}${line}\n`)).join('')}`;

/** A command-line mistake; `flag` names the offending flag ('' when none applies). */
export class WorkerOptionsError extends Error {
  readonly flag: string;

  constructor(flag: string, message: string) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = 'WorkerOptionsError';
    this.flag = flag;
  }
}

/** Parses worker arguments (without the node binary, script or subcommand). Throws WorkerOptionsError. */
export function parseWorkerOptions(argv: readonly string[]): WorkerOptions {
  const given = readFlags(argv);
  const text = (flag: FlagName): string | undefined => given.get(flag)?.[0];
  const listenText = text('listen');
  if (listenText === undefined) throw flagError('listen', 'is required (unix:/path/to.sock or host:port)');
  const modelsDir = text('models');
  if (modelsDir === undefined) throw flagError('models', 'is required (the model repository directory)');
  if (modelsDir === '') throw flagError('models', 'must not be empty');
  const models = mergeModelSelections((given.get('model') ?? []).map((model) => valueOf('model', model, parseModelSelection)));

  const session: WorkerSessionOptions = {
    graphOptimizationLevel: oneOf('graph-optimization-level', text('graph-optimization-level'), GRAPH_LEVELS) ?? 'all',
    executionMode: oneOf('execution-mode', text('execution-mode'), EXECUTION_MODES) ?? 'sequential',
  };
  const intra = positiveInteger('intra-op-threads', text('intra-op-threads'));
  if (intra !== undefined) session.intraOpThreads = intra;
  const inter = positiveInteger('inter-op-threads', text('inter-op-threads'));
  if (inter !== undefined) session.interOpThreads = inter;

  const listen = valueOf('listen', listenText, parseListenAddress);
  const muxListenText = text('mux-listen');
  let muxListen: ListenAddress | null = null;
  if (muxListenText !== undefined) muxListen = valueOf('mux-listen', muxListenText, parseListenAddress);
  else if (listen.kind === 'unix') muxListen = { kind: 'unix', path: `${listen.path}.mux` };

  const certFile = text('tls-cert');
  const keyFile = text('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw flagError(certFile === undefined ? 'tls-cert' : 'tls-key', 'is needed with ' + (certFile === undefined ? '--tls-key' : '--tls-cert'));

  const id = text('id') ?? DEFAULT_WORKER_ID;
  if (!WORKER_ID.test(id)) throw flagError('id', `"${id}" is not 1 to 64 letters, digits, ".", "_", ":" or "-"`);

  return {
    id,
    listen,
    modelsDir,
    models,
    session,
    drainTimeoutMs: positiveInteger('drain-timeout-ms', text('drain-timeout-ms')) ?? DEFAULT_DRAIN_TIMEOUT_MS,
    maxBodyBytes: positiveInteger('max-body-bytes', text('max-body-bytes')) ?? DEFAULT_MAX_BODY_BYTES,
    muxListen,
    injectFault: oneOf('inject-fault', text('inject-fault'), FAULTS) ?? 'none',
    modelLog: oneOf('model-log', text('model-log'), MODEL_LOGS) ?? 'stderr',
    logLevel: oneOf('log-level', text('log-level'), LOG_LEVELS) ?? 'info',
    logFormat: oneOf('log-format', text('log-format'), LOG_FORMATS) ?? 'auto',
    tokenFile: text('token-file'),
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
  };
}

/**
 * The argv (after the script or subcommand) that parseWorkerOptions reads
 * back as `options`. Throws RangeError for a model selection the command line
 * cannot express (formatModelSelection).
 */
export function workerArgv(options: WorkerSpawnOptions): string[] {
  return FLAG_ENTRIES.flatMap(([name, spec]) => {
    const value = spec.write(options);
    if (value === undefined) return [];
    return (typeof value === 'object' ? value : [String(value)]).flatMap((v) => [`--${name}`, v]);
  });
}

/** Each flag's values in order. parseArgs (strict) checks the syntax; a lenient re-read names the offending flag. */
function readFlags(argv: readonly string[]): Map<FlagName, string[]> {
  const { tokens } = strictParse(argv);
  const given = new Map<FlagName, string[]>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    const name = token.name as FlagName; // strict parseArgs let only the table's flags through
    const values = given.get(name) ?? [];
    if (values.length > 0 && !(FLAGS[name] as FlagSpec).repeatable) throw new WorkerOptionsError(token.rawName, 'given more than once');
    values.push(token.value);
    given.set(name, values);
  }
  return given;
}

/** parseArgs, strict, over the flag table; its refusal becomes a WorkerOptionsError naming the argument. */
function strictParse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: PARSE_ARGS_OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    throw offendingArgument(argv) ?? new WorkerOptionsError('', (err as Error).message);
  }
}

/** The first argument strict parseArgs refuses, as the error naming it. */
function offendingArgument(argv: readonly string[]): WorkerOptionsError | undefined {
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_ARGS_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') return new WorkerOptionsError('', `unexpected argument "${token.value}"`);
    if (token.kind !== 'option') continue;
    if (!Object.hasOwn(FLAGS, token.name)) return new WorkerOptionsError(token.rawName, 'unknown option');
    // Strict parseArgs takes no value from the next argument when it looks like an option ("--model --models").
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.length > 1 && value.startsWith('-'))) return new WorkerOptionsError(token.rawName, 'needs a value');
  }
  return undefined;
}

function flagError(flag: FlagName, message: string): WorkerOptionsError {
  return new WorkerOptionsError(`--${flag}`, message);
}

/** Parses a flag's text; the parser's RangeError becomes a WorkerOptionsError naming the flag. */
function valueOf<T>(flag: FlagName, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof RangeError) throw flagError(flag, err.message);
    throw err;
  }
}

function positiveInteger(flag: FlagName, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw flagError(flag, `"${text}" is not a positive integer`);
  return value;
}

function oneOf<T extends string>(flag: FlagName, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw flagError(flag, `"${text}" is not one of ${allowed.join(', ')}`);
  return text as T;
}
