import onnxProto from 'onnx-proto';
import t from 'tap';
import { decodeModel } from '../../../common/onnx/decode-model.ts';
import { classifierModel } from '../../helpers/test-models.ts';

const { onnx } = onnxProto;

t.test('a whole model decodes', async (t) => {
  const decoded = decodeModel(classifierModel(101));
  if (!('model' in decoded)) throw new Error(decoded.reason);
  t.equal(decoded.model.graph?.name, 'classifier');
});

t.test('what is not a model fails with a one-line reason', async (t) => {
  const whole = classifierModel(101);
  const bare = (fields: onnxProto.onnx.IModelProto) => onnx.ModelProto.encode(onnx.ModelProto.create(fields)).finish();
  const rows: Array<[string, Uint8Array, RegExp]> = [
    ['an empty file', new Uint8Array(0), /^not an ONNX model: the file is empty$/],
    ['half a model', whole.subarray(0, whole.byteLength >> 1), /^not an ONNX model: the file ends early \(truncated at \d+ bytes\?\): protobuf index out of range/],
    ['its first 3 bytes', whole.subarray(0, 3), /^not an ONNX model: the file ends early/],
    ['text', new TextEncoder().encode('not an onnx model'), /^not an ONNX model: protobuf decoding failed: invalid wire type/],
    ['no IR version', bare({ graph: { name: 'g' }, opsetImport: [{ domain: '', version: 17 }] }), /^not an ONNX model: it has no IR version$/],
    ['no graph', bare({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }), /^not an ONNX model: it has no graph$/],
    ['no opset import', bare({ irVersion: 8, graph: { name: 'g' } }), /^not an ONNX model: it imports no opset/],
  ];
  for (const [label, bytes, reason] of rows) {
    const decoded = decodeModel(bytes);
    t.match('reason' in decoded ? decoded.reason : 'decoded', reason, label);
    if ('reason' in decoded) t.notMatch(decoded.reason, /\n/, `${label}: one line`);
  }
});
