// Slow start: a replica that joins replicas already serving gets a share of
// traffic that ramps up linearly over a window, from a minimum weight to a
// full one, so that a cold process (its first inferences are the slow ones)
// is not handed a full share at once. The weight feeds weighted
// least-connections (least-connections.ts). Pure.
//
//   weight(t) = min + (1 − min) · t / window   for t < window, else 1

export type SlowStartSettings = { windowMs: number; minWeightPercent: number };

/** Traffic weight of a replica ready for `readyForMs` (1 = a full share). */
export function slowStartWeight(readyForMs: number, windowMs: number, minWeightPercent: number): number {
  if (windowMs <= 0 || readyForMs >= windowMs) return 1;
  const min = minWeightPercent / 100;
  return min + (1 - min) * (Math.max(0, readyForMs) / windowMs);
}
