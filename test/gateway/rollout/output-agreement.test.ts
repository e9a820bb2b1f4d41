// Comparing a candidate's answer with the stable version's: exact differences
// per datatype (read from little-endian bytes at any offset), argmax
// agreement per row of classifier-like outputs, and Infinity for answers
// that cannot be compared element by element.

import t from 'tap';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import type { InferAnswer, Tensor } from '../../../common/wire.ts';
import { compareAnswers } from '../../../gateway/rollout/output-agreement.ts';

const WIDTH: Partial<Record<KServeDatatype, number>> = { BOOL: 1, UINT8: 1, INT8: 1, INT16: 2, UINT16: 2, FP16: 2, INT32: 4, UINT32: 4, FP32: 4, INT64: 8, UINT64: 8, FP64: 8 };

/** A tensor whose bytes sit `at` bytes into a larger buffer, as views into a frame do. */
function tensor(name: string, datatype: KServeDatatype, shape: number[], values: ReadonlyArray<number | bigint>, at = 0): Tensor {
  const width = WIDTH[datatype]!;
  const buffer = new ArrayBuffer(at + values.length * width + 3);
  const view = new DataView(buffer, at);
  values.forEach((v, i) => {
    const o = i * width;
    switch (datatype) {
      case 'FP16': return view.setFloat16(o, Number(v), true);
      case 'FP32': return view.setFloat32(o, Number(v), true);
      case 'FP64': return view.setFloat64(o, Number(v), true);
      case 'INT64': return view.setBigInt64(o, BigInt(v), true);
      case 'UINT64': return view.setBigUint64(o, BigInt(v), true);
      case 'INT32': return view.setInt32(o, Number(v), true);
      case 'INT16': return view.setInt16(o, Number(v), true);
      default: return view.setUint8(o, Number(v));
    }
  });
  return { name, datatype, shape, data: new Uint8Array(buffer, at, values.length * width) };
}

function bytesTensor(name: string, strings: string[]): Tensor {
  const parts = strings.map((s) => Buffer.from(s));
  const data = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  let o = 0;
  for (const p of parts) {
    new DataView(data.buffer).setUint32(o, p.length, true);
    data.set(p, o + 4);
    o += 4 + p.length;
  }
  return { name, datatype: 'BYTES', shape: [strings.length], data };
}

const answer = (...tensors: Tensor[]): InferAnswer => ({ model: 'm', version: '1', tensors });
const f32 = Math.fround;
const f16 = (x: number): number => new Float16Array([x])[0]!;

const PROBS = [0.1, 0.7, 0.2, 0.6, 0.3, 0.1, 0.2, 0.2, 0.6];
const stable = answer(tensor('probs', 'FP32', [3, 3], PROBS), tensor('label', 'INT64', [3], [1n, 0n, 2n]));

t.test('identical answers: no difference, every row agrees', async (t) => {
  const copy = answer(tensor('probs', 'FP32', [3, 3], PROBS, 1), tensor('label', 'INT64', [3], [1n, 0n, 2n], 5));
  t.same(compareAnswers(stable, copy), { maxAbsDiff: 0, argmaxRows: 3, argmaxAgreeingRows: 3 });
});

t.test('outputs are matched by name, not position', async (t) => {
  const reordered = answer(tensor('label', 'INT64', [3], [1n, 0n, 2n]), tensor('probs', 'FP32', [3, 3], PROBS));
  t.same(compareAnswers(stable, reordered), { maxAbsDiff: 0, argmaxRows: 3, argmaxAgreeingRows: 3 });
});

t.test('a small change gives its exact difference and keeps the argmax', async (t) => {
  const changed = [...PROBS];
  changed[2] = 0.2005;
  const result = compareAnswers(stable, answer(tensor('probs', 'FP32', [3, 3], changed), tensor('label', 'INT64', [3], [1n, 0n, 2n])));
  t.equal(result.maxAbsDiff, f32(0.2005) - f32(0.2));
  t.same([result.argmaxRows, result.argmaxAgreeingRows], [3, 3]);
});

t.test('a swapped top class is one disagreeing row', async (t) => {
  // Row 1: 0.6 and 0.3 swapped, so its top class moves from 0 to 1.
  const swapped = [0.1, 0.7, 0.2, 0.3, 0.6, 0.1, 0.2, 0.2, 0.6];
  const result = compareAnswers(stable, answer(tensor('probs', 'FP32', [3, 3], swapped), tensor('label', 'INT64', [3], [1n, 0n, 2n])));
  t.same(result, { maxAbsDiff: f32(0.6) - f32(0.3), argmaxRows: 3, argmaxAgreeingRows: 2 });
});

