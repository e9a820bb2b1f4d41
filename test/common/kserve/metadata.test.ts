import t from 'tap';
import {
  modelMetadata,
  modelReadyBody,
  ONNX_PLATFORM,
  serverLiveBody,
  serverMetadata,
  serverReadyBody,
} from '../../../common/kserve/metadata.ts';
import { classifier, everyType, ranker } from './signatures.ts';

t.test('server metadata names infergate, its version and the extensions served', async (t) => {
  t.same(serverMetadata('0.1.0'), { name: 'infergate', version: '0.1.0', extensions: [] });
  t.same(serverMetadata('0.2.0', ['binary_tensor_data']), { name: 'infergate', version: '0.2.0', extensions: ['binary_tensor_data'] });
});

t.test('model metadata is the signature, dynamic dims as -1', async (t) => {
  const rows = [
    {
      signature: classifier,
      versions: ['1', '2'],
      body: {
        name: 'classifier',
        versions: ['1', '2'],
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
        outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
      },
    },
    {
      signature: ranker,
      versions: ['1'],
      body: {
        name: 'ranker',
        versions: ['1'],
        platform: 'onnx_onnxv1',
        inputs: [
          { name: 'features', datatype: 'FP32', shape: [-1, 16] },
          { name: 'item_ids', datatype: 'INT64', shape: [-1, 4] },
        ],
        outputs: [
          { name: 'embedding', datatype: 'FP32', shape: [-1, 16] },
          { name: 'score', datatype: 'FP32', shape: [-1, 1] },
        ],
      },
    },
  ];
  for (const row of rows) t.same(modelMetadata(row.signature, row.versions), row.body, row.signature.name);

  const every = modelMetadata(everyType, ['3']);
  t.equal(every.platform, ONNX_PLATFORM);
  t.same(every.inputs.find((i) => i.name === 'scalar'), { name: 'scalar', datatype: 'FP32', shape: [] }, 'scalar keeps shape []');
  t.same(every.outputs.map((o) => o.datatype), ['FP32', 'BYTES']);
});

t.test('metadata bodies are copies: editing one leaves the signature alone', async (t) => {
  const versions = ['1'];
  const body = modelMetadata(classifier, versions);
  body.inputs[0]!.shape[0] = 8;
  body.versions.push('9');
  t.same(classifier.inputs[0]!.shape, [-1, 64]);
  t.same(versions, ['1']);
});

t.test('health bodies', async (t) => {
  t.same(serverLiveBody(true), { live: true });
  t.same(serverReadyBody(false), { ready: false });
  t.same(modelReadyBody('classifier', '2', true), { name: 'classifier', version: '2', ready: true });
  t.same(modelReadyBody('classifier', undefined, false), { name: 'classifier', ready: false });
});
