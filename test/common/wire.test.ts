import t from 'tap';
import { decodeFrame, encodeFrame, type InferRequestHeader } from '../../common/wire.ts';
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
