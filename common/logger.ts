// Structured logs for both processes, with pino: one JSON object per line, or
// readable lines for a terminal. A component gets a Logger passed in (never a
// global) and binds what it is about (`logger.child({ replica: 'worker-0' })`),
// so every line carries its own context as fields, not as prose.
//
// What never goes into a line: tensor data, tokens, keys, raw client headers.
// Request ids are logged only after request-id.ts judged them sane.

import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type LevelWithSilent } from 'pino';

/** The part of pino's logger the code uses: levels taking (fields, message), and child loggers. */
export type Logger = {
  level: string;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: Level): boolean;
  /** Writes out what an asynchronous destination still buffers; call it before process.exit, or the last lines are lost. */
  flush(callback?: (err?: Error) => void): void;
};

type LogFn = {
  (fields: object, message?: string): void;
  (message: string): void;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** 'json': one object per line (for log pipelines); 'pretty': readable, for a terminal; 'auto': pretty when stdout is a TTY. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LoggerOptions = {
  level: LogLevel;
  format: LogFormat;
  /** Fields on every line, e.g. { process: 'gateway' } or { process: 'worker', worker: 'worker-0' }. */
  bindings?: Record<string, unknown>;
  /** Where lines go; default stdout (fd 1). */
  destination?: DestinationStream;
  /** Whether the destination is a terminal, for format 'auto'; default: stdout's. */
  isTty?: boolean;
};

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && (options.isTty ?? process.stdout.isTTY === true));
  const destination = options.destination ?? (pretty ? prettyStream() : pino.destination({ fd: 1, sync: false }));
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Levels by name ("level":"info"), which log pipelines read without a table of pino's numbers.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return logger as unknown as Logger;
}

/** A logger that drops everything (tests and embedders that do not care). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' }) as unknown as Logger;
}

/** Readable lines, written synchronously in this thread (no transport worker thread per process). */
function prettyStream(): DestinationStream {
  // pino-pretty is loaded only when a terminal asks for it.
  const require = createRequire(import.meta.url);
  const build = require('pino-pretty') as (options: object) => DestinationStream;
  return build({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
}
