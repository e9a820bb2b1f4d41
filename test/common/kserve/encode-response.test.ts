import t from 'tap';
import type { Tensor } from '../../../common/wire.ts';
import { decodeInferRequest } from '../../../common/kserve/decode-request.ts';
import { encodeInferResponse } from '../../../common/kserve/encode-response.ts';
import { jsonToTensorData } from '../../../common/kserve/json-tensor.ts';
import { everyType } from './signatures.ts';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Uint8Array(Float32Array.from(values).buffer),
});

t.test('the response envelope, field by field', async (t) => {
  const rows: Array<{ name: string; response: Parameters<typeof encodeInferResponse>[0]; text: string }> = [
    {
      name: 'no id, no parameters',
      response: { modelName: 'classifier', modelVersion: '2', outputs: [fp32('probabilities', [1, 2], [0.25, 0.75])] },
      text: '{"model_name":"classifier","model_version":"2","outputs":[{"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]}]}',
    },
    {
      name: 'id and parameters echoed',
      response: { modelName: 'm', modelVersion: '1', id: 'req-"1"', parameters: { sequence_id: 3 }, outputs: [fp32('y', [], [1])] },
      text: '{"model_name":"m","model_version":"1","id":"req-\\"1\\"","parameters":{"sequence_id":3},"outputs":[{"name":"y","datatype":"FP32","shape":[],"data":[1]}]}',
    },
    {
      name: 'several outputs, in order, NaN as a string',
      response: { modelName: 'ranker', modelVersion: '1', outputs: [fp32('score', [2, 1], [0.5, Number.NaN]), fp32('embedding', [0, 16], [])] },
      text:
        '{"model_name":"ranker","model_version":"1","outputs":[' +
        '{"name":"score","datatype":"FP32","shape":[2,1],"data":[0.5,"NaN"]},' +
        '{"name":"embedding","datatype":"FP32","shape":[0,16],"data":[]}]}',
    },
    {
      name: 'no outputs',
      response: { modelName: 'm', modelVersion: '1', outputs: [] },
      text: '{"model_name":"m","model_version":"1","outputs":[]}',
    },
  ];
  for (const row of rows) {
    const encoded = encodeInferResponse(row.response);
    t.ok(Buffer.isBuffer(encoded), `${row.name}: a Buffer`);
    t.equal(encoded.toString('utf8'), row.text, row.name);
    t.doesNotThrow(() => JSON.parse(encoded.toString('utf8')), `${row.name}: valid JSON`);
  }
});

t.test('every datatype survives request → bytes → response', async (t) => {
  const data: Record<string, unknown[]> = {
    BOOL: [true, false],
    UINT8: [0, 255],
    UINT16: [1, 65535],
    UINT32: [1, 4294967295],
    UINT64: ['18446744073709551615', 0],
    INT8: [-128, 127],
    INT16: [-32768, 32767],
    INT32: [-2147483648, 2147483647],
    INT64: ['-9223372036854775808', '9007199254740993'],
    FP16: [0.5, -65504],
    FP32: [0.25, -1.5],
    FP64: [0.1, Math.PI],
    BYTES: ['ünïcödé', '{"json":"inside"}'],
  };
  const outputs: Tensor[] = Object.entries(data).map(([datatype, values]) => ({
    name: datatype.toLowerCase(),
    datatype: datatype as Tensor['datatype'],
    shape: [2],
    data: jsonToTensorData(datatype, datatype as Tensor['datatype'], [2], values),
  }));
  const text = encodeInferResponse({ modelName: 'every-type', modelVersion: '3', outputs }).toString('utf8');
  t.match(text, '"data":[18446744073709551615,0]', 'UINT64 exact digits');
  t.match(text, '"data":[-9223372036854775808,9007199254740993]', 'INT64 exact digits');
  const parsed = JSON.parse(text) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> };
  for (const output of parsed.outputs) {
    if (output.datatype.endsWith('INT64')) continue; // exactness checked on the text above
    t.same(output.data, data[output.datatype], `${output.datatype} values`);
    t.same(output.shape, [2], `${output.datatype} shape`);
  }
});

t.test('a response output can be fed back as a request input', async (t) => {
  const strings = ['a', 'bé', ''];
  const response = encodeInferResponse({
    modelName: 'every-type',
    modelVersion: '3',
    outputs: [{ name: 's', datatype: 'BYTES', shape: [3], data: jsonToTensorData('s', 'BYTES', [3], strings) }],
  });
  const { outputs } = JSON.parse(response.toString('utf8')) as { outputs: Array<Record<string, unknown>> };
  const inputs = everyType.inputs.map((spec) =>
    spec.name === 's'
      ? outputs[0]
      : { name: spec.name, datatype: spec.datatype, shape: spec.shape.map((d) => (d < 0 ? 1 : d)), data: Array(spec.shape.reduce((n, d) => n * (d < 0 ? 1 : d), 1)).fill(spec.datatype === 'BOOL' ? true : spec.datatype === 'BYTES' ? 'x' : 1) },
  );
  const decoded = decodeInferRequest(Buffer.from(JSON.stringify({ inputs })), everyType);
  t.same(decoded.tensors.find((x) => x.name === 's')!.data, jsonToTensorData('s', 'BYTES', [3], strings));
});
