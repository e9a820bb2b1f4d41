// A Logger (common/logger.ts, pino underneath) whose JSON lines land in an
// array instead of stdout, for tests that check what a component logged: the
// messages, or the parsed objects with their fields.

import { createLogger, type Logger, type LogLevel } from '../../common/logger.ts';

export type LogLine = { level: string; msg: string; [field: string]: unknown };

export type CaptureLogger = {
  logger: Logger;
  /** Every line so far, parsed. */
  lines(): LogLine[];
  /** The message of every line so far. */
  messages(): string[];
  /** The raw JSON text of every line so far. */
  text(): string;
};

export function captureLogger(options: { level?: LogLevel; bindings?: Record<string, unknown> } = {}): CaptureLogger {
  const raw: string[] = [];
  // pino writes each line (with its newline) synchronously into `write`.
  const logger = createLogger({ level: options.level ?? 'trace', format: 'json', destination: { write: (line: string) => void raw.push(line) }, ...(options.bindings ? { bindings: options.bindings } : {}) });
  const lines = () => raw.map((line) => JSON.parse(line) as LogLine);
  return { logger, lines, messages: () => lines().map((line) => line.msg), text: () => raw.join('') };
}
