import t from 'tap';
import { decodeFrame, encodeFrame, type InferRequestHeader, type Tensor } from '../../common/wire.ts';
import { InfergateError } from '../../common/errors.ts';

t.test('a frame round-trips header and tensor bytes', async (t) => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const frame = encodeFrame<InferRequestHeader>({ model: 'm', version: '1' }, [
    { name: 'x', datatype: 'FP32', shape: [2, 2], data },
    { name: 'empty', datatype: 'INT64', shape: [0, 2], data: new Uint8Array(0) },
  ]);
  const { header, tensors } = decodeFrame<InferRequestHeader>(frame);
  t.equal(header.model, 'm');
  t.same(header.tensors.map((x) => x.byteLength), [16, 0]);
  t.same(Array.from(new Float32Array(tensors[0]!.data.slice().buffer)), [1, 2, 3, 4]);
  t.same(tensors[1]!.shape, [0, 2]);
});

t.test('malformed frames are rejected with GW_ERR_BAD_FRAME', async (t) => {
  const good = encodeFrame<InferRequestHeader>({ model: 'm', version: '1' }, [
    { name: 'x', datatype: 'UINT8', shape: [3], data: new Uint8Array([1, 2, 3]) },
  ]);
  const cases: Array<[string, Uint8Array]> = [
    ['too short for a length', new Uint8Array([1, 2])],
    ['header length beyond the end', Uint8Array.from([255, 0, 0, 0, 123])],
    ['header not JSON', Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{x]')])],
    ['header without tensors', Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('{}')])],
    ['tensor overruns frame', good.subarray(0, good.byteLength - 1)],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])])],
  ];
  for (const [name, frame] of cases) {
    t.throws(() => decodeFrame(frame), { code: 'GW_ERR_BAD_FRAME' }, name);
  }
  t.ok(new InfergateError('GW_ERR_BAD_FRAME') instanceof Error);
});

t.test('the frame header is byte for byte the JSON of the header with its tensor headers', async (t) => {
  const cases: Array<{ header: Record<string, unknown>; tensors: Tensor[] }> = [
    { header: {}, tensors: [] },
    { header: { model: 'm', version: '1' }, tensors: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Uint8Array(24) }] },
    {
      header: { model: 'é"\\\u2028', version: '12', outputs: ['a', 'b'], timeoutMs: 30, maxOutputBytes: 1 << 20, requests: [{ id: 'r', traceparent: '00-x' }] },
      tensors: [
        { name: 'ünï"code', datatype: 'BYTES', shape: [-1], data: new Uint8Array(9) },
        { name: 'empty', datatype: 'INT64', shape: [], data: new Uint8Array(8) },
      ],
    },
  ];
  for (const { header, tensors } of cases) {
    const frame = encodeFrame(header as never, tensors);
    const headerLength = frame.readUInt32LE(0);
    const expected = JSON.stringify({ ...header, tensors: tensors.map((x) => ({ name: x.name, datatype: x.datatype, shape: x.shape, byteLength: x.data.byteLength })) });
    t.equal(frame.subarray(4, 4 + headerLength).toString('utf8'), expected);
    t.equal(headerLength, Buffer.byteLength(expected));
  }
});
