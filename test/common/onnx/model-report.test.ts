import onnxProto from 'onnx-proto';
import t from 'tap';
import { decodeModel } from '../../../common/onnx/decode-model.ts';
import { modelReport } from '../../../common/onnx/model-report.ts';
import { encodeModel, floatInitializer, int64Initializer, node, valueInfo } from '../../../scripts/demo-models/onnx-builder.ts';
import { classifierModel } from '../../helpers/test-models.ts';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

function reportOf(bytes: Uint8Array) {
  const decoded = decodeModel(bytes);
  if (!('model' in decoded)) throw new Error(decoded.reason);
  return modelReport(decoded.model);
}

t.test('the demo classifier: opset, signature with its named batch axis, operators, weights', async (t) => {
  const report = reportOf(classifierModel(101));
  t.same(report.irVersion, 8);
  t.same(report.producer, 'infergate-demo-models 1');
  t.same(report.opsets, [{ domain: 'ai.onnx', version: 17 }]);
  t.same(report.inputs, [{ name: 'input', kind: 'tensor', datatype: 'FP32', onnxType: 'FLOAT', shape: ['batch', 64] }]);
  t.same(report.outputs, [{ name: 'probabilities', kind: 'tensor', datatype: 'FP32', onnxType: 'FLOAT', shape: ['batch', 10] }]);
  t.same(report.operators, [
    { domain: 'ai.onnx', opType: 'Gemm', count: 3 },
    { domain: 'ai.onnx', opType: 'Relu', count: 2 },
    { domain: 'ai.onnx', opType: 'Softmax', count: 1 },
  ]);
  // 64×128 + 128 + 128×64 + 64 + 64×10 + 10 floats.
  t.equal(report.initializers.count, 6);
  t.equal(report.initializers.totalBytes, 4 * (64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10));
  t.same(
    report.initializers.largest.map((i) => [i.name, i.bytes]),
    [
      ['W0', 32768],
      ['W1', 32768],
      ['W2', 2560],
      ['B0', 512],
      ['B1', 256],
    ],
    'the largest five, largest first',
  );
});

t.test('dynamic axes named or marked, types KServe cannot carry, weights listed as inputs, subgraphs', async (t) => {
  const tensorOf = (elemType: number, dim: onnxProto.onnx.TensorShapeProto.IDimension[]) => ({ tensorType: { elemType, shape: { dim } } });
  const branch = (name: string, opType: string): onnxProto.onnx.IGraphProto => ({
    name,
    node: [node(opType, ['x'], [`${name}_out`])],
    output: [valueInfo(`${name}_out`, 'float32', ['batch', 4])],
  });
  const model = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      opsetImport: [
        { domain: '', version: 13 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'mixed',
        node: [
          { ...node('If', ['flag'], ['y']), attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('then', 'Relu') }, { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('else', 'Sigmoid') }] },
          { ...node('FusedGemm', ['x', 'w'], ['z']), domain: 'com.microsoft' },
          node('Relu', ['z'], ['r']),
        ],
        initializer: [floatInitializer('w', [4, 4], new Float32Array(16)), int64Initializer('ids', [3], [1, 2, 3]), { name: 'words', dataType: DataType.STRING, dims: [2], stringData: [new Uint8Array(3), new Uint8Array(5)] }],
        input: [
          { name: 'x', type: tensorOf(DataType.FLOAT, [{ dimParam: 'batch' }, { dimValue: 4 }]) },
          { name: 'flag', type: tensorOf(DataType.BOOL, []) },
          { name: 'half', type: tensorOf(DataType.BFLOAT16, [{}, { dimValue: 2 }]) },
          { name: 'w', type: tensorOf(DataType.FLOAT, [{ dimValue: 4 }, { dimValue: 4 }]) },
        ],
        output: [
          valueInfo('y', 'float32', ['batch', 4]),
          { name: 'r', type: { tensorType: { elemType: DataType.FLOAT } } },
          { name: 'seq', type: { sequenceType: { elemType: tensorOf(DataType.FLOAT, []) } } },
        ],
      },
    }),
  ).finish();
  const report = reportOf(model);
  t.same(report.opsets, [
    { domain: 'ai.onnx', version: 13 },
    { domain: 'com.microsoft', version: 1 },
  ]);
  t.same(
    report.inputs.map((v) => [v.name, v.datatype, v.onnxType, v.shape]),
    [
      ['x', 'FP32', 'FLOAT', ['batch', 4]],
      ['flag', 'BOOL', 'BOOL', []],
      ['half', null, 'BFLOAT16', [null, 2]],
    ],
    'an unnamed dynamic axis is null; the weight w listed as an input is not one',
  );
  t.same(
    report.outputs.map((v) => [v.name, v.kind, v.shape]),
    [
      ['y', 'tensor', ['batch', 4]],
      ['r', 'tensor', null],
      ['seq', 'sequence', null],
    ],
  );
  t.same(report.operators, [
    { domain: 'ai.onnx', opType: 'Relu', count: 2 },
    { domain: 'ai.onnx', opType: 'If', count: 1 },
    { domain: 'ai.onnx', opType: 'Sigmoid', count: 1 },
    { domain: 'com.microsoft', opType: 'FusedGemm', count: 1 },
  ]);
  t.same(report.initializers.count, 3);
  t.same(report.initializers.totalBytes, 64 + 24 + 8, 'floats and int64s by their dims, strings by their bytes');
});

t.test('an external-data initializer is sized by its dims and marked', async (t) => {
  const bytes = encodeModel({ name: 'ext', nodes: [node('Relu', ['x'], ['y'])], initializers: [], inputs: [valueInfo('x', 'float32', [2])], outputs: [valueInfo('y', 'float32', [2])] });
  const decoded = decodeModel(bytes);
  if (!('model' in decoded)) throw new Error(decoded.reason);
  decoded.model.graph!.initializer = [onnx.TensorProto.create({ name: 'big', dataType: DataType.FLOAT16, dims: [1024, 1024], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL })];
  t.same(modelReport(decoded.model).initializers.largest, [{ name: 'big', onnxType: 'FLOAT16', shape: [1024, 1024], bytes: 2 * 1024 * 1024, external: true }]);
});
