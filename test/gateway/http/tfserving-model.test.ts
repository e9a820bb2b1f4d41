import t from 'tap';
import { modelMetadataBody, modelStatusBody, TF_DTYPES } from '../../../gateway/http/tfserving-model.ts';
import { KSERVE_DATATYPES } from '../../../common/datatypes.ts';
import { ranker } from '../../common/kserve/signatures.ts';

t.test('model status: TF Serving\'s states for the registry\'s, an unavailable version with its reason', async (t) => {
  const body = modelStatusBody([
    { version: '1', state: 'READY' },
    { version: '2', state: 'LOADING' },
    { version: '3', state: 'UNLOADING' },
    { version: '4', state: 'UNAVAILABLE', reason: 'model.onnx is missing' },
  ]);
  t.same(body, {
    model_version_status: [
      { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      { version: '2', state: 'LOADING', status: { error_code: 'OK', error_message: '' } },
      { version: '3', state: 'UNLOADING', status: { error_code: 'OK', error_message: '' } },
      { version: '4', state: 'END', status: { error_code: 'FAILED_PRECONDITION', error_message: 'model.onnx is missing' } },
    ],
  });
});

t.test('metadata: the signature as a serving_default signature_def, dims as strings, -1 for dynamic', async (t) => {
  const body = modelMetadataBody({ name: 'ranker', version: '1', signature: ranker }) as any;
  t.same(body.model_spec, { name: 'ranker', signature_name: '', version: '1' });
  const signature = body.metadata.signature_def.signature_def.serving_default;
  t.equal(signature.method_name, 'tensorflow/serving/predict');
  t.same(Object.keys(signature.inputs), ['features', 'item_ids']);
  t.same(signature.inputs.item_ids, { dtype: 'DT_INT64', tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '4', name: '' }], unknown_rank: false }, name: 'item_ids' });
  t.same(signature.outputs.score.dtype, 'DT_FLOAT');
});

t.test('every KServe datatype has its TensorFlow DataType name', async (t) => {
  for (const datatype of KSERVE_DATATYPES) t.match(TF_DTYPES[datatype], /^DT_[A-Z0-9]+$/, datatype);
  t.equal(TF_DTYPES.BYTES, 'DT_STRING');
  t.equal(TF_DTYPES.FP16, 'DT_HALF');
  t.equal(TF_DTYPES.FP64, 'DT_DOUBLE');
});
