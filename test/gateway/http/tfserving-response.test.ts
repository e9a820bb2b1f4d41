import t from 'tap';
import { elementCount } from '../../../common/datatypes.ts';
import { TimeSlicer } from '../../../common/time-slice.ts';
import type { Tensor } from '../../../common/wire.ts';
import { joinPieces, predictResponsePieces, slicedPieces } from '../../../gateway/http/tfserving-response.ts';
import { mulberry32 } from '../../../scripts/demo-models/prng.ts';

const fp32 = (name: string, shape: number[], values: readonly number[]): Tensor => ({ name, datatype: 'FP32', shape, data: new Uint8Array(Float32Array.from(values).buffer) });
const int64 = (name: string, shape: number[], values: readonly bigint[]): Tensor => ({ name, datatype: 'INT64', shape, data: new Uint8Array(BigInt64Array.from(values).buffer) });
function bytes(name: string, elements: readonly Buffer[]): Tensor {
  const parts = elements.flatMap((e) => [Buffer.from(Uint32Array.of(e.byteLength).buffer), e]);
  return { name, datatype: 'BYTES', shape: [elements.length], data: Buffer.concat(parts) };
}
const answer = (tensors: Tensor[], format: 'row' | 'columnar') => JSON.parse(joinPieces(predictResponsePieces(tensors, format)).toString());

/** The reference: flat values nested as `shape`, recursively. */
function nest(values: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  const [dim, ...rest] = shape;
  const size = elementCount(rest);
  return Array.from({ length: dim! }, (_, i) => nest(values.slice(i * size, (i + 1) * size), rest));
}

t.test('columnar: {"outputs": value} for one output, {"outputs": {name: value}} for several', async (t) => {
  const probabilities = fp32('probabilities', [2, 3], [0.5, 0.25, 0.125, 1, 2, 3]);
  t.same(answer([probabilities], 'columnar'), { outputs: [[0.5, 0.25, 0.125], [1, 2, 3]] });
  const score = fp32('score', [2, 1], [0.75, -1]);
  t.same(answer([probabilities, score], 'columnar'), { outputs: { probabilities: [[0.5, 0.25, 0.125], [1, 2, 3]], score: [[0.75], [-1]] } });
  t.same(answer([fp32('y', [], [4.5])], 'columnar'), { outputs: 4.5 }, 'a scalar output is a bare number');
  t.same(answer([], 'columnar'), { outputs: {} });
});

t.test('row: {"predictions": [row, …]}, one object per row for several outputs', async (t) => {
  const probabilities = fp32('probabilities', [2, 3], [0.5, 0.25, 0.125, 1, 2, 3]);
  t.same(answer([probabilities], 'row'), { predictions: [[0.5, 0.25, 0.125], [1, 2, 3]] });
  const embedding = fp32('embedding', [2, 2], [1, 2, 3, 4]);
  const score = fp32('score', [2], [0.75, -1]);
  t.same(answer([embedding, score], 'row'), { predictions: [{ embedding: [1, 2], score: 0.75 }, { embedding: [3, 4], score: -1 }] }, 'a rank-1 output gives a bare value per row');
  t.throws(() => predictResponsePieces([embedding, fp32('score', [3], [1, 2, 3])], 'row'), { code: 'GW_ERR_INVALID_REQUEST' }, 'outputs of different first dims cannot be rows');
  t.throws(() => predictResponsePieces([fp32('y', [], [1])], 'row'), { code: 'GW_ERR_INVALID_REQUEST' }, 'nor a scalar output');
});

t.test('values: NaN and ±Infinity as strings, 64-bit integers exact, BYTES as strings or b64', async (t) => {
  const text = joinPieces(predictResponsePieces([fp32('y', [4], [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0])], 'columnar')).toString();
  t.equal(text, '{"outputs":["NaN","Infinity","-Infinity",0]}');
  const big = 2n ** 60n + 1n;
  t.equal(joinPieces(predictResponsePieces([int64('ids', [1, 2], [big, -big])], 'row')).toString(), `{"predictions":[[${big},${-big}]]}`);
  const elements = [Buffer.from('héllo'), Buffer.from([0xff, 0, 1])];
  t.same(answer([bytes('labels', elements)], 'columnar'), { outputs: ['héllo', { b64: '/wAB' }] }, 'bytes that are not UTF-8 go as b64');
  t.same(answer([bytes('image_bytes', elements)], 'columnar'), { outputs: [{ b64: Buffer.from('héllo').toString('base64') }, { b64: '/wAB' }] }, 'an output named *_bytes goes as b64 (TF Serving\'s rule)');
});

t.test('empty values keep their nesting', async (t) => {
  t.same(answer([fp32('y', [2, 0], [])], 'columnar'), { outputs: [[], []] });
  t.same(answer([fp32('y', [0, 3], [])], 'columnar'), { outputs: [] });
  t.same(answer([fp32('y', [2, 0, 3], [])], 'row'), { predictions: [[], []] });
  t.throws(() => predictResponsePieces([fp32('y', [4096, 4096, 0], [])], 'columnar'), { code: 'GW_ERR_RESPONSE_TOO_LARGE' }, 'bounded, and refused before the first piece');
});

t.test('a frame whose bytes do not fit its shape fails before the first piece', async (t) => {
  t.throws(() => predictResponsePieces([{ name: 'y', datatype: 'FP32', shape: [3], data: new Uint8Array(8) }], 'columnar'), { code: 'GW_ERR_INTERNAL' });
  t.throws(() => predictResponsePieces([{ name: 'y', datatype: 'BYTES', shape: [2], data: new Uint8Array([5, 0, 0, 0, 1]) }], 'row'), { code: 'GW_ERR_INTERNAL' });
  t.throws(() => predictResponsePieces([{ name: 'y', datatype: 'BYTES', shape: [1], data: new Uint8Array([0, 0, 0, 0, 1]) }], 'row'), { code: 'GW_ERR_INTERNAL' });
});

t.test('any shape nests as the reference does, across pieces, whole or in time slices', async (t) => {
  const random = mulberry32(7);
  const shapes = [[5000, 3], [3, 5000], [7, 1000, 3], [2, 3, 4, 5], [1, 9000], [9000], [9000, 1], [4, 1, 2100], [3, 0, 2]];
  for (let i = 0; i < 20; i++) shapes.push(Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.floor(random() * 30)));
  for (const shape of shapes) {
    const values = Array.from({ length: elementCount(shape) }, () => Math.fround(random() * 4 - 2));
    const tensor = fp32('y', shape, values);
    // Compared as JSON text: tap's deep comparison of 10^4 nested numbers is slow, and the text is what is sent.
    const expected = JSON.stringify(nest(values, shape));
    t.equal(JSON.stringify(answer([tensor], 'columnar').outputs), expected, `columnar [${shape}]`);
    if (shape.length > 0 && shape[0]! > 0) {
      const other = fp32('z', [shape[0]!], Array.from({ length: shape[0]! }, (_, i) => i / 2));
      const rows = answer([tensor, other], 'row').predictions as Array<{ y: unknown; z: number }>;
      t.equal(JSON.stringify(rows.map((r) => r.y)), expected, `rows of [${shape}]`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of slicedPieces(predictResponsePieces([tensor], 'columnar'), new TimeSlicer({ sliceMs: 0 }))) chunks.push(chunk);
    t.same(Buffer.concat(chunks), joinPieces(predictResponsePieces([tensor], 'columnar')), `sliced [${shape}]: the same bytes`);
  }
});
