import t from 'tap';
import type { Tensor } from '../../../common/wire.ts';
import { cacheKey, cacheKeySliced } from '../../../gateway/cache/cache-key.ts';
import { TimeSlicer } from '../../../common/time-slice.ts';

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Uint8Array(Float32Array.from(values).buffer),
});
const base = { model: 'classifier', version: '1', fingerprint: 'a1', outputs: undefined, tensors: [f32('input', [1, 2], [1, 2])] };

t.test('equal requests give equal keys; each deciding field changes the key', async (t) => {
  t.equal(cacheKey(base), cacheKey({ ...base, tensors: [f32('input', [1, 2], [1.0, 2.0])] }));
  t.equal(cacheKey({ ...base, outputs: ['a', 'b'] }), cacheKey({ ...base, outputs: ['b', 'a'] }), 'output order does not matter');
  const variants = [
    { ...base, model: 'classifier2' },
    { ...base, version: '2' },
    { ...base, fingerprint: 'b2' },
    { ...base, outputs: ['probabilities'] },
    { ...base, tensors: [f32('input', [2, 1], [1, 2])] },
    { ...base, tensors: [f32('other', [1, 2], [1, 2])] },
    { ...base, tensors: [f32('input', [1, 2], [1, 2.5])] },
    { ...base, tensors: [{ ...f32('input', [1, 2], [1, 2]), datatype: 'INT32' as const }] },
  ];
  const keys = new Set([cacheKey(base), ...variants.map(cacheKey)]);
  t.equal(keys.size, variants.length + 1);
});

t.test('field boundaries cannot be shifted to forge a collision', async (t) => {
  t.not(cacheKey({ ...base, model: 'ab', version: 'c' }), cacheKey({ ...base, model: 'a', version: 'bc' }));
});

t.test('thousands of distinct random tensors never share a key', async (t) => {
  let seed = 99;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const keys = new Set<string>();
  for (let i = 0; i < 5000; i++) keys.add(cacheKey({ ...base, tensors: [f32('input', [1, 8], Array.from({ length: 8 }, random))] }));
  t.equal(keys.size, 5000);
});

t.test('the sliced key of a large input is the same digest, hashed in slices', async (t) => {
  const big = { ...base, tensors: [f32('input', [1, 1_000_000], Array.from({ length: 1_000_000 }, (_, i) => i % 1000)), f32('other', [1, 2], [1, 2])] };
  const slicer = new TimeSlicer({ sliceMs: 0 });
  t.equal(await cacheKeySliced(big, slicer), cacheKey(big));
  t.ok(slicer.yields >= 4, `yielded ${slicer.yields} times for 4 MB`);
  t.equal(await cacheKeySliced(base, new TimeSlicer()), cacheKey(base));
});
