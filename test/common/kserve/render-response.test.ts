// Large answers rendered in time slices: the pieces joined are exactly what
// the one-call encoders give, no piece holds a whole large tensor, and a bad
// frame is refused before the first piece.

import t from 'tap';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import { encodeBinaryInferResponse, encodeInferResponse, renderBinaryInferResponse, renderInferResponse, type InferResponse } from '../../../common/kserve/encode-response.ts';
import { jsonElementsToBytes } from '../../../common/kserve/json-tensor.ts';
import { tensorDataJsonPieces, tensorDataToJson } from '../../../common/kserve/render-tensor.ts';
import { TimeSlicer } from '../../../common/time-slice.ts';
import type { Tensor } from '../../../common/wire.ts';

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const tensor = (name: string, datatype: KServeDatatype, shape: number[], data: Uint8Array): Tensor => ({ name, datatype, shape, data });

async function rendered(response: InferResponse, slicer = new TimeSlicer()): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for await (const piece of renderInferResponse(response, slicer)) pieces.push(piece);
  return pieces;
}

/** BYTES layout from raw element bytes. */
const bytesTensor = (elements: Uint8Array[]) => Buffer.concat(elements.flatMap((e) => [Buffer.from(Uint32Array.of(e.byteLength).buffer), Buffer.from(e)]));

t.test('non-finite floats render as "NaN", "Infinity", "-Infinity"; the rest as before', async (t) => {
  const values = [0.5, Number.NaN, Number.POSITIVE_INFINITY, -0, Number.NEGATIVE_INFINITY, 1e-7];
  for (const [datatype, array] of [['FP32', Float32Array.from(values)], ['FP64', Float64Array.from(values)], ['FP16', Float16Array.from(values)]] as const) {
    const text = tensorDataToJson(tensor('y', datatype, [6], bytesOf(array)));
    t.equal(text, `[${array[0]},"NaN","Infinity",0,"-Infinity",${array[5]}]`, datatype);
    t.same(JSON.parse(text).slice(1, 5), ['NaN', 'Infinity', 0, '-Infinity']);
  }
  t.equal(tensorDataToJson(tensor('y', 'INT32', [2], bytesOf(Int32Array.of(-1, 2)))), '[-1,2]', 'integers never change');
  // What an answer says, a request can send back.
  const back = jsonElementsToBytes('y', 'FP32', JSON.parse(tensorDataToJson(tensor('y', 'FP32', [6], bytesOf(Float32Array.from(values))))));
  t.same([...new Float32Array(back.buffer, back.byteOffset, 6)], [...Float32Array.from(values)].map((v) => (Object.is(v, -0) ? 0 : v)));
});

t.test('sliced rendering joins to exactly the one-call encoding, for every datatype', async (t) => {
  const n = 20_000; // several pieces per tensor
  const special = (i: number) => (i % 1000 === 1 ? Number.NaN : i % 1000 === 2 ? Number.POSITIVE_INFINITY : i % 1000 === 3 ? Number.NEGATIVE_INFINITY : Math.sin(i) * 1e3);
  const long = Buffer.concat([Buffer.from('é'.repeat(50_000)), Buffer.from([0xf0, 0x9f, 0x99, 0x82]), Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0xe2, 0x82]), Buffer.from('🙂"\\'.repeat(30_000))]);
  const outputs: Tensor[] = [
    tensor('f32', 'FP32', [n / 10, 10], bytesOf(Float32Array.from(range(n, special)))),
    tensor('f64', 'FP64', [n], bytesOf(Float64Array.from(range(n, special)))),
    tensor('f16', 'FP16', [n], bytesOf(Float16Array.from(range(n, (i) => special(i) / 100)))),
    tensor('i8', 'INT8', [n], bytesOf(Int8Array.from(range(n, (i) => (i % 256) - 128)))),
    tensor('u16', 'UINT16', [n], bytesOf(Uint16Array.from(range(n, (i) => i)))),
    tensor('u32', 'UINT32', [n], bytesOf(Uint32Array.from(range(n, (i) => i * 65537)))),
    tensor('i64', 'INT64', [n], bytesOf(BigInt64Array.from(range(n, (i) => i), (i) => BigInt(i) * 4611686018427387n - 2n ** 62n))),
    tensor('u64', 'UINT64', [n], bytesOf(BigUint64Array.from(range(n, (i) => i), (i) => BigInt(i) * 922337203685477n))),
    tensor('u8', 'UINT8', [n], Uint8Array.from(range(n, (i) => i % 256))),
    tensor('b', 'BOOL', [n], Uint8Array.from(range(n, (i) => i % 3))),
    tensor('s', 'BYTES', [n + 3], bytesTensor([long, ...range(n, (i) => i).map((i) => Buffer.from(`[${i}]"\\é\u0001`)), long, Buffer.alloc(0)])),
    tensor('empty', 'FP32', [0, 4], new Uint8Array(0)),
    tensor('empty-s', 'BYTES', [0], new Uint8Array(0)),
    tensor('one-long', 'BYTES', [1], bytesTensor([long])),
  ];
  const response: InferResponse = { modelName: 'm', modelVersion: '7', id: 'id-"1"', parameters: { é: [1] }, outputs };
  const whole = encodeInferResponse(response);
  const pieces = await rendered(response);
  t.ok(pieces.length > 10, `${pieces.length} pieces`);
  t.ok(Buffer.concat(pieces).equals(whole), 'pieces joined = encodeInferResponse');
  t.doesNotThrow(() => JSON.parse(whole.toString('utf8')), 'valid JSON');
  for (const output of outputs) {
    t.equal([...tensorDataJsonPieces(output)].join(''), tensorDataToJson(output), `${output.name}: tensor pieces joined = tensorDataToJson`);
  }

  const binary = new Set(['f32', 's', 'empty']);
  const { body, headerLength } = encodeBinaryInferResponse(response, binary);
  const sliced = await renderBinaryInferResponse(response, binary, new TimeSlicer());
  t.equal(sliced.headerLength, headerLength, 'binary: the same header length');
  t.ok(Buffer.concat([sliced.head, ...sliced.tensors]).equals(body), 'binary: head + tensors = encodeBinaryInferResponse');
  t.equal(sliced.tensors[0], outputs[0]!.data, 'binary tensors are handed out as they are, not copied');
});

