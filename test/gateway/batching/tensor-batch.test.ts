import t from 'tap';
import { KSERVE_DATATYPES, datatypeByKServe, elementCount, type KServeDatatype } from '../../../common/datatypes.ts';
import type { Tensor } from '../../../common/wire.ts';
import type { BatchAxes } from '../../../gateway/batching/batch-axes.ts';
import { concatAlongAxes, groupKey, requestRows, splitAlongAxes } from '../../../gateway/batching/tensor-batch.ts';

// ── Tensors with recognisable bytes ─────────────────────────────────────────

/** mulberry32: seeded bytes, so every request's elements differ and a misplaced run shows. */
function seededBytes(seed: number, length: number): Uint8Array {
  let a = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    bytes[i] = (x ^ (x >>> 14)) & 0xff;
  }
  return bytes;
}

const STRINGS = ['', 'a', 'héllo', '日本語のテキスト', '🙂👍🏽', 'naïve café', 'x'.repeat(300), '\u0000nul', 'Ω≈ç√'];

function encodeStrings(strings: readonly string[]): Uint8Array {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, offset);
    p.copy(out, offset + 4);
    offset += 4 + p.byteLength;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function tensor(name: string, datatype: KServeDatatype, shape: number[], seed: number): Tensor {
  const count = elementCount(shape);
  const width = datatypeByKServe(datatype)!.bytesPerElement;
  const data = width > 0 ? seededBytes(seed, count * width) : encodeStrings(Array.from({ length: count }, (_, i) => `${STRINGS[(seed + i) % STRINGS.length]}#${seed}.${i}`));
  return { name, datatype, shape, data };
}

/** A tensor's elements as hex strings, in row-major order (BYTES: each element's prefix and bytes). */
function elements(t: Tensor): string[] {
  const width = datatypeByKServe(t.datatype)!.bytesPerElement;
  const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out: string[] = [];
  let offset = 0;
  for (let i = 0; i < elementCount(t.shape); i++) {
    const length = width > 0 ? width : 4 + data.readUInt32LE(offset);
    out.push(data.subarray(offset, offset + length).toString('hex'));
    offset += length;
  }
  return out;
}

// ── A reference concatenation on nested arrays, independent of the run arithmetic ──

type Nested = string | Nested[];