t.test('ties: the first maximum is the argmax', async (t) => {
  const a = answer(tensor('p', 'FP64', [2, 3], [0.5, 0.5, 0, 0.2, 0.4, 0.4]));
  const b = answer(tensor('p', 'FP64', [2, 3], [0.49, 0.5, 0, 0.2, 0.4, 0.4]));
  // Row 0: 0 (first of the tie) vs 1 disagree; row 1: the same tie on both sides agrees.
  t.same(compareAnswers(a, b), { maxAbsDiff: 0.010000000000000009, argmaxRows: 2, argmaxAgreeingRows: 1 });
});

t.test('which outputs are classifier-like', async (t) => {
  const rows: Array<{ name: string; a: Tensor; b: Tensor; expect: [number, number, number] }> = [
    { name: 'FP32 [2, 1]: one column is no class choice', a: tensor('y', 'FP32', [2, 1], [1, 2]), b: tensor('y', 'FP32', [2, 1], [1, 2.5]), expect: [0.5, 0, 0] },
    { name: 'FP32 [6]: rank 1', a: tensor('y', 'FP32', [6], [1, 2, 3, 4, 5, 6]), b: tensor('y', 'FP32', [6], [1, 2, 3, 4, 5, 6]), expect: [0, 0, 0] },
    { name: 'FP32 [1, 2, 3]: rank 3', a: tensor('y', 'FP32', [1, 2, 3], [1, 2, 3, 4, 5, 6]), b: tensor('y', 'FP32', [1, 2, 3], [1, 2, 3, 4, 5, 6]), expect: [0, 0, 0] },
    { name: 'INT32 [2, 2]: not floating point', a: tensor('y', 'INT32', [2, 2], [1, 2, 3, 4]), b: tensor('y', 'INT32', [2, 2], [2, 1, 3, 4]), expect: [1, 0, 0] },
    { name: 'FP32 [0, 4]: no row', a: tensor('y', 'FP32', [0, 4], []), b: tensor('y', 'FP32', [0, 4], []), expect: [0, 0, 0] },
  ];
  for (const row of rows) {
    const r = compareAnswers(answer(row.a), answer(row.b));
    t.same([r.maxAbsDiff, r.argmaxRows, r.argmaxAgreeingRows], row.expect, row.name);
  }
});

t.test('answers that cannot be compared element by element: Infinity', async (t) => {
  const probs = tensor('probs', 'FP32', [3, 3], PROBS);
  const label = tensor('label', 'INT64', [3], [1n, 0n, 2n]);
  const rows: Array<{ name: string; candidate: InferAnswer }> = [
    { name: 'an output missing', candidate: answer(probs) },
    { name: 'an output renamed', candidate: answer(probs, { ...label, name: 'labels' }) },
    { name: 'an extra output', candidate: answer(probs, label, tensor('extra', 'FP32', [1], [0])) },
    { name: 'another shape, same element count', candidate: answer(tensor('probs', 'FP32', [1, 9], PROBS), label) },
    { name: 'another datatype', candidate: answer(tensor('probs', 'FP64', [3, 3], PROBS), label) },
    { name: 'bytes that do not fit the shape', candidate: answer(probs, { ...label, data: label.data.subarray(0, 16) }) },
  ];
  for (const row of rows) t.equal(compareAnswers(stable, row.candidate).maxAbsDiff, Infinity, row.name);
});

t.test('NaN: the same place on both sides agrees, one side only is Infinity', async (t) => {
  const a = answer(tensor('y', 'FP32', [3], [NaN, 1, 2]));
  t.equal(compareAnswers(a, answer(tensor('y', 'FP32', [3], [NaN, 1, 2.5]))).maxAbsDiff, 0.5);
  t.equal(compareAnswers(a, answer(tensor('y', 'FP32', [3], [0, 1, 2]))).maxAbsDiff, Infinity);
  t.equal(compareAnswers(answer(tensor('y', 'FP32', [3], [0, 1, 2])), a).maxAbsDiff, Infinity);
  t.equal(compareAnswers(answer(tensor('y', 'FP32', [2], [Infinity, -Infinity])), answer(tensor('y', 'FP32', [2], [Infinity, -Infinity]))).maxAbsDiff, 0);
});