t.test('a binary answer is its JSON header then each binary tensor, ASCII header or not', async (t) => {
  const f32 = tensor('f32', 'FP32', [2, 2], bytesOf(Float32Array.of(1.5, -2, 3.25, 0)));
  const u8 = tensor('u8', 'UINT8', [3], Uint8Array.of(0, 200, 255));
  const label = tensor('label', 'BYTES', [1], bytesTensor([Buffer.from('chèvre')]));
  for (const outputs of [[f32, u8], [f32, label, u8]]) {
    const response: InferResponse = { modelName: 'm', modelVersion: '1', outputs };
    const binary = new Set(['f32', 'u8']);
    const { body, headerLength } = encodeBinaryInferResponse(response, binary);
    const json = encodeInferResponse(response, binary);
    t.equal(headerLength, json.byteLength, `${outputs.length} outputs: the header's length in bytes`);
    t.ok(body.equals(Buffer.concat([json, f32.data, u8.data])), `${outputs.length} outputs: header, then the tensors in output order`);
  }
});

t.test('a long string cut into pieces at every offset near a piece boundary decodes as the whole would', async (t) => {
  const tails = [
    [0xf0, 0x9f, 0x99, 0x82], // 🙂
    [0xe2, 0x82, 0xac], // €
    [0xff, 0x80, 0x80, 0x80, 0x80, 0x41], // invalid: a lone 0xff, then continuation bytes
    [0xf0, 0x9f, 0x99, 0x41], // a truncated sequence
    [0xed, 0xa0, 0x80], // a surrogate, invalid in UTF-8
  ];
  for (const tail of tails) {
    for (let shift = 0; shift < 8; shift++) {
      const element = Buffer.concat([Buffer.alloc(64 * 1024 - 4 + shift, 0x61), Buffer.from(tail), Buffer.from(tail), Buffer.from('"z')]);
      const output = tensor('s', 'BYTES', [1], bytesTensor([element]));
      const pieces = [...tensorDataJsonPieces(output)];
      t.ok(pieces.length > 1, 'more than one piece');
      t.equal(pieces.join(''), tensorDataToJson(output), `${Buffer.from(tail).toString('hex')} at shift ${shift}`);
    }
  }
});

t.test('a large tensor renders in bounded pieces, yielding between them', async (t) => {
  const n = 4 * 1024 * 1024;
  const response: InferResponse = { modelName: 'm', modelVersion: '1', outputs: [tensor('y', 'FP32', [n], bytesOf(Float32Array.from(range(n, (i) => i / 7))))] };
  const slicer = new TimeSlicer({ sliceMs: 0 });
  const pieces = await rendered(response, slicer);
  const largest = Math.max(...pieces.map((p) => p.byteLength));
  const total = pieces.reduce((sum, p) => sum + p.byteLength, 0);
  t.ok(total > 30_000_000, `${(total / 1e6).toFixed(1)} MB of JSON`);
  t.ok(largest <= 512 * 1024, `the largest piece has ${largest} bytes`);
  t.ok(slicer.yields >= 100, `yielded ${slicer.yields} times`);
  const pieceTexts = [...tensorDataJsonPieces(response.outputs[0]!)];
  t.ok(Math.max(...pieceTexts.map((p) => p.length)) < 200_000, 'no text piece holds the tensor');
});

t.test('a bad frame is refused before the first piece', async (t) => {
  const good = tensor('a', 'FP32', [2], bytesOf(Float32Array.of(1, 2)));
  for (const bad of [
    tensor('b', 'FP32', [3], new Uint8Array(8)),
    tensor('b', 'BYTES', [2], bytesTensor([Buffer.from('x')])),
    tensor('b', 'BYTES', [1], Uint8Array.of(9, 0, 0, 0, 1)),
  ]) {
    const pieces: Buffer[] = [];
    await t.rejects(
      (async () => {
        for await (const piece of renderInferResponse({ modelName: 'm', modelVersion: '1', outputs: [good, bad] }, new TimeSlicer())) pieces.push(piece);
      })(),
      { code: 'GW_ERR_INTERNAL' },
      `${bad.datatype} ${bad.data.byteLength} bytes`,
    );
    t.equal(pieces.length, 0, 'nothing was handed out');
    t.throws(() => encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: [good, bad] }), { code: 'GW_ERR_INTERNAL' }, 'the one-call encoder refuses it too');
  }
});
