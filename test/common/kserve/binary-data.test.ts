// The KServe binary tensor data extension: a tensor sent as binary decodes to
// the same bytes as flat or nested JSON; binary and JSON inputs mix, in JSON
// order; every inconsistency is a catalogued 400; binary outputs follow the
// JSON header of the answer.

import t from 'tap';
import { decodeInferRequest } from '../../../common/kserve/decode-request.ts';
import { encodeBinaryInferResponse } from '../../../common/kserve/encode-response.ts';
import { classifier, everyType, ranker } from './signatures.ts';

/** JSON header + binary tail, and the header's length as the HTTP header's text. */
function binaryBody(json: object, ...tensors: Uint8Array[]): { body: Buffer; headerLength: string } {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, ...tensors]), headerLength: String(head.byteLength) };
}
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const decodeBinary = (json: object, tensors: Uint8Array[], signature = classifier) => {
  const { body, headerLength } = binaryBody(json, ...tensors);
  return decodeInferRequest(body, signature, { binaryHeaderLength: headerLength });
};

const values = Array.from({ length: 128 }, (_, i) => (i % 7) - 3.5);
const floats = Float32Array.from(values);

t.test('flat JSON, nested JSON and binary of one tensor decode to the same bytes; 1 and 1.0 too', async (t) => {
  const flat = decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: values }] })), classifier);
  const nested = decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: [values.slice(0, 64), values.slice(64)] }] })), classifier);
  const binary = decodeBinary({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], parameters: { binary_data_size: 512 } }] }, [bytesOf(floats)]);
  t.same(Buffer.from(binary.tensors[0]!.data), Buffer.from(flat.tensors[0]!.data));
  t.same(Buffer.from(nested.tensors[0]!.data), Buffer.from(flat.tensors[0]!.data));
  const ints = decodeInferRequest(Buffer.from('{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,2]}]}'), { ...classifier, inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }] });
  const reals = decodeInferRequest(Buffer.from('{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1.0,2.0]}]}'), { ...classifier, inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }] });
  t.same(Buffer.from(ints.tensors[0]!.data), Buffer.from(reals.tensors[0]!.data));
});

t.test('binary and JSON inputs mix; binary data is read in JSON order, tensors come out in signature order', async (t) => {
  const ids = BigInt64Array.from([1n, 2n, 3n, 4n]);
  const decoded = decodeBinary(
    {
      inputs: [
        { name: 'item_ids', datatype: 'INT64', shape: [1, 4], parameters: { binary_data_size: 32 } },
        { name: 'features', datatype: 'FP32', shape: [1, 16], data: values.slice(0, 16) },
      ],
    },
    [bytesOf(ids)],
    ranker,
  );
  t.same(decoded.tensors.map((x) => x.name), ['features', 'item_ids']);
  t.same(Buffer.from(decoded.tensors[1]!.data), Buffer.from(bytesOf(ids)));
  t.same(Buffer.from(decoded.tensors[0]!.data), Buffer.from(bytesOf(Float32Array.from(values.slice(0, 16)))));
});

t.test('BYTES and BOOL inputs in binary', async (t) => {
  const strings = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
  const signature = { ...everyType, inputs: [everyType.inputs[0]!, everyType.inputs[12]!] };
  const decoded = decodeBinary(
    {
      inputs: [
        { name: 'b', datatype: 'BOOL', shape: [3], parameters: { binary_data_size: 3 } },
        { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: strings.byteLength } },
      ],
    },
    [Uint8Array.of(1, 0, 1), strings],
    signature,
  );
  t.same([...decoded.tensors[0]!.data], [1, 0, 1]);
  t.same(Buffer.from(decoded.tensors[1]!.data), strings);
});

