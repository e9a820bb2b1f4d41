// mulberry32: a tiny seeded PRNG (32-bit state), so demo weights are the
// same on every machine and the model files reproduce byte for byte.

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

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
