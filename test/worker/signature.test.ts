import type { InferenceSession } from 'onnxruntime-node';
import t from 'tap';
import { signatureFromMetadata } from '../../worker/signature.ts';

type Meta = InferenceSession.ValueMetadata;

const tensor = (name: string, type: string, shape: Array<number | string>): Meta =>
  ({ name, isTensor: true, type, shape }) as Meta;

t.test('metadata → signature: KServe datatypes, dynamic dims -1, scalars []', async (t) => {
  const inputs = [
    tensor('input', 'float32', ['batch', 64]),
    tensor('ids', 'int64', ['', 4]),
    tensor('mask', 'bool', [1, 'seq']),
    tensor('temperature', 'float32', []),
    tensor('text', 'string', ['n']),
    tensor('half', 'float16', [2, 2]),
  ];
  const outputs = [tensor('probabilities', 'float32', ['batch', 10]), tensor('count', 'uint64', [])];
  t.same(signatureFromMetadata('m', '3', inputs, outputs, 'f1'), {
    name: 'm',
    version: '3',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [-1, 64] },
      { name: 'ids', datatype: 'INT64', shape: [-1, 4] },
      { name: 'mask', datatype: 'BOOL', shape: [1, -1] },
      { name: 'temperature', datatype: 'FP32', shape: [] },
      { name: 'text', datatype: 'BYTES', shape: [-1] },
      { name: 'half', datatype: 'FP16', shape: [2, 2] },
    ],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
      { name: 'count', datatype: 'UINT64', shape: [] },
    ],
    fingerprint: 'f1',
  });
});

t.test('every ort type KServe names maps to its KServe datatype', async (t) => {
  const table: Array<[string, string]> = [
    ['bool', 'BOOL'], ['uint8', 'UINT8'], ['uint16', 'UINT16'], ['uint32', 'UINT32'], ['uint64', 'UINT64'],
    ['int8', 'INT8'], ['int16', 'INT16'], ['int32', 'INT32'], ['int64', 'INT64'],
    ['float16', 'FP16'], ['float32', 'FP32'], ['float64', 'FP64'], ['string', 'BYTES'],
  ];
  for (const [ort, kserve] of table) {
    t.equal(signatureFromMetadata('m', '1', [tensor('x', ort, [1])], [], 'f').inputs[0]?.datatype, kserve, ort);
  }
});

t.test('what KServe cannot serve is a load error naming the model and value', async (t) => {
  const cases: Array<[string, Meta[], Meta[], RegExp]> = [
    ['non-tensor input', [{ name: 'seq', isTensor: false } as Meta], [], /model m version 1 input "seq" is not a tensor/],
    ['non-tensor output', [], [{ name: 'map', isTensor: false } as Meta], /output "map" is not a tensor/],
    ['int4 input', [tensor('packed', 'int4', [8])], [], /input "packed" has onnxruntime type int4, which has no KServe datatype/],
    ['bfloat16 output', [], [tensor('y', 'bfloat16', [1])], /output "y" has onnxruntime type bfloat16/],
  ];
  for (const [name, inputs, outputs, message] of cases) {
    t.throws(() => signatureFromMetadata('m', '1', inputs, outputs, 'f'), message, name);
  }
});
