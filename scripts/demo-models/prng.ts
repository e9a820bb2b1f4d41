// Seeded weights (mulberry32, common/prng.ts), so demo weights are the same
// on every machine and the model files reproduce byte for byte.

export { mulberry32 } from '../../common/prng.ts';

/** Float32 values uniform in [-limit, limit). */
export function uniformFloats(random: () => number, count: number, limit: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * limit;
  return values;
}

/** Glorot/Xavier uniform limit: keeps activations in a sane range through the layers. */
export function glorotLimit(fanIn: number, fanOut: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}
