// Command-line options of one worker process. parseWorkerOptions is pure
// (argv in, typed options or a WorkerOptionsError naming the flag out) so the
// whole flag table is unit-tested without spawning anything.

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type ExecutionMode = 'sequential' | 'parallel';

/** onnxruntime session options; an absent thread count keeps onnxruntime's default (one per physical core). */
export type WorkerSessionOptions = {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: ExecutionMode;
};

export type WorkerOptions = {
  listen: ListenAddress;
  /** Model repository root: <modelsDir>/<name>/<version>/model.onnx. */
  modelsDir: string;
  /** Models to load; empty means every model in modelsDir. */
  models: string[];
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
   * Where unavailable versions and warm-up warnings are reported besides GET /models: 'stderr', or 'none' for a
   * worker whose gateway reads GET /models and logs each problem once for all its replicas.
   */
  modelLog: ModelLog;
};

export type ModelLog = 'stderr' | 'none';
const MODEL_LOGS: readonly ModelLog[] = ['stderr', 'none'];

export type InjectedFault = 'none' | 'infer-errors';
const FAULTS: readonly InjectedFault[] = ['none', 'infer-errors'];

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

export const WORKER_USAGE = `usage: infergate worker --listen <unix:/path/to.sock | host:port> --models <dir> [options]

  --listen <addr>                      unix:/path/to.sock, host:port or [ipv6]:port (required)
  --models <dir>                       model repository: <dir>/<name>/<version>/model.onnx (required)
  --model <name>                       load only this model (repeatable; default: every model in <dir>)
  --intra-op-threads <n>               onnxruntime threads inside one operator (default: onnxruntime's)
  --inter-op-threads <n>               onnxruntime threads across operators, parallel mode only
  --graph-optimization-level <level>   disabled | basic | extended | all (default: all)
  --execution-mode <mode>              sequential | parallel (default: sequential)
  --drain-timeout-ms <n>               on SIGTERM, wait this long for in-flight requests (default: ${DEFAULT_DRAIN_TIMEOUT_MS})
  --max-body-bytes <n>                 largest accepted request frame (default: ${DEFAULT_MAX_BODY_BYTES})
  --mux-listen <addr>                  multiplexed infer channel (default: <path>.mux for unix --listen, none for TCP)
  --inject-fault <fault>               chaos testing: none | infer-errors (every inference answers 500) (default: none)
  --model-log <where>                  stderr | none: where unavailable versions and warm-up warnings are printed
                                       (GET /models reports them either way) (default: stderr)
`;

/** A command-line mistake; `flag` names the offending flag ('' when none applies). */
export class WorkerOptionsError extends Error {
  readonly flag: string;

  constructor(flag: string, message: string) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = 'WorkerOptionsError';
    this.flag = flag;
  }
}

const GRAPH_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
const EXECUTION_MODES: readonly ExecutionMode[] = ['sequential', 'parallel'];
const FLAGS = [
  '--listen',
  '--models',
  '--model',
  '--intra-op-threads',
  '--inter-op-threads',
  '--graph-optimization-level',
  '--execution-mode',
  '--drain-timeout-ms',
  '--max-body-bytes',
  '--mux-listen',
  '--inject-fault',
  '--model-log',
] as const;
type Flag = (typeof FLAGS)[number];

function isFlag(name: string): name is Flag {
  return (FLAGS as readonly string[]).includes(name);
}

/** Parses worker arguments (without the node binary, script or subcommand). Throws WorkerOptionsError. */
export function parseWorkerOptions(argv: readonly string[]): WorkerOptions {
  const values = new Map<Flag, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // Both "--flag value" and "--flag=value".
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!isFlag(name)) {
      throw new WorkerOptionsError(arg.startsWith('-') ? name : '', arg.startsWith('-') ? 'unknown option' : `unexpected argument "${arg}"`);
    }
    let value: string | undefined;
    if (name !== arg) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || (name === arg && value.startsWith('--'))) {
      throw new WorkerOptionsError(name, 'needs a value');
    }
    const list = values.get(name) ?? [];
    if (list.length > 0 && name !== '--model') throw new WorkerOptionsError(name, 'given more than once');
    list.push(value);
    values.set(name, list);
  }

  const one = (flag: Flag): string | undefined => values.get(flag)?.[0];
  const listen = one('--listen');
  if (listen === undefined) throw new WorkerOptionsError('--listen', 'is required (unix:/path/to.sock or host:port)');
  const modelsDir = one('--models');
  if (modelsDir === undefined) throw new WorkerOptionsError('--models', 'is required (the model repository directory)');
  if (modelsDir === '') throw new WorkerOptionsError('--models', 'must not be empty');

  const models = values.get('--model') ?? [];
  for (const model of models) {
    // A model name is one directory below the repository root.
    if (model === '' || model === '.' || model === '..' || /[/\\]/.test(model)) {
      throw new WorkerOptionsError('--model', `"${model}" is not a model directory name`);
    }
  }

  const session: WorkerSessionOptions = {
    graphOptimizationLevel: oneOf('--graph-optimization-level', one('--graph-optimization-level'), GRAPH_LEVELS) ?? 'all',
    executionMode: oneOf('--execution-mode', one('--execution-mode'), EXECUTION_MODES) ?? 'sequential',
  };
  const intra = positiveInteger('--intra-op-threads', one('--intra-op-threads'));
  if (intra !== undefined) session.intraOpThreads = intra;
  const inter = positiveInteger('--inter-op-threads', one('--inter-op-threads'));
  if (inter !== undefined) session.interOpThreads = inter;

  const listenAddress = parseListenAddress(listen);
  const muxListenText = one('--mux-listen');
  let muxListen: ListenAddress | null = null;
  if (muxListenText !== undefined) muxListen = parseListenAddress(muxListenText, '--mux-listen');
  else if (listenAddress.kind === 'unix') muxListen = { kind: 'unix', path: `${listenAddress.path}.mux` };

  return {
    listen: listenAddress,
    modelsDir,
    models: [...new Set(models)],
    session,
    drainTimeoutMs: positiveInteger('--drain-timeout-ms', one('--drain-timeout-ms')) ?? DEFAULT_DRAIN_TIMEOUT_MS,
    maxBodyBytes: positiveInteger('--max-body-bytes', one('--max-body-bytes')) ?? DEFAULT_MAX_BODY_BYTES,
    muxListen,
    injectFault: oneOf('--inject-fault', one('--inject-fault'), FAULTS) ?? 'none',
    modelLog: oneOf('--model-log', one('--model-log'), MODEL_LOGS) ?? 'stderr',
  };
}

/** `unix:/path`, `host:port` or `[v6addr]:port` (port 0 = any free port). */
export function parseListenAddress(text: string, flag: '--listen' | '--mux-listen' = '--listen'): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new WorkerOptionsError(flag, 'unix: needs a socket path');
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (!match) throw new WorkerOptionsError(flag, `"${text}" is neither unix:/path nor host:port`);
  const port = Number(match[3]);
  if (port > 65_535) throw new WorkerOptionsError(flag, `port ${port} is out of range`);
  return { kind: 'tcp', host: (match[1] ?? match[2])!, port };
}

/** How an address is printed: the inverse of parseListenAddress. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function positiveInteger(flag: Flag, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new WorkerOptionsError(flag, `"${text}" is not a positive integer`);
  }
  return value;
}

function oneOf<T extends string>(flag: Flag, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new WorkerOptionsError(flag, `"${text}" is not one of ${allowed.join(', ')}`);
  }
  return text as T;
}