t.test('INT64 and UINT64: exact differences, negatives and values past 2^32', async (t) => {
  const a = answer(tensor('ids', 'INT64', [4], [1n, -5n, 2n ** 40n, -(2n ** 50n)], 3), tensor('u', 'UINT64', [2], [2n ** 63n, 7n], 1));
  const b = answer(tensor('ids', 'INT64', [4], [1n, -2n, 2n ** 40n + 7n, -(2n ** 50n)], 6), tensor('u', 'UINT64', [2], [2n ** 63n, 9n], 2));
  t.same(compareAnswers(a, b), { maxAbsDiff: 7, argmaxRows: 0, argmaxAgreeingRows: 0 });
  const far = answer(tensor('ids', 'INT64', [4], [1n, -5n, 2n ** 40n, 2n ** 50n]), tensor('u', 'UINT64', [2], [2n ** 63n, 7n]));
  t.equal(compareAnswers(a, far).maxAbsDiff, 2 ** 51, 'sign past 32 bits');
});

t.test('FP16: half floats decoded, unaligned, with argmax', async (t) => {
  const a = answer(tensor('p', 'FP16', [2, 2], [0.25, 0.75, 0.6, 0.4], 1));
  const b = answer(tensor('p', 'FP16', [2, 2], [0.2503, 0.75, 0.4, 0.6], 3));
  // FP16 has 2^-12 spacing near 0.25: 0.2503 is stored as 0.25 + 2^-12.
  t.equal(f16(0.2503), 0.25 + 2 ** -12);
  t.same(compareAnswers(a, b), { maxAbsDiff: f16(0.6) - f16(0.4), argmaxRows: 2, argmaxAgreeingRows: 1 });
  const near = answer(tensor('p', 'FP16', [2, 2], [0.2503, 0.75, 0.6, 0.4]));
  t.same(compareAnswers(a, near), { maxAbsDiff: 2 ** -12, argmaxRows: 2, argmaxAgreeingRows: 2 });
});

t.test('unaligned FP32, FP64 and INT16 views read the same values as aligned ones', async (t) => {
  for (const at of [0, 1, 2, 3, 5, 7]) {
    const a = answer(tensor('x', 'FP64', [2], [1.5, -2.25]), tensor('y', 'FP32', [2], [3, 4]), tensor('z', 'INT16', [2], [-300, 300]));
    const b = answer(tensor('x', 'FP64', [2], [1.5, -2.5], at), tensor('y', 'FP32', [2], [3, 4.125], at), tensor('z', 'INT16', [2], [-300, 301], at));
    t.equal(compareAnswers(a, b).maxAbsDiff, 1, `at byte ${at}`);
  }
});

t.test('BOOL and BYTES: any differing element is Infinity', async (t) => {
  const flags = answer(tensor('f', 'BOOL', [3], [1, 0, 1]));
  t.equal(compareAnswers(flags, answer(tensor('f', 'BOOL', [3], [1, 0, 1], 1))).maxAbsDiff, 0);
  t.equal(compareAnswers(flags, answer(tensor('f', 'BOOL', [3], [1, 1, 1]))).maxAbsDiff, Infinity);
  const words = answer(bytesTensor('w', ['cat', 'dog']));
  t.equal(compareAnswers(words, answer(bytesTensor('w', ['cat', 'dog']))).maxAbsDiff, 0);
  t.equal(compareAnswers(words, answer(bytesTensor('w', ['cat', 'dot']))).maxAbsDiff, Infinity);
  t.equal(compareAnswers(words, answer(bytesTensor('w', ['cat', 'do', 'g']))).maxAbsDiff, Infinity);
});

t.test('a 1e5-element classifier output: every row counted, the one change found', async (t) => {
  const rows = 1000;
  const classes = 100;
  const values = Array.from({ length: rows * classes }, (_, i) => ((i * 7919) % 1000) / 1000);
  const changed = [...values];
  changed[500 * classes + 3] = 5; // row 500's top class becomes 3
  const result = compareAnswers(answer(tensor('p', 'FP32', [rows, classes], values, 1)), answer(tensor('p', 'FP32', [rows, classes], changed, 2)));
  t.same(result, { maxAbsDiff: 5 - f32(values[500 * classes + 3]!), argmaxRows: rows, argmaxAgreeingRows: rows - 1 });
});