function nest(flat: readonly string[], shape: readonly number[]): Nested {
  if (shape.length === 0) return flat[0]!;
  const [dim, ...rest] = shape;
  const size = elementCount(rest);
  return Array.from({ length: dim! }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

function concatNested(parts: readonly Nested[][], depth: number): Nested[] {
  if (depth === 0) return parts.flat(1);
  return parts[0]!.map((_, i) => concatNested(parts.map((p) => p[i] as Nested[]), depth - 1));
}

function referenceConcat(parts: readonly Tensor[], axis: number): string[] {
  const nested = concatNested(parts.map((p) => nest(elements(p), p.shape) as Nested[]), axis);
  return (nested as unknown[]).flat(Infinity) as string[];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const withAxis = (dims: readonly number[], axis: number, rows: number) => [...dims.slice(0, axis), rows, ...dims.slice(axis)];

// ── Tests ───────────────────────────────────────────────────────────────────

t.test('concatenation then split round-trips every datatype along every axis', async (t) => {
  const rowsPerRequest = [1, 3, 0, 2, 1]; // multi-row, single-row and 0-row requests mixed
  for (const datatype of KSERVE_DATATYPES) {
    for (const axis of [0, 1, 2]) {
      const name = `${datatype} axis ${axis}`;
      const requests = rowsPerRequest.map((rows, i) => [tensor('x', datatype, withAxis([2, 3], axis, rows), 100 * axis + i)]);
      const axes = new Map([['x', axis]]);
      const [merged] = concatAlongAxes(requests, axes);
      t.same(merged!.shape, withAxis([2, 3], axis, 7), `${name}: merged shape`);
      t.same(elements(merged!), referenceConcat(requests.map((r) => r[0]!), axis), `${name}: merged elements`);

      const split = splitAlongAxes([merged!], rowsPerRequest, axes);
      t.equal(split.length, requests.length);
      for (const [i, [original]] of requests.entries()) {
        const [part] = split[i]!;
        t.same([part!.name, part!.datatype, part!.shape], [original!.name, original!.datatype, original!.shape], `${name}: request ${i} shape`);
        t.ok(bytesEqual(part!.data, original!.data), `${name}: request ${i} bytes`);
        // A leading axis gives views into the merged bytes; any other axis, copies.
        t.equal(part!.data.buffer === merged!.data.buffer, axis === 0, `${name}: request ${i} ${axis === 0 ? 'view' : 'copy'}`);
      }
    }
  }
});

t.test('a size-1 leading dim is a leading axis: one run per request, views on split', async (t) => {
  const requests = [1, 2].map((rows, i) => [tensor('s', 'BYTES', [1, rows, 2], i)]);
  const axes = new Map([['s', 1]]);
  const [merged] = concatAlongAxes(requests, axes);
  t.same(elements(merged!), referenceConcat(requests.map((r) => r[0]!), 1));
  const split = splitAlongAxes([merged!], [1, 2], axes);
  t.ok(split.every(([part], i) => bytesEqual(part!.data, requests[i]![0]!.data) && part!.data.buffer === merged!.data.buffer));
});

t.test('several tensors keep their order, datatypes and axes', async (t) => {
  const axes = new Map([['query', 0], ['ids', 0], ['mask', 1]]);
  const request = (rows: number, seed: number): Tensor[] => [
    tensor('query', 'FP32', [rows, 16], seed),
    tensor('ids', 'INT64', [rows, 4], seed + 1),
    tensor('mask', 'BOOL', [2, rows], seed + 2),
  ];
  const requests = [request(1, 10), request(4, 20), request(1, 30)];
  const merged = concatAlongAxes(requests, axes);
  t.same(merged.map((m) => [m.name, m.datatype, m.shape]), [['query', 'FP32', [6, 16]], ['ids', 'INT64', [6, 4]], ['mask', 'BOOL', [2, 6]]]);
  const split = splitAlongAxes(merged, [1, 4, 1], axes);
  for (const [i, tensors] of requests.entries()) {
    t.same(split[i]!.map((s) => s.shape), tensors.map((x) => x.shape), `request ${i} shapes`);
    t.ok(split[i]!.every((s, j) => bytesEqual(s.data, tensors[j]!.data)), `request ${i} bytes`);
  }
});

/** A row-wise fake model: doubled = 2x (FP32), norm = Σx² (FP64, [n, 1]), label = a string per row (BYTES, [n]). */
function fakeModel(input: Tensor): Tensor[] {
  const rows = input.shape[0]!;
  const x = new Float32Array(input.data.slice().buffer);
  const doubled = x.map((v) => v * 2);
  const norm = new Float64Array(rows);
  const labels: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < 4; k++) norm[r]! += x[r * 4 + k]! ** 2;
    labels.push(x[r * 4]! > 0 ? 'positif ✓' : 'négatif ✗');
  }
  return [
    { name: 'doubled', datatype: 'FP32', shape: [rows, 4], data: new Uint8Array(doubled.buffer) },
    { name: 'norm', datatype: 'FP64', shape: [rows, 1], data: new Uint8Array(norm.buffer) },
    { name: 'label', datatype: 'BYTES', shape: [rows], data: encodeStrings(labels) },
  ];
}

t.test('each request gets exactly what running it alone gives (row-wise model)', async (t) => {
  const inputs = [2, 1, 0, 5, 1].map((rows, i) => {
    const values = Float32Array.from({ length: rows * 4 }, (_, k) => Math.sin(i * 31 + k) * 1e3);
    return [{ name: 'x', datatype: 'FP32', shape: [rows, 4], data: new Uint8Array(values.buffer) } satisfies Tensor];
  });
  const axes: BatchAxes = { inputs: new Map([['x', 0]]), outputs: new Map([['doubled', 0], ['norm', 0], ['label', 0]]) };
  const rows = inputs.map((tensors) => requestRows(tensors, axes)!);
  const batched = splitAlongAxes(fakeModel(concatAlongAxes(inputs, axes.inputs)[0]!), rows, axes.outputs);
  for (const [i, tensors] of inputs.entries()) {
    const alone = fakeModel(tensors[0]!);
    t.same(batched[i]!.map((o) => [o.name, o.datatype, o.shape]), alone.map((o) => [o.name, o.datatype, o.shape]), `request ${i}: outputs`);
    t.ok(batched[i]!.every((o, j) => bytesEqual(o.data, alone[j]!.data)), `request ${i}: bit-identical`);
  }
});

t.test('a batch of one is passed through without copying', async (t) => {
  const request = [tensor('x', 'FP32', [3, 2], 1)];
  const axes = new Map([['x', 0]]);
  const merged = concatAlongAxes([request], axes);
  t.equal(merged[0], request[0]);
  // Alone, the worker's answer is the request's answer, whatever its shape.
  const outputs = [tensor('y', 'FP32', [1], 2)];
  t.equal(splitAlongAxes(outputs, [3], axes)[0]![0], outputs[0]);
});

t.test('requestRows: the rows along the batch axis, equal across inputs', async (t) => {
  const axes = (entries: Array<[string, number]>): BatchAxes => ({ inputs: new Map(entries), outputs: new Map() });
  const x = (shape: number[], name = 'x'): Tensor => tensor(name, 'FP32', shape, 0);
  const cases: Array<[string, Tensor[], BatchAxes, number | undefined]> = [
    ['one row', [x([1, 64])], axes([['x', 0]]), 1],
    ['several rows', [x([5, 64])], axes([['x', 0]]), 5],
    ['no rows', [x([0, 64])], axes([['x', 0]]), 0],
    ['two inputs agree', [x([3, 16], 'a'), x([3, 4], 'b')], axes([['a', 0], ['b', 0]]), 3],
    ['two inputs disagree', [x([3, 16], 'a'), x([2, 4], 'b')], axes([['a', 0], ['b', 0]]), undefined],
    ['along axis 1', [x([8, 7, 16])], axes([['x', 1]]), 7],
    ['mixed axes agree', [x([8, 7, 16], 'a'), x([7], 'b')], axes([['a', 1], ['b', 0]]), 7],
    ['an input without a batch axis', [x([3, 16], 'a'), x([3], 'b')], axes([['a', 0]]), undefined],
    ['an axis beyond the rank', [x([])], axes([['x', 0]]), undefined],
    ['no inputs', [], axes([]), undefined],
  ];
  for (const [name, tensors, a, expected] of cases) t.equal(requestRows(tensors, a), expected, name);
});

t.test('groupKey is equal exactly for requests that can share a batch', async (t) => {
  const axis0: BatchAxes = { inputs: new Map([['ids', 0], ['mask', 0]]), outputs: new Map() };
  const axis1: BatchAxes = { inputs: new Map([['tokens', 1]]), outputs: new Map() };
  const req = (ids: number[], mask: number[], datatype: KServeDatatype = 'INT64'): Tensor[] => [tensor('ids', datatype, ids, 0), tensor('mask', 'BOOL', mask, 1)];
  const key = (tensors: Tensor[], outputs?: string[], axes = axis0) => groupKey(tensors, axes, outputs);
  const base = key(req([1, 32], [1, 32]));
  const same: Array<[string, string]> = [
    ['more rows', key(req([4, 32], [4, 32]))],
    ['zero rows', key(req([0, 32], [0, 32]))],
    ['different bytes', groupKey([tensor('ids', 'INT64', [1, 32], 99), tensor('mask', 'BOOL', [1, 32], 98)], axis0, undefined)],
  ];
  for (const [name, other] of same) t.equal(other, base, `same group: ${name}`);
  const different: Array<[string, string]> = [
    ['another sequence length', key(req([1, 64], [1, 64]))],
    ['another datatype', key(req([1, 32], [1, 32], 'INT32'))],
    ['another name order', key(req([1, 32], [1, 32]).reverse())],
    ['an input missing', key(req([1, 32], [1, 32]).slice(0, 1))],
    ['outputs selected', key(req([1, 32], [1, 32]), ['logits'])],
  ];
  for (const [name, other] of different) t.not(other, base, `another group: ${name}`);
  t.not(key(req([1, 32], [1, 32]), ['a', 'b']), key(req([1, 32], [1, 32]), ['b', 'a']), 'output order matters');
  t.equal(key(req([1, 32], [1, 32]), ['a']), key(req([3, 32], [3, 32]), ['a']), 'same outputs, other rows');
  // Along axis 1 the first dim is part of the key and the second is not.
  t.equal(key([tensor('tokens', 'FP32', [8, 5, 16], 0)], undefined, axis1), key([tensor('tokens', 'FP32', [8, 9, 16], 0)], undefined, axis1));
  t.not(key([tensor('tokens', 'FP32', [8, 5, 16], 0)], undefined, axis1), key([tensor('tokens', 'FP32', [4, 5, 16], 0)], undefined, axis1));
});

t.test('malformed batches throw instead of mixing bytes', async (t) => {
  const axes = new Map([['x', 0]]);
  const x = (shape: number[], datatype: KServeDatatype = 'FP32', name = 'x'): Tensor => tensor(name, datatype, shape, 0);
  const truncated = (t: Tensor): Tensor => ({ ...t, data: t.data.subarray(0, t.data.byteLength - 1) });
  const padded = (t: Tensor): Tensor => ({ ...t, data: new Uint8Array([...t.data, 0]) });
  const throwsOnConcat: Array<[string, Tensor[][], ReadonlyMap<string, number>, RegExp]> = [
    ['no requests', [], axes, /empty batch/],
    ['other non-batch dims', [[x([1, 4])], [x([1, 5])]], axes, /\[1,5\] cannot be batched with FP32 \[1,4\]/],
    ['other datatypes', [[x([1, 4])], [x([1, 4], 'FP64')]], axes, /FP64 \[1,4\] cannot be batched/],
    ['other rank', [[x([1, 4])], [x([1, 4, 1])]], axes, /cannot be batched/],
    ['other names', [[x([1, 4])], [x([1, 4], 'FP32', 'y')]], axes, /request 1 has tensor "y" where request 0 has "x"/],
    ['fewer tensors', [[x([1, 4]), x([1, 4], 'FP32', 'z')], [x([1, 4])]], new Map([['x', 0], ['z', 0]]), /request 1 has tensor undefined/],
    ['no batch axis', [[x([1, 4])], [x([1, 4])]], new Map(), /"x" with shape \[1,4\] has no batch axis/],
    ['unknown datatype', [[x([1, 4])], [x([1, 4])]].map((r) => r.map((t) => ({ ...t, datatype: 'BF16' as KServeDatatype }))), axes, /unknown datatype "BF16"/],
    ['bytes shorter than the shape', [[x([1, 4])], [truncated(x([1, 4]))]], axes, /has 15 bytes, not 16/],
    ['BYTES cut inside an element (axis 1)', [[x([2, 1], 'BYTES')], [truncated(x([2, 1], 'BYTES'))]], new Map([['x', 1]]), /ends inside element 1/],
    ['BYTES with trailing bytes (axis 1)', [[x([2, 1], 'BYTES')], [padded(x([2, 1], 'BYTES'))]], new Map([['x', 1]]), /1 bytes after its last element/],
    ['BYTES cut inside a length prefix (axis 1)', [[x([2, 1], 'BYTES')], [{ ...x([2, 1], 'BYTES'), data: new Uint8Array([0, 0, 0, 0, 1]) }]], new Map([['x', 1]]), /inside the length prefix of element 1/],
  ];
  for (const [name, requests, a, message] of throwsOnConcat) t.throws(() => concatAlongAxes(requests, a), message, name);

  const merged = x([3, 2]);
  const throwsOnSplit: Array<[string, number[], RegExp]> = [
    ['fewer rows than sent', [1, 1, 2], /"x" has 3 rows along axis 0 for a batch of 4 rows/],
    ['more rows than sent', [1, 1], /3 rows along axis 0 for a batch of 2 rows/],
    ['negative rows', [4, -1], /invalid rows per request/],
  ];
  for (const [name, rows, message] of throwsOnSplit) t.throws(() => splitAlongAxes([merged], rows, axes), message, name);
  t.throws(() => splitAlongAxes([truncated(merged)], [1, 2], axes), /has 23 bytes, not 24/, 'bytes shorter than the shape');
  t.throws(() => splitAlongAxes([x([3])], [1, 2], new Map()), /no batch axis/, 'an output without a batch axis');
});

t.test('concatenation copies each byte once; a leading-axis split copies nothing', async (t) => {
  // Count every byte copied through Uint8Array set/slice while concat and split run.
  let copied = 0;
  const proto = Uint8Array.prototype;
  const { set, slice } = proto;
  proto.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return set.call(this, source, offset);
  };
  proto.slice = function (this: Uint8Array, start?: number, end?: number) {
    const result = slice.call(this, start, end);
    copied += result.byteLength;
    return result;
  };
  t.teardown(() => Object.assign(proto, { set, slice }));
  const rowsPerRequest = [2, 1, 3, 0, 2];
  for (const datatype of ['FP32', 'INT8', 'BYTES'] as const) {
    for (const axis of [0, 1]) {
      const requests = rowsPerRequest.map((rows, i) => [tensor('x', datatype, withAxis([2, 3], axis, rows), 7 * i + axis)]);
      const inputBytes = requests.reduce((n, [x]) => n + x!.data.byteLength, 0);
      const axes = new Map([['x', axis]]);
      copied = 0;
      const [merged] = concatAlongAxes(requests, axes);
      t.equal(copied, inputBytes, `${datatype} axis ${axis}: concatenation copies every input byte exactly once`);
      copied = 0;
      splitAlongAxes([merged!], rowsPerRequest, axes);
      t.equal(copied, axis === 0 ? 0 : inputBytes, `${datatype} axis ${axis}: split ${axis === 0 ? 'gives views' : 'copies each byte once'}`);
    }
  }
});
