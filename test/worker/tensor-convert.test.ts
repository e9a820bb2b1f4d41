import t from 'tap';
import { datatypeByKServe, KSERVE_DATATYPES, type KServeDatatype } from '../../common/datatypes.ts';
import type { Tensor } from '../../common/wire.ts';
import { encodeBytesElements, fromOrtTensor, toOrtTensor } from '../../worker/tensor-convert.ts';

/** Deterministic bytes for `count` elements of a fixed-width datatype. */
function sampleBytes(datatype: KServeDatatype, count: number): Uint8Array {
  const size = datatypeByKServe(datatype)!.bytesPerElement;
  const bytes = new Uint8Array(count * size);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
  // bool must be 0/1, float16 bit patterns must not be NaNs that could be canonicalized.
  if (datatype === 'BOOL') for (let i = 0; i < bytes.length; i++) bytes[i] = i % 3 === 0 ? 1 : 0;
  if (datatype === 'FP16') for (let i = 1; i < bytes.length; i += 2) bytes[i] = bytes[i]! & 0x3b;
  return bytes;
}

/** `bytes` placed at `offset` inside a larger buffer (a view like decodeFrame's). */
function viewAt(bytes: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(offset + bytes.byteLength + 3);
  backing.set(bytes, offset);
  return backing.subarray(offset, offset + bytes.byteLength);
}

const FIXED = KSERVE_DATATYPES.filter((d) => d !== 'BYTES');

t.test('fixed-width datatypes round-trip wire → ort → wire at every byte offset', async (t) => {
  for (const datatype of FIXED) {
    const size = datatypeByKServe(datatype)!.bytesPerElement;
    for (const offset of [0, 1, 2, 3, 4, 5, 8]) {
      const original = sampleBytes(datatype, 6);
      const wire: Tensor = { name: 'x', datatype, shape: [2, 3], data: viewAt(original, offset) };
      const ort = toOrtTensor(wire);
      t.equal(ort.type, datatypeByKServe(datatype)!.ort, `${datatype}@${offset} ort type`);
      t.same(ort.dims, [2, 3]);
      const data = ort.data as unknown as ArrayBufferView;
      const aligned = offset % size === 0;
      // Aligned views are used in place; misaligned ones are copied.
      t.equal(data.buffer === wire.data.buffer, aligned, `${datatype}@${offset} ${aligned ? 'is not copied' : 'is copied'}`);
      const back = fromOrtTensor('x', ort);
      t.equal(back.datatype, datatype);
      t.same(back.shape, [2, 3]);
      t.same(Buffer.from(back.data), Buffer.from(original), `${datatype}@${offset} bytes survive`);
    }
  }
});

t.test('element values arrive as onnxruntime reads them', async (t) => {
  const f32 = new Float32Array([1.5, -2, 3.25]);
  const i64 = new BigInt64Array([1n, -(2n ** 62n), 7n]);
  const u64 = new BigUint64Array([2n ** 64n - 1n, 0n]);
  const ortF32 = toOrtTensor({ name: 'a', datatype: 'FP32', shape: [3], data: viewAt(new Uint8Array(f32.buffer), 3) });
  t.same(Array.from(ortF32.data as Float32Array), [1.5, -2, 3.25]);
  const ortI64 = toOrtTensor({ name: 'b', datatype: 'INT64', shape: [3], data: viewAt(new Uint8Array(i64.buffer), 4) });
  t.same(Array.from(ortI64.data as BigInt64Array), [1n, -(2n ** 62n), 7n]);
  const ortU64 = toOrtTensor({ name: 'c', datatype: 'UINT64', shape: [2], data: new Uint8Array(u64.buffer) });
  t.same(Array.from(ortU64.data as BigUint64Array), [2n ** 64n - 1n, 0n]);
  const ortBool = toOrtTensor({ name: 'd', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) });
  t.equal(ortBool.type, 'bool');
  t.same(Array.from(ortBool.data as Uint8Array), [1, 0]);
  const half = toOrtTensor({ name: 'e', datatype: 'FP16', shape: [1], data: new Uint8Array([0x00, 0x3c]) }); // 1.0
  t.equal(half.type, 'float16');
  t.equal(Number((half.data as unknown as ArrayLike<number>)[0]), 1);
});

