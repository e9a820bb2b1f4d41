// A worker process's stdout read as its log: one JSON object per line (the
// worker's format when stdout is not a terminal), awaited by predicate.

import { EventEmitter, once } from 'node:events';
import type { Readable } from 'node:stream';

export type LogLine = Record<string, unknown> & { level?: string; msg?: string };

export class LogLines {
  readonly lines: LogLine[] = [];
  #text = '';
  #ended = false;
  readonly #events = new EventEmitter();

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      this.#text += chunk.toString('utf8');
      let newline: number;
      while ((newline = this.#text.indexOf('\n')) >= 0) {
        const text = this.#text.slice(0, newline);
        this.#text = this.#text.slice(newline + 1);
        this.lines.push(parse(text));
      }
      this.#events.emit('line');
    });
    stream.once('end', () => {
      this.#ended = true;
      this.#events.emit('line');
    });
  }

  /** The first line (seen or to come) that `matches`; rejects when the stream ends without one. */
  async waitFor(matches: (line: LogLine) => boolean, what = 'a matching line'): Promise<LogLine> {
    for (;;) {
      const found = this.lines.find(matches);
      if (found) return found;
      if (this.#ended) throw new Error(`the worker's output ended without ${what}:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await once(this.#events, 'line');
    }
  }

  /** The worker's ready line ("infergate worker listening on <address>"). */
  ready(): Promise<LogLine> {
    return this.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('infergate worker listening on '), 'a ready line');
  }
}

/** A line that is not JSON is kept whole under `raw`, so that a test can say what it was. */
function parse(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as LogLine;
  } catch {
    // not JSON
  }
  return { raw: text };
}
