// Drives resumable work (a scanner's step(maxBytes)) in time slices. The step
// size adapts, doubling while a step is quick and halving while it is slow,
// so that one step takes about STEP_TARGET_MS whatever the bytes cost: cold
// code still in the interpreter reads far slower than optimized code
// (docs/performance.md), a string costs less per byte than nested numbers,
// and a loaded machine is slower than an idle one. A fixed size right for one
// of these is far too long for another; TimeSlicer then yields between steps
// once its slice is used.

import type { TimeSlicer } from '../time-slice.ts';

/** Aimed duration of one step; a slice (2 ms by default) holds a few. */
export const STEP_TARGET_MS = 0.5;
const MIN_STEP_BYTES = 4 * 1024;
const MAX_STEP_BYTES = 4 * 1024 * 1024;

/** Runs `step` until it returns true, awaiting `slicer.pause()` between steps. */
export async function runInSteps(step: (maxBytes: number) => boolean, slicer: TimeSlicer, now: () => number = () => performance.now()): Promise<void> {
  let bytes = MIN_STEP_BYTES; // cold code runs in the interpreter: start small
  for (;;) {
    const startMs = now();
    if (step(bytes)) return;
    const tookMs = now() - startMs;
    if (tookMs < STEP_TARGET_MS / 2) bytes = Math.min(MAX_STEP_BYTES, bytes * 2);
    else if (tookMs > STEP_TARGET_MS * 2) bytes = Math.max(MIN_STEP_BYTES, bytes / 2);
    const pause = slicer.pause();
    if (pause) await pause;
  }
}