t.test('scalars and empty tensors', async (t) => {
  const scalar = toOrtTensor({ name: 's', datatype: 'FP64', shape: [], data: new Uint8Array(new Float64Array([2.5]).buffer) });
  t.same(scalar.dims, []);
  t.same(fromOrtTensor('s', scalar).shape, []);
  const empty = toOrtTensor({ name: 'e', datatype: 'INT32', shape: [0, 4], data: viewAt(new Uint8Array(0), 1) });
  t.equal(empty.size, 0);
  t.equal(fromOrtTensor('e', empty).data.byteLength, 0);
});

t.test('BYTES ↔ string tensors (u32 LE length + UTF-8 per element)', async (t) => {
  const strings = ['', 'hello', 'héllo wörld', '日本語', '🙂'.repeat(3)];
  const wire = encodeBytesElements(strings);
  t.equal(Buffer.from(wire).readUInt32LE(0), 0);
  t.equal(Buffer.from(wire).readUInt32LE(4), 5);
  for (const offset of [0, 1, 3]) {
    const ort = toOrtTensor({ name: 'text', datatype: 'BYTES', shape: [strings.length], data: viewAt(wire, offset) });
    t.equal(ort.type, 'string');
    t.same(ort.data, strings, `decoded at offset ${offset}`);
    const back = fromOrtTensor('text', ort);
    t.equal(back.datatype, 'BYTES');
    t.same(Buffer.from(back.data), Buffer.from(wire), `re-encoded at offset ${offset}`);
  }
  const grid = toOrtTensor({ name: 'g', datatype: 'BYTES', shape: [2, 2], data: encodeBytesElements(['a', 'b', 'c', 'd']) });
  t.same(grid.dims, [2, 2]);
});

t.test('malformed tensors are GW_ERR_BAD_FRAME before onnxruntime sees them', async (t) => {
  const bytes = (...strings: string[]) => encodeBytesElements(strings);
  const cases: Array<[string, Tensor, string]> = [
    ['FP32 one byte short', { name: 'x', datatype: 'FP32', shape: [2], data: new Uint8Array(7) }, 'GW_ERR_BAD_FRAME'],
    ['INT64 too long', { name: 'x', datatype: 'INT64', shape: [1], data: new Uint8Array(16) }, 'GW_ERR_BAD_FRAME'],
    ['negative dim', { name: 'x', datatype: 'UINT8', shape: [-1], data: new Uint8Array(1) }, 'GW_ERR_BAD_FRAME'],
    ['fractional dim', { name: 'x', datatype: 'UINT8', shape: [1.5], data: new Uint8Array(1) }, 'GW_ERR_BAD_FRAME'],
    ['shape not an array', { name: 'x', datatype: 'UINT8', shape: 3 as unknown as number[], data: new Uint8Array(3) }, 'GW_ERR_BAD_FRAME'],
    ['BYTES fewer elements than shape', { name: 't', datatype: 'BYTES', shape: [3], data: bytes('a', 'b') }, 'GW_ERR_BAD_FRAME'],
    ['BYTES trailing bytes', { name: 't', datatype: 'BYTES', shape: [1], data: bytes('a', 'b') }, 'GW_ERR_BAD_FRAME'],
    ['BYTES cut inside a length', { name: 't', datatype: 'BYTES', shape: [1], data: new Uint8Array([5, 0]) }, 'GW_ERR_BAD_FRAME'],
    ['BYTES length overruns', { name: 't', datatype: 'BYTES', shape: [1], data: new Uint8Array([9, 0, 0, 0, 65]) }, 'GW_ERR_BAD_FRAME'],
    ['unknown datatype', { name: 'x', datatype: 'BF16' as KServeDatatype, shape: [1], data: new Uint8Array(2) }, 'GW_ERR_UNKNOWN_DATATYPE'],
  ];
  for (const [name, tensor, code] of cases) t.throws(() => toOrtTensor(tensor), { code }, name);
});
