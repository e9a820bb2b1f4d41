// Cooperative time slicing: long work on one request (decoding a large body,
// hashing it, rendering a large answer) runs in slices of a few milliseconds
// and lets the event loop serve other clients in between, so that no single
// request holds the loop for longer than a slice.
//
//   work ─▶ slicer.pause() ─▶ undefined: the slice has time left, go on
//                          └▶ a promise: the slice is used up; await it
//                             (setImmediate: I/O callbacks run first)
//
// `pause()` answers undefined while the slice lasts, so a caller that is
// cheap in total (a small request) never awaits anything.

export type TimeSlicerOptions = {
  /** Longest run between two yields to the event loop. */
  sliceMs?: number;
  now?: () => number;
};

export const DEFAULT_SLICE_MS = 2;

export class TimeSlicer {
  readonly #sliceMs: number;
  readonly #now: () => number;
  #sliceStartMs: number;
  /** Times this slicer yielded to the event loop. */
  yields = 0;

  constructor(options: TimeSlicerOptions = {}) {
    this.#sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#sliceStartMs = this.#now();
  }

  /** Undefined while the current slice has time left; else a promise that resolves after the event loop had a turn. */
  pause(): Promise<void> | undefined {
    if (this.#now() - this.#sliceStartMs < this.#sliceMs) return undefined;
    this.yields++;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#sliceStartMs = this.#now();
        resolve();
      }),
    );
  }
}
