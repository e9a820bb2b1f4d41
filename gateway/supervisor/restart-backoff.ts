// Capped exponential backoff for restarting a crashed worker:
// initial, 2×initial, 4×initial, … up to max. A worker that stayed ready for
// at least `stableMs` before it crashed starts the count again, so one crash
// a day restarts at once while a crash loop slows down.

export type BackoffPolicy = { initialMs: number; maxMs: number; stableMs: number };

export function restartDelayMs(consecutiveCrashes: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, consecutiveCrashes - 1);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(exponent, 30));
}

/** The crash count after one more crash, given how long the worker had been ready (null: never). */
export function crashesAfterExit(previousCrashes: number, readyForMs: number | null, policy: BackoffPolicy): number {
  return readyForMs !== null && readyForMs >= policy.stableMs ? 1 : previousCrashes + 1;
}
