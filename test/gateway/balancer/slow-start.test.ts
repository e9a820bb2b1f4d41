import t from 'tap';
import { slowStartWeight } from '../../../gateway/balancer/slow-start.ts';

t.test('slow start ramps a new replica\'s weight linearly from the minimum to a full share', async (t) => {
  const rows: Array<[number, number, number, number]> = [
    // readyForMs, windowMs, minWeightPercent, weight
    [0, 10_000, 10, 0.1],
    [5_000, 10_000, 10, 0.55],
    [10_000, 10_000, 10, 1],
    [60_000, 10_000, 10, 1],
    [0, 0, 10, 1], // slow start off
    [-5, 10_000, 20, 0.2], // clock skew never goes below the minimum
  ];
  for (const [readyFor, window, min, expected] of rows) {
    t.ok(Math.abs(slowStartWeight(readyFor, window, min) - expected) < 1e-9, `${readyFor} of ${window} ms from ${min}%`);
  }
});
