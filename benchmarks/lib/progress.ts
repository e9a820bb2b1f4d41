// Presentation of a run in progress, on stderr (stdout carries the results):
// elapsed time, req/s over the last second, errors and non-2xx answers.
// On a TTY the line is redrawn in place four times a second; otherwise (CI
// logs, pipes) one line is written per second.

import type { Writable } from 'node:stream';

export type LiveCounters = { elapsedS: number; responses: number; errors: number; non2xx: number };

export type ProgressOptions = {
  stream?: Writable & { isTTY?: boolean };
  /** Nothing at all is written (tests, --quiet). */
  quiet?: boolean;
};

const BAR_WIDTH = 20;

export class ProgressLine {
  readonly #stream: Writable & { isTTY?: boolean };
  readonly #quiet: boolean;
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | null = null;
  #samples: { elapsedS: number; responses: number }[] = [];

  constructor(options: ProgressOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#quiet = options.quiet ?? false;
    this.#tty = this.#stream.isTTY === true;
  }

  /** Starts redrawing `label` from `read()` until stop(). */
  start(label: string, totalS: number, read: () => LiveCounters): void {
    this.stop();
    if (this.#quiet) return;
    this.#samples = [];
    const draw = (): void => {
      const line = this.#format(label, totalS, read());
      this.#stream.write(this.#tty ? `\r\x1b[K${line}` : `${line}\n`);
    };
    this.#timer = setInterval(draw, this.#tty ? 250 : 1000);
    this.#timer.unref();
    if (this.#tty) draw();
  }

  stop(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    if (this.#tty) this.#stream.write('\r\x1b[K');
  }

  /** A message between progress lines (system started, skipped, …). */
  note(message: string): void {
    if (this.#quiet) return;
    this.#stream.write(`${this.#tty ? '\r\x1b[K' : ''}${message}\n`);
  }

  #format(label: string, totalS: number, c: LiveCounters): string {
    // req/s over the trailing second: the sample from ≥ 1 s ago.
    this.#samples.push({ elapsedS: c.elapsedS, responses: c.responses });
    while (this.#samples.length > 2 && c.elapsedS - this.#samples[1]!.elapsedS >= 1) this.#samples.shift();
    const first = this.#samples[0]!;
    const span = c.elapsedS - first.elapsedS;
    // Until a second sample exists, the average since the start.
    const rate = span > 0 ? (c.responses - first.responses) / span : c.elapsedS > 0 ? c.responses / c.elapsedS : 0;
    const done = totalS > 0 ? Math.min(1, c.elapsedS / totalS) : 0;
    const filled = Math.round(done * BAR_WIDTH);
    const bar = this.#tty ? ` ${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}` : '';
    // totalS 0: a run bounded by a request count, not a duration.
    const time = totalS > 0 ? `${c.elapsedS.toFixed(1)}/${totalS.toFixed(totalS < 10 ? 1 : 0)} s` : `${c.elapsedS.toFixed(1)} s`;
    return `  ${label}${bar} ${time}  ${Math.round(rate)} req/s  ${c.responses} answered  errors ${c.errors}  non-2xx ${c.non2xx}`;
  }
}