t.test('each inconsistency is a catalogued 400', async (t) => {
  const input = (parameters: object, extra: object = {}) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], parameters, ...extra }] });
  const f256 = new Uint8Array(256);
  const boolSignature = { ...everyType, inputs: [everyType.inputs[0]!] };
  const bytesSignature = { ...everyType, inputs: [everyType.inputs[12]!] };
  const rows: Array<{ name: string; run: () => unknown; code: string }> = [
    { name: 'header length not a number', run: () => decodeInferRequest(Buffer.from('{}'), classifier, { binaryHeaderLength: 'ten' }), code: 'GW_ERR_BINARY_HEADER_LENGTH' },
    { name: 'header length past the body', run: () => decodeInferRequest(Buffer.from('{}'), classifier, { binaryHeaderLength: '3' }), code: 'GW_ERR_BINARY_HEADER_LENGTH' },
    { name: 'header length negative', run: () => decodeInferRequest(Buffer.from('{}'), classifier, { binaryHeaderLength: '-1' }), code: 'GW_ERR_BINARY_HEADER_LENGTH' },
    { name: 'header cuts the JSON', run: () => decodeInferRequest(Buffer.from('{"inputs":[]}'), classifier, { binaryHeaderLength: '5' }), code: 'GW_ERR_MALFORMED_JSON' },
    { name: 'size past the body', run: () => decodeBinary(input({ binary_data_size: 256 }), [new Uint8Array(10)]), code: 'GW_ERR_BINARY_DATA' },
    { name: 'bytes left over', run: () => decodeBinary(input({ binary_data_size: 256 }), [new Uint8Array(260)]), code: 'GW_ERR_BINARY_DATA' },
    { name: 'size does not fit the shape', run: () => decodeBinary(input({ binary_data_size: 252 }), [new Uint8Array(252)]), code: 'GW_ERR_BINARY_DATA' },
    { name: 'size negative', run: () => decodeBinary(input({ binary_data_size: -4 }), [f256]), code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'size not a number', run: () => decodeBinary(input({ binary_data_size: '256' }), [f256]), code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'both data and size', run: () => decodeBinary(input({ binary_data_size: 256 }, { data: [1] }), [f256]), code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'size without a binary section', run: () => decodeInferRequest(Buffer.from(JSON.stringify(input({ binary_data_size: 256 }))), classifier), code: 'GW_ERR_BINARY_DATA' },
    { name: 'BOOL byte 2', run: () => decodeBinary({ inputs: [{ name: 'b', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } }] }, [Uint8Array.of(1, 2)], boolSignature), code: 'GW_ERR_BINARY_DATA' },
    { name: 'BYTES length past its data', run: () => decodeBinary({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } }] }, [Uint8Array.of(9, 0, 0, 0, 1, 2)], bytesSignature), code: 'GW_ERR_BINARY_DATA' },
    { name: 'BYTES length truncated', run: () => decodeBinary({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 2 } }] }, [Uint8Array.of(9, 0)], bytesSignature), code: 'GW_ERR_BINARY_DATA' },
    { name: 'BYTES count differs from shape', run: () => decodeBinary({ inputs: [{ name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 4 } }] }, [Uint8Array.of(0, 0, 0, 0)], bytesSignature), code: 'GW_ERR_BINARY_DATA' },
    { name: 'binary_data not a boolean', run: () => decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: values.slice(0, 64) }], outputs: [{ name: 'probabilities', parameters: { binary_data: 'yes' } }] })), classifier), code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'binary_data_output not a boolean', run: () => decodeInferRequest(Buffer.from(JSON.stringify({ parameters: { binary_data_output: 1 }, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: values.slice(0, 64) }] })), classifier), code: 'GW_ERR_INVALID_REQUEST' },
  ];
  for (const row of rows) t.throws(row.run, { code: row.code }, row.name);
});

t.test('binary outputs: per output, or all with binary_data_output (a per-output false wins)', async (t) => {
  const decode = (request: object) => decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: values.slice(0, 16) }, { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }], ...request })), ranker);
  t.equal(decode({}).binaryOutputs, undefined);
  t.same(decode({ parameters: { binary_data_output: true } }).binaryOutputs, ['embedding', 'score']);
  t.same(decode({ outputs: [{ name: 'score', parameters: { binary_data: true } }, { name: 'embedding' }] }).binaryOutputs, ['score']);
  t.same(decode({ parameters: { binary_data_output: true }, outputs: [{ name: 'score' }, { name: 'embedding', parameters: { binary_data: false } }] }).binaryOutputs, ['score']);
});

t.test('a binary answer is its JSON header, then each binary output in order', async (t) => {
  const score = { name: 'score', datatype: 'FP32' as const, shape: [1, 1], data: bytesOf(Float32Array.of(0.5)) };
  const embedding = { name: 'embedding', datatype: 'FP32' as const, shape: [1, 2], data: bytesOf(Float32Array.of(1, 2)) };
  const { body, headerLength } = encodeBinaryInferResponse({ modelName: 'ranker', modelVersion: '1', id: 'x', outputs: [embedding, score] }, new Set(['score']));
  const json = JSON.parse(body.subarray(0, headerLength).toString());
  t.same(json.outputs[0], { name: 'embedding', datatype: 'FP32', shape: [1, 2], data: [1, 2] }, 'JSON outputs stay JSON');
  t.same(json.outputs[1], { name: 'score', datatype: 'FP32', shape: [1, 1], parameters: { binary_data_size: 4 } });
  t.equal(json.id, 'x');
  t.equal(body.byteLength, headerLength + 4);
  t.equal(body.readFloatLE(headerLength), 0.5);
});
